"""Rollout executors without Ray: the protocol, the in-process executor (the default's
twin), what rollout_batch hands an executor, and the failed episodes of a dead worker."""

from __future__ import annotations

import json
import pickle
import re
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from hone.agent import arun_agent
from hone.errors import ConfigError, HoneError, TrainingError
from hone.messages import text_of
from hone.models import OpenAICompatibleModel
from hone.models._protocol import ChatRequest, ModelBackend
from hone.models._scripted import ScriptedModel
from hone.rewards import reward_fn
from hone.tools import tool
from hone.trajectory import (
    Episode,
    LocalExecutor,
    RayExecutor,
    RecordingModel,
    RolloutExecutor,
    RolloutJob,
    RolloutRequest,
    derive_seed,
    rollout_batch,
)
from hone.trajectory._executor import failed_episodes, job_roles


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


def reply(request: ChatRequest) -> str:
    """Call ``add`` once, then answer with the tool's result."""
    last = request.messages[-1]
    if last.role == "tool":
        return f"The answer is {text_of(last.content)}."
    a, b = text_of(last.content).split("+")
    return f'<tool_call>{{"name": "add", "arguments": {{"a": {a}, "b": {b}}}}}</tool_call>'


async def agent(task: Mapping[str, Any], model: ModelBackend) -> Any:
    if task.get("fail"):
        raise RuntimeError("the program broke")
    return await arun_agent(model, [add], task["question"], system="Add.")


def tasks(n: int) -> list[dict[str, Any]]:
    return [{"id": f"t{i}", "question": f"{i}+{i}", "answer": 2 * i} for i in range(n)]


correct = reward_fn(lambda ep: ep.final_text == f"The answer is {ep.task['answer']}.")


def comparable(episode: Episode) -> Any:
    """An episode without what differs between two runs: its ids, clocks and group id, and
    the tool-call ids the agent loop makes up (numbered in order of appearance instead)."""
    data = episode.to_dict()
    for key in ("id", "created_at", "group_id"):
        data.pop(key)
    for call in data["calls"]:
        call.pop("latency_s")
    seen: dict[str, str] = {}
    text = re.sub(
        r"call_[0-9a-f]{8,}", lambda m: seen.setdefault(m[0], f"call-{len(seen)}"), json.dumps(data)
    )
    return json.loads(text)


class Recording:
    """An executor that runs in-process and remembers what it was asked."""

    def __init__(self) -> None:
        self.local = LocalExecutor()
        self.jobs: list[RolloutJob] = []
        self.requests: list[RolloutRequest] = []

    async def run(self, job: RolloutJob, requests: Sequence[RolloutRequest]) -> list[list[Episode]]:
        self.jobs.append(job)
        self.requests.extend(requests)
        return await self.local.run(job, requests)


async def test_the_local_executor_gives_the_default_episodes() -> None:
    model = ScriptedModel([reply], when_exhausted="cycle")
    runs = [
        await rollout_batch(
            agent, tasks(3), model, group_size=2, seed=5, reward=correct, executor=executor
        )
        for executor in (None, LocalExecutor())
    ]
    default, local = runs
    assert len(default.episodes) == 6
    assert [comparable(e) for e in local.episodes] == [comparable(e) for e in default.episodes]
    assert all(e.reward == 1.0 for e in local.episodes)
    assert [e.metadata["rollout_index"] for e in local.episodes] == [0, 1] * 3


async def test_an_executor_gets_one_job_and_seeded_requests() -> None:
    executor = Recording()
    assert isinstance(executor, RolloutExecutor)
    model = ScriptedModel([reply], when_exhausted="cycle")
    batch = await rollout_batch(agent, tasks(2), model, group_size=3, seed=9, executor=executor)
    assert len({id(job) for job in executor.jobs}) == 1  # one job for the whole batch
    job = executor.jobs[0]
    assert job.program is agent and job.model is model and job.roles is None
    by_task: dict[str, list[RolloutRequest]] = {}
    for request in executor.requests:
        by_task.setdefault(request.task["id"], []).append(request)
    for task_id, requests in by_task.items():
        requests.sort(key=lambda r: r.index)
        assert [r.index for r in requests] == [0, 1, 2]
        assert [r.seed for r in requests] == [derive_seed(9, task_id, i) for i in range(3)]
        assert len({r.group_id for r in requests}) == 1
    assert [e.seed for e in batch.episodes] == [
        derive_seed(9, t["id"], i) for t in tasks(2) for i in range(3)
    ]


