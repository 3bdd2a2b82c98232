"""Training spans: rollouts, the episode of each recorded model call, rewards as evaluation
events, and the policy version."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from opentelemetry.trace import StatusCode

from hone.messages import AssistantMessage
from hone.models import ChatRequest, ChatSurface, Completion, ScriptedModel, make_request
from hone.observability import policy_version
from hone.rewards import reward_fn
from hone.trajectory import rollout, rollout_group

from ._helpers import Spans, attrs


async def answer(task: Any, model: Any) -> Any:
    completion = await model.complete(make_request(f"say {task}"))
    return [completion.message]


@reward_fn
def says_four(episode: Any) -> float:
    return 1.0 if "4" in episode.final_text else 0.0


async def test_a_rollout_tags_its_calls_and_its_reward(spans: Spans) -> None:
    with policy_version(3):
        (episode,) = await rollout(answer, "4", ScriptedModel(["4"]), seed=11, reward=says_four)
    assert episode.reward == 1.0

    run = spans.one("rollout")
    values = attrs(run)
    assert values["hone.episode.ids"] == [episode.id]
    assert values["hone.task.id"] == episode.task_id
    assert values["hone.rollout.status"] == "ok"
    assert values["hone.rollout.seed"] == 11
    assert values["hone.policy.version"] == 3

    chat = spans.one("chat scripted")
    assert spans.parent_of(chat) is run
    assert attrs(chat)["hone.episode.id"] == episode.id
    assert attrs(chat)["hone.episode.role"] == "agent"
    assert attrs(chat)["hone.episode.call_index"] == 0
    assert attrs(chat)["hone.policy.version"] == 3
    assert attrs(chat)["gen_ai.request.seed"] == episode.calls[0].sampling["seed"]

    score = spans.one("score says_four")
    assert [link.context.span_id for link in score.links] == [run.context.span_id]
    (event,) = score.events
    assert event.name == "gen_ai.evaluation.result"
    assert dict(event.attributes or {}) == {
        "gen_ai.evaluation.name": "says_four",
        "gen_ai.evaluation.score.value": 1.0,
        "hone.episode.id": episode.id,
        "hone.episode.role": "agent",
        "hone.task.id": episode.task_id,
    }


async def test_a_group_scores_every_episode_and_failures_are_marked(spans: Spans) -> None:
    @reward_fn
    def flaky(episode: Any) -> float:
        if "5" in episode.final_text:
            raise ValueError("cannot judge")
        return 0.5

    model = ScriptedModel(["4", "5"], when_exhausted="cycle")
    episodes = await rollout_group(answer, "4", model, group_size=2, reward=flaky)
    assert sorted(str(e.reward) for e in episodes) == ["0.5", "None"]
    assert len(spans.named("rollout")) == 2
    score = spans.one("score flaky")
    assert len(score.links) == 2
    results = {e.attributes["hone.episode.id"]: dict(e.attributes) for e in score.events}
    assert set(results) == {e.id for e in episodes}
    failed = next(r for r in results.values() if "error.type" in r)
    assert failed["error.type"] == "reward_error" and "gen_ai.evaluation.score.value" not in failed


async def test_a_failed_rollout_is_a_failed_span(spans: Spans) -> None:
    async def broken(task: Any, model: Any) -> Any:
        raise KeyError("missing")

    (episode,) = await rollout(broken, "x", ScriptedModel(["unused"]))
    assert episode.status == "error"
    run = spans.one("rollout")
    assert run.status.status_code is StatusCode.ERROR
    assert attrs(run)["error.type"] == "KeyError"


class _Versioned(ChatSurface):
    """A backend that reports which weights answered each call."""

    name = "versioned"

    def __init__(self, versions: list[int]) -> None:
        self.versions = versions

    async def complete(self, request: ChatRequest) -> Completion:
        version = self.versions.pop(0)
        return Completion(message=AssistantMessage(content="4"), policy_version=version)

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        return [await self.complete(r) for r in requests]


async def twice(task: Any, model: Any) -> Any:
    await model.complete(make_request("think"))
    completion = await model.complete(make_request(f"say {task}"))
    return [completion.message]


async def test_a_rollout_takes_the_policy_version_its_backend_reports(spans: Spans) -> None:
    (episode,) = await rollout(twice, "4", _Versioned([5, 5]))
    assert [c.policy_version for c in episode.calls] == [5, 5]
    assert attrs(spans.one("rollout"))["hone.policy.version"] == 5
    assert [attrs(c)["hone.policy.version"] for c in spans.named("chat versioned")] == [5, 5]


async def test_weights_updated_mid_rollout_give_every_version(spans: Spans) -> None:
    await rollout(twice, "4", _Versioned([5, 6]))
    values = attrs(spans.one("rollout"))
    assert values["hone.policy.versions"] == ["5", "6"]
    assert "hone.policy.version" not in values


async def test_the_context_version_wins_on_the_rollout(spans: Spans) -> None:
    with policy_version("run-7"):
        await rollout(twice, "4", _Versioned([5, 6]))
    values = attrs(spans.one("rollout"))
    assert values["hone.policy.version"] == "run-7"
    assert "hone.policy.versions" not in values
