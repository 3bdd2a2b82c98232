"""The gateway through the official OpenAI client: sessions, recording, rewards, errors."""

from __future__ import annotations

import dataclasses
import json
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from hone.errors import (
    ModelConnectionError,
    SessionNotFoundError,
    SessionRewardedError,
    TrajectoryError,
)
from hone.models import OpenAICompatibleModel
from hone.models._protocol import ChatRequest, Completion
from hone.models._scripted import Reply, ScriptedModel
from hone.serve import GatewayStore, create_gateway_app, running_server
from hone.trajectory import TrajectoryStore

USER = [{"role": "user", "content": "Say the number 7."}]


class Gateway:
    """A gateway over a scripted model, on loopback, with its store and raw HTTP client."""

    def __init__(self, model: ScriptedModel, store: GatewayStore, root: str) -> None:
        self.model, self.store, self.root = model, store, root
        self.http = httpx.Client(base_url=root, headers={"Authorization": "Bearer key"})

    def client(self, session: str) -> openai.OpenAI:
        """An OpenAI client whose base URL is the session's."""
        return openai.OpenAI(base_url=f"{self.root}/sessions/{session}/v1", api_key="key")

    def ask(self, session: str, messages: Sequence[dict[str, Any]] = USER, **kw: Any) -> Any:
        return self.client(session).chat.completions.create(
            model="scripted", messages=list(messages), **kw
        )

    def reward(self, session: str, body: dict[str, Any]) -> httpx.Response:
        return self.http.post(f"/sessions/{session}/reward", json=body)


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Any]:
    with ExitStack() as stack:

        def start(replies: Sequence[Reply], **kwargs: Any) -> Gateway:
            model = ScriptedModel(replies, when_exhausted="cycle")
            store = stack.enter_context(GatewayStore(tmp_path / "gateway.db"))
            app = create_gateway_app(model, store, model_name="scripted", api_key="key", **kwargs)
            url = stack.enter_context(running_server(app))
            return Gateway(model, store, url.removesuffix("/v1"))

        yield start


def test_calls_are_recorded_with_token_ids_logprobs_and_policy_version(gateway: Any) -> None:
    gw = gateway(["7"], policy_version="v3")
    reply = gw.ask("s1")
    assert reply.choices[0].message.content == "7"
    # The client did not ask for logprobs or ids: it gets a plain reply ...
    assert reply.choices[0].logprobs is None
    assert "token_ids" not in (reply.choices[0].model_extra or {})
    # ... while the gateway asked the model for both, and recorded them.
    seen = gw.model.requests[-1].options
    assert seen.logprobs and seen.return_token_ids
    (call,) = gw.store.calls("s1")
    assert call.messages == USER and call.output["content"] == "7"
    assert call.token_ids and call.prompt_token_ids and call.has_tokens
    assert call.logprobs is not None and len(call.logprobs) == len(call.token_ids)
    assert call.policy_version == "v3" and call.index == 0


def test_a_session_is_one_trajectory_and_sessions_are_separate(gateway: Any) -> None:
    gw = gateway(["a", "b", "c"])
    gw.ask("s1")
    gw.ask("s2")
    second = [*USER, {"role": "assistant", "content": "a"}, {"role": "user", "content": "again"}]
    gw.ask("s1", second)
    assert [c.index for c in gw.store.calls("s1")] == [0, 1]
    assert [c.output["content"] for c in gw.store.calls("s1")] == ["a", "c"]
    assert [c.output["content"] for c in gw.store.calls("s2")] == ["b"]
    listed = gw.http.get("/sessions").json()["data"]
    assert [(s["id"], s["calls"], s["rewarded"]) for s in listed] == [
        ("s1", 2, False),
        ("s2", 1, False),
    ]
    detail = gw.http.get("/sessions/s1").json()
    assert detail["messages"][-1] == {"role": "assistant", "content": "c"}
    assert detail["output"] == "c"