async def test_failures_through_an_executor_count_against_the_budget() -> None:
    model = ScriptedModel([reply], when_exhausted="cycle")
    work = [*tasks(2), {"id": "bad", "question": "1+1", "fail": True}]
    batch = await rollout_batch(
        agent, work, model, group_size=2, seed=0, max_failures=2, executor=LocalExecutor()
    )
    assert len(batch.failures) == 2 and {e.task_id for e in batch.failures} == {"bad"}
    assert all("the program broke" in (e.error or "") for e in batch.failures)
    with pytest.raises(TrainingError, match="more than max_failures=1"):
        await rollout_batch(
            agent, work, model, group_size=2, seed=0, max_failures=1, executor=LocalExecutor()
        )


async def test_an_executor_that_breaks_its_contract_is_named() -> None:
    class Greedy:
        async def run(
            self, job: RolloutJob, requests: Sequence[RolloutRequest]
        ) -> list[list[Episode]]:
            return [[], []]

    model = ScriptedModel([reply], when_exhausted="cycle")
    with pytest.raises(HoneError, match=r"Greedy\.run returned 2 results for 1 request"):
        await rollout_batch(agent, tasks(1), model, group_size=2, executor=Greedy())


async def test_something_that_is_no_executor_is_refused() -> None:
    model = ScriptedModel([reply])
    with pytest.raises(ConfigError, match="executor must be a RolloutExecutor, got str"):
        await rollout_batch(agent, tasks(1), model, group_size=2, executor="ray")  # type: ignore[arg-type]


def test_the_roles_of_a_job_are_those_an_in_process_run_records() -> None:
    model = ScriptedModel([reply])
    assert job_roles(RolloutJob(agent, model)) == ["agent"]
    assert job_roles(RolloutJob(agent, RecordingModel(model, "solver"))) == ["solver"]
    assert job_roles(RolloutJob(agent, {"planner": model, "solver": model})) == [
        "planner",
        "solver",
    ]
    assert job_roles(RolloutJob(agent, model, roles=("a", "b"))) == ["a", "b"]


def test_a_rollout_that_died_outside_the_program_is_a_failed_episode_per_role() -> None:
    job = RolloutJob(agent, ScriptedModel([reply]), roles=("planner", "solver"))
    request = RolloutRequest({"id": "t7", "question": "1+2"}, seed=3, group_id="g", index=1)
    episodes = failed_episodes(job, request, "the worker died")
    assert [e.role for e in episodes] == ["planner", "solver"]
    for episode in episodes:
        assert (episode.task_id, episode.status, episode.stop_reason) == ("t7", "error", "error")
        assert (episode.error, episode.group_id, episode.seed) == ("the worker died", "g", 3)
        assert episode.reward is None and episode.calls == []


def test_an_openai_compatible_model_pickles_without_its_clients() -> None:
    model = OpenAICompatibleModel(
        "policy", base_url="http://127.0.0.1:9/v1", extra_body={"top_k": 5}, timeout=7.0
    )
    model.serve_policy("policy-v3", 3)
    copy = pickle.loads(pickle.dumps(RecordingModel(model, "solver")))
    assert copy.role == "solver"
    assert (copy.backend.name, copy.backend.policy_version) == ("policy-v3", 3)
    assert copy.backend.base_url == "http://127.0.0.1:9/v1"
    assert copy.backend.request_body(ChatRequest(messages=[])) == model.request_body(
        ChatRequest(messages=[])
    )


@pytest.mark.parametrize(
    ("kwargs", "problem"),
    [
        ({"actors": 0}, "actors must be at least 1, got 0"),
        ({"actor_concurrency": 0}, "actor_concurrency must be at least 1"),
        ({"num_cpus": 0}, "num_cpus must be at least 1"),
        ({"actor_cpus": -1.0}, "actor_cpus must be >= 0"),
    ],
)
def test_bad_ray_settings_are_named(kwargs: dict[str, Any], problem: str) -> None:
    with pytest.raises(ConfigError, match=problem):
        RayExecutor(**kwargs)


def test_a_ray_that_cannot_start_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    ray = pytest.importorskip("ray")
    if ray.is_initialized():
        pytest.skip("a Ray is already running in this process")

    def unreachable(**kwargs: Any) -> None:
        raise ConnectionError("Could not find any running Ray instance.")

    monkeypatch.setattr(ray, "init", unreachable)
    executor = RayExecutor(address="auto")
    with pytest.raises(
        ConfigError, match="cannot start the Ray cluster at 'auto': ConnectionError: Could not"
    ):
        executor.start()
    assert not executor.started