def test_a_client_asking_for_ids_and_logprobs_gets_them(gateway: Any) -> None:
    gw = gateway(["42"])
    reply = gw.ask("s1", logprobs=True, extra_body={"return_token_ids": True})
    extra = reply.choices[0].model_extra or {}
    (call,) = gw.store.calls("s1")
    assert extra["token_ids"] == call.token_ids
    assert (reply.model_extra or {})["prompt_token_ids"] == call.prompt_token_ids
    assert reply.choices[0].logprobs is not None
    assert [t.logprob for t in reply.choices[0].logprobs.content or []] == call.logprobs


def test_streamed_calls_are_recorded_before_the_stream_ends(gateway: Any) -> None:
    gw = gateway(["Hello there"])
    stream = gw.ask("s1", stream=True)
    text = "".join(chunk.choices[0].delta.content or "" for chunk in stream if chunk.choices)
    assert text == "Hello there"
    (call,) = gw.store.calls("s1")
    assert call.output["content"] == "Hello there" and call.has_tokens


def test_reward_scores_the_session_once_and_makes_an_episode(gateway: Any) -> None:
    gw = gateway(["7"], policy_version=2)
    gw.ask("s1")
    body = {"reward": 1.0, "components": {"exact": 1.0}, "task_id": "n7", "task": {"n": 7}}
    answer = gw.reward("s1", body)
    assert answer.status_code == 200, answer.text
    assert answer.json()["episode_id"] == "gw_s1" and answer.json()["calls"] == 1

    episode = gw.store.episode("s1")
    assert episode.reward == 1.0 and episode.task_id == "n7" and episode.task == {"n": 7}
    assert episode.reward_components == {"exact": 1.0}
    assert episode.final_answer == "7" and episode.metadata["policy_versions"] == [2]
    assert episode.calls[0].has_tokens

    again = gw.reward("s1", {"reward": 0.0})
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "session_already_rewarded"
    assert gw.store.episode("s1").reward == 1.0  # the first reward stands

    # A rewarded session is closed: a new call is refused before the model runs.
    calls_before = len(gw.model.requests)
    with pytest.raises(openai.ConflictError, match="already rewarded"):
        gw.client("s1").with_options(max_retries=0).chat.completions.create(
            model="scripted", messages=USER
        )
    assert len(gw.model.requests) == calls_before
    assert len(gw.store.calls("s1")) == 1


def test_reward_for_an_unknown_session_is_a_404(gateway: Any) -> None:
    gw = gateway(["7"])
    answer = gw.reward("nobody", {"reward": 1.0})
    assert answer.status_code == 404
    error = answer.json()["error"]
    assert error["code"] == "session_not_found" and "'nobody'" in error["message"]
    assert gw.http.get("/sessions/nobody").status_code == 404


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({}, "reward"),
        ({"reward": "high"}, "reward"),
        ({"reward": 1.0, "rewards": 2}, "rewards"),
        ({"reward": 1.0, "components": {"a": "x"}}, "components.a"),
    ],
)
def test_a_malformed_reward_is_a_400_naming_the_field(
    gateway: Any, body: dict[str, Any], param: str
) -> None:
    gw = gateway(["7"])
    gw.ask("s1")
    answer = gw.reward("s1", body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == param
    assert not gw.store.session("s1").rewarded


def test_non_finite_rewards_are_refused(gateway: Any) -> None:
    gw = gateway(["7"])
    gw.ask("s1")
    raw = '{"reward": NaN}'
    answer = gw.http.post(
        "/sessions/s1/reward", content=raw, headers={"content-type": "application/json"}
    )
    assert answer.status_code == 400
    assert not gw.store.session("s1").rewarded


def test_bad_session_ids_n_and_keys_are_precise_errors(gateway: Any) -> None:
    gw = gateway(["7"])
    bad = gw.http.post("/sessions/-bad/v1/chat/completions", json={"model": "scripted"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "session_id"
    with pytest.raises(openai.BadRequestError, match="n must be 1"):
        gw.ask("s1", n=2)
    with pytest.raises(openai.NotFoundError, match="serves 'scripted'"):
        gw.client("s1").chat.completions.create(model="other", messages=USER)
    nokey = httpx.post(f"{gw.root}/sessions/s1/reward", json={"reward": 1.0})
    assert nokey.status_code == 401
    assert gw.store.sessions() == []  # nothing was recorded by failed calls


def test_concurrent_calls_and_rewards_lose_nothing(gateway: Any) -> None:
    gw = gateway(["x"])
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        try:
            for _ in range(3):
                gw.ask(f"s{i}")
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sorted((s.id, s.calls) for s in gw.store.sessions()) == [(f"s{i}", 3) for i in range(6)]
    codes: list[int] = []

    def rewarder() -> None:
        codes.append(gw.reward("s0", {"reward": 0.5}).status_code)

    racers = [threading.Thread(target=rewarder) for _ in range(4)]
    for t in racers:
        t.start()
    for t in racers:
        t.join()
    assert sorted(codes) == [200, 409, 409, 409]


def test_scored_sessions_are_a_trajectory_store_and_survive_reopening(
    gateway: Any, tmp_path: Path
) -> None:
    gw = gateway(["7", "nine"])
    gw.ask("good")
    gw.ask("bad")
    gw.ask("open")
    assert gw.reward("good", {"reward": 1.0}).status_code == 200
    assert gw.reward("bad", {"reward": 0.0}).status_code == 200
    db = tmp_path / "gateway.db"
    with TrajectoryStore(db) as trajectories:
        stored = {e.id: e.reward for e in trajectories.query(run="gateway")}
    assert stored == {"gw_good": 1.0, "gw_bad": 0.0}  # the unscored session is not training data
    assert [e.id for e in gw.store.episodes(min_reward=1.0)] == ["gw_good"]

    # A crash between the reward and its episode row: reopening rewrites the episode.
    raw = sqlite3.connect(db)
    with raw:
        raw.execute("DELETE FROM episodes WHERE id = 'gw_good'")
    raw.close()
    with GatewayStore(db) as reopened:
        assert [s.id for s in reopened.sessions(rewarded=False)] == ["open"]
    with TrajectoryStore(db) as trajectories:
        assert {e.id for e in trajectories.query(run="gateway")} == {"gw_good", "gw_bad"}


class _Down:
    """A backend whose server is unreachable."""

    name = "scripted"

    async def complete(self, request: ChatRequest) -> Completion:
        raise ModelConnectionError("cannot reach the model server at http://upstream/v1")

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        raise ModelConnectionError("cannot reach the model server at http://upstream/v1")

    def stream(self, request: ChatRequest) -> Any:
        raise ModelConnectionError("cannot reach the model server at http://upstream/v1")


def test_an_unreachable_upstream_is_a_502_and_records_nothing(tmp_path: Path) -> None:
    with GatewayStore(tmp_path / "g.db") as store:
        app = create_gateway_app(_Down(), store, model_name="scripted")  # type: ignore[arg-type]
        with running_server(app) as url:
            client = openai.OpenAI(
                base_url=url.removesuffix("/v1") + "/sessions/s1/v1", api_key="x", max_retries=0
            )
            with pytest.raises(openai.InternalServerError) as caught:
                client.chat.completions.create(model="scripted", messages=USER)
        assert caught.value.status_code == 502
        assert store.sessions() == []


def test_an_upstream_gateway_forces_token_ids_through(tmp_path: Path) -> None:
    """A gateway in front of an OpenAI-compatible upstream (here ``hone serve``) asks it for
    token ids and records the ids the upstream sampled."""
    from hone.serve import create_app

    upstream_model = ScriptedModel(["7"], when_exhausted="cycle")
    with ExitStack() as stack:
        upstream_url = stack.enter_context(
            running_server(create_app(upstream_model, model_name="scripted"))
        )
        store = stack.enter_context(GatewayStore(tmp_path / "g.db"))
        backend = OpenAICompatibleModel("scripted", base_url=upstream_url, max_retries=0)
        root = stack.enter_context(
            running_server(create_gateway_app(backend, store, model_name="scripted"))
        ).removesuffix("/v1")
        client = openai.OpenAI(base_url=f"{root}/sessions/u1/v1", api_key="x")
        reply = client.chat.completions.create(model="scripted", messages=USER)
        (call,) = store.calls("u1")
    assert reply.choices[0].message.content == "7"
    assert upstream_model.requests[-1].options.return_token_ids
    assert call.has_tokens and call.token_ids == list(b"7")


def test_openai_itself_is_not_sent_return_token_ids() -> None:
    from hone.serve._gateway_model import forces_token_ids

    official = OpenAICompatibleModel("gpt-4.1", api_key="sk-test")
    local = OpenAICompatibleModel("m", base_url="http://localhost:8000/v1")
    assert not forces_token_ids(official, "auto") and forces_token_ids(official, "always")
    assert forces_token_ids(local, "auto") and not forces_token_ids(local, "never")


def test_episode_json_round_trips(gateway: Any) -> None:
    gw = gateway(["7"])
    gw.ask("s1")
    gw.reward("s1", {"reward": 1.0, "explanation": "exact", "metadata": {"user": "u"}})
    episode = gw.store.episode("s1")
    data = json.loads(episode.to_json())
    assert data["reward_explanation"] == "exact" and data["metadata"]["user"] == "u"
    assert data["metadata"]["source"] == "gateway"


def test_an_in_memory_store_keeps_sessions_and_episodes() -> None:
    from hone.serve import SessionReward
    from hone.trajectory import ModelCall

    def call(text: str) -> ModelCall:
        return ModelCall(index=0, role="agent", model="m", messages=USER, output={"content": text})

    with GatewayStore(":memory:") as store:
        assert store.record("a", call("x")) == 0 and store.record("a", call("7")) == 1
        episode = store.reward("a", SessionReward(reward=1.0, task_id="n7"))
        assert [c.index for c in episode.calls] == [0, 1] and episode.group_id == "n7"
        assert [e.id for e in store.episodes(min_reward=0.5)] == ["gw_a"]
        with pytest.raises(SessionRewardedError):
            store.record("a", call("late"))
        with pytest.raises(SessionNotFoundError, match="no session 'b'"):
            store.reward("b", SessionReward(reward=0.0))
        with pytest.raises(TrajectoryError, match="finite"):
            SessionReward(reward=float("inf"))


class _Versioned(ScriptedModel):
    """A backend that knows which policy version answered."""

    async def complete(self, request: ChatRequest) -> Completion:
        return dataclasses.replace(await super().complete(request), policy_version=41)


def test_the_backends_policy_version_wins_over_the_gateways(tmp_path: Path) -> None:
    with GatewayStore(tmp_path / "g.db") as store:
        app = create_gateway_app(_Versioned(["7"]), store, model_name="m", policy_version=1)
        with running_server(app) as url:
            client = openai.OpenAI(base_url=url.removesuffix("/v1") + "/sessions/v/v1", api_key="x")
            client.chat.completions.create(model="m", messages=USER)
        assert store.calls("v")[0].policy_version == 41


def test_a_local_model_loaded_by_the_gateway_records_the_given_policy_version(
    tmp_path: Path,
) -> None:
    # A local model counts weight changes from 0 for any checkpoint; the version the gateway
    # is given names the checkpoint, so it is what every call records.
    from hone.serve._gateway_run import gateway_model

    model = gateway_model("tiny:", policy_version="step-40")
    with GatewayStore(tmp_path / "gateway.db") as store:
        app = create_gateway_app(model, store, model_name="policy", policy_version="step-40")
        with running_server(app) as url:
            client = openai.OpenAI(base_url=f"{url.removesuffix('/v1')}/sessions/t/v1", api_key="x")
            client.chat.completions.create(model="policy", messages=USER, max_tokens=4)
        (call,) = store.calls("t")
    assert call.policy_version == "step-40" and call.has_tokens
    assert gateway_model("tiny:").policy_version == 0  # no version given: its own count


def test_the_gateway_refuses_a_parser_for_a_backend_object() -> None:
    from hone.errors import ConfigError
    from hone.serve._gateway_run import gateway_model

    with pytest.raises(ConfigError, match="parser= applies to a model given as a spec"):
        gateway_model(ScriptedModel(["7"]), parser="hermes")
