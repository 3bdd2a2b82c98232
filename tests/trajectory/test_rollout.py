"""Rollouts of agent programs: episodes per role, failures as values, seeds, scoring."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

import pytest

from hone.agent import arun_agent
from hone.errors import ContextOverflowError, TrainingError
from hone.messages import text_of
from hone.models._batching import BatchingModel
from hone.models._protocol import ChatRequest, Completion, ModelBackend, StreamEvent, make_request
from hone.models._scripted import ScriptedModel
from hone.rewards import RewardResult, reward_fn
from hone.tools import tool
from hone.trajectory import (
    Episode,
    current_recorder,
    current_rollout,
    derive_seed,
    rollout,
    rollout_batch,
    rollout_group,
)


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


def agent_reply(request: ChatRequest) -> str:
    """Call ``add`` once, then answer with the tool's result."""
    last = request.messages[-1]
    if last.role == "tool":
        return f"The answer is {text_of(last.content)}."
    a, b = text_of(last.content).split("+")
    return f'<tool_call>{{"name": "add", "arguments": {{"a": {a}, "b": {b}}}}}</tool_call>'


async def agent_program(task: Mapping[str, Any], model: ModelBackend) -> Any:
    return await arun_agent(model, [add], task["question"], system="Add.")


def tasks(n: int) -> list[dict[str, Any]]:
    return [{"id": f"t{i}", "question": f"{i}+{i}", "answer": 2 * i} for i in range(n)]


correct = reward_fn(lambda ep: ep.final_text == f"The answer is {ep.task['answer']}.")


async def test_rollout_of_an_agent_program() -> None:
    model = ScriptedModel([agent_reply], when_exhausted="cycle")
    [episode] = await rollout(agent_program, tasks(3)[2], model, seed=5, reward=correct)
    assert episode.status == "ok" and episode.role == "agent" and episode.task_id == "t2"
    assert episode.output == "The answer is 4." and episode.reward == 1.0
    assert [m["role"] for m in episode.messages] == [
        "system",
        "user",
        "assistant",
        "tool",
        "assistant",
    ]
    assert len(episode.calls) == 2 and all(c.has_tokens for c in episode.calls)
    assert episode.calls[0].tools[0]["function"]["name"] == "add"
    assert episode.calls[1].sampling["seed"] == derive_seed(5, "agent", 1)


async def test_step_budget_marks_max_steps() -> None:
    model = ScriptedModel(
        ['<tool_call>{"name": "add", "arguments": {"a": 1, "b": 1}}</tool_call>'],
        when_exhausted="cycle",
    )

    async def program(task: Any, model: ModelBackend) -> Any:
        return await arun_agent(model, [add], task, max_steps=2)

    [episode] = await rollout(program, "loop forever", model)
    assert episode.status == "max_steps" and len(episode.calls) == 3


async def test_a_program_can_set_its_status() -> None:
    async def program(task: Any, model: ModelBackend) -> str:
        await model.complete(make_request(task))
        recorder = current_recorder()
        assert recorder is not None
        recorder.set_status("max_steps")
        recorder.metadata["note"] = "gave up"
        return "done"

    [episode] = await rollout(program, "x", ScriptedModel(["hi"]))
    assert episode.status == "max_steps" and episode.metadata == {"note": "gave up"}
    assert episode.output == "done"
    assert [m["role"] for m in episode.messages] == ["user", "assistant"]  # from the last call


async def test_multi_role_program_gives_one_episode_per_role() -> None:
    async def program(task: Any, models: Mapping[str, ModelBackend]) -> dict[str, Any]:
        plan = await models["planner"].complete(make_request(f"plan {task}"))
        await models["solver"].complete(make_request(plan.message.text))
        answer = await models["solver"].complete(make_request("answer"))
        return {"answer": answer.message.text}

    model = ScriptedModel(["step one", "working", "42"])
    is_42 = reward_fn(lambda ep: ep.output["answer"] == "42")
    episodes = await rollout(program, "q", model, roles=["planner", "solver"], reward=is_42)
    planner, solver = episodes
    assert (planner.role, len(planner.calls)) == ("planner", 1)
    assert (solver.role, len(solver.calls)) == ("solver", 2)
    assert solver.calls[0].messages[0]["content"] == "step one"
    assert planner.output == solver.output == {"answer": "42"}
    assert planner.reward == 1.0 and solver.reward == 1.0

    separate = {"planner": ScriptedModel(["p"]), "solver": ScriptedModel(["s"])}

    async def both(task: Any, models: Mapping[str, ModelBackend]) -> None:
        for m in models.values():
            await m.complete(make_request(task))

    episodes = await rollout(both, "q", separate)
    assert [(e.role, e.calls[0].output["content"]) for e in episodes] == [
        ("planner", "p"),
        ("solver", "s"),
    ]


async def test_sync_program() -> None:
    from hone.agent import run_agent

    def program(task: Mapping[str, Any], model: ModelBackend) -> Any:
        return run_agent(model, [add], task["question"])

    model = ScriptedModel([agent_reply], when_exhausted="cycle")
    [episode] = await rollout(program, tasks(2)[1], model, reward=correct)
    assert episode.reward == 1.0 and len(episode.calls) == 2


class OverflowModel:
    """Answers once, then the prompt no longer fits."""

    def __init__(self) -> None:
        self.inner = ScriptedModel([agent_reply], when_exhausted="cycle")

    @property
    def name(self) -> str:
        return "overflow"

    async def complete(self, request: ChatRequest) -> Completion:
        if len(request.messages) > 2:
            raise ContextOverflowError("prompt of 9000 tokens exceeds the 8192-token window")
        return await self.inner.complete(request)

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        return [await self.complete(r) for r in requests]

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        return self.inner.stream(request)


async def test_context_overflow_ends_the_episode_cleanly() -> None:
    [episode] = await rollout(agent_program, tasks(2)[1], OverflowModel(), reward=correct)
    assert episode.status == "context_overflow" and "8192" in (episode.error or "")
    assert len(episode.calls) == 1  # the call made before the overflow is kept
    assert episode.reward == 0.0  # scored like any episode that ended cleanly


async def test_exceptions_are_captured_per_rollout() -> None:
    async def program(task: Mapping[str, Any], model: ModelBackend) -> Any:
        if task["id"] == "t1":
            raise RuntimeError("tool server down")
        return await agent_program(task, model)

    model = ScriptedModel([agent_reply], when_exhausted="cycle")
    batch = await rollout_batch(program, tasks(3), model, group_size=2, seed=0, reward=correct)
    assert len(batch.episodes) == 6 and len(batch.failures) == 2 and batch.skipped == 0
    failed = [e for e in batch.episodes if e.task_id == "t1"]
    assert all(e.status == "error" and "tool server down" in (e.error or "") for e in failed)
    assert all(e.reward is None and e.reward_error for e in failed)
    assert all(e.reward == 1.0 for e in batch.episodes if e.task_id != "t1")
    assert len(batch.groups()) == 3


async def test_max_failures() -> None:
    async def broken(task: Any, model: ModelBackend) -> None:
        raise ValueError("bad program")

    model = ScriptedModel(["x"], when_exhausted="cycle")
    with pytest.raises(TrainingError, match="max_failures=2"):
        await rollout_batch(broken, tasks(4), model, group_size=2, concurrency=2, max_failures=2)
    batch = await rollout_batch(broken, tasks(1), model, group_size=2, max_failures=2)
    assert len(batch.failures) == 2


async def test_seeds_are_deterministic_per_task_and_index() -> None:
    model = ScriptedModel([agent_reply], when_exhausted="cycle")
    first = await rollout_batch(agent_program, tasks(2), model, group_size=3, seed=7)
    again = await rollout_batch(agent_program, tasks(2), model, group_size=3, seed=7)

    def seeds(batch: Any) -> list[tuple[str, int, list[Any]]]:
        return sorted(
            (e.task_id, e.metadata["rollout_index"], [c.sampling["seed"] for c in e.calls])
            for e in batch.episodes
        )

    assert seeds(first) == seeds(again)
    episode_seeds = {e.seed for e in first.episodes}
    assert len(episode_seeds) == 6
    assert derive_seed(7, "t1", 2) in episode_seeds


async def test_group_reward_sees_the_whole_group() -> None:
    class RankReward:
        def __init__(self) -> None:
            self.sizes: list[int] = []

        async def score(self, episodes: Sequence[Episode]) -> list[RewardResult]:
            self.sizes.append(len(episodes))
            return [RewardResult(float(i)) for i in range(len(episodes))]

    reward = RankReward()
    model = ScriptedModel([agent_reply], when_exhausted="cycle")
    episodes = await rollout_group(agent_program, tasks(1)[0], model, group_size=4, reward=reward)
    assert reward.sizes == [4]
    assert [e.reward for e in episodes] == [0.0, 1.0, 2.0, 3.0]
    assert len({e.group_id for e in episodes}) == 1


async def test_a_failing_reward_never_kills_the_batch() -> None:
    class Broken:
        async def score(self, episodes: Sequence[Episode]) -> list[RewardResult]:
            raise RuntimeError("judge offline")

    model = ScriptedModel([agent_reply], when_exhausted="cycle")
    episodes = await rollout_group(agent_program, tasks(1)[0], model, group_size=2, reward=Broken())
    assert all(e.reward is None and "judge offline" in (e.reward_error or "") for e in episodes)


class CountingModel(ScriptedModel):
    """Remembers the size of every batch it was asked to complete."""

    def __init__(self) -> None:
        super().__init__([agent_reply], when_exhausted="cycle")
        self.batch_sizes: list[int] = []

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        self.batch_sizes.append(len(requests))
        return await super().complete_batch(requests)


async def test_concurrent_rollouts_coalesce_in_a_batching_backend() -> None:
    inner = CountingModel()
    model = BatchingModel(inner, max_wait_ms=20)
    batch = await rollout_batch(agent_program, tasks(4), model, group_size=2, reward=correct)
    assert all(e.reward == 1.0 for e in batch.episodes)
    assert max(inner.batch_sizes) > 1 and sum(inner.batch_sizes) == 16


async def test_code_inside_a_rollout_sees_its_context() -> None:
    """A scripted teacher reads the rollout's seed, task and episode id (not the prompt)."""
    seen: list[tuple[Any, ...]] = []

    def teacher(request: ChatRequest) -> str:
        context = current_rollout()
        assert context is not None
        seen.append((context.task_id, context.index, context.seed, context.episode_id()))
        context.metadata["teacher_seed"] = context.seed
        return "done"

    model = ScriptedModel([teacher], when_exhausted="cycle")
    episodes = await rollout_group(agent_program, {"id": "t1", "question": "1+2"}, model,
                                   group_size=2, seed=5)  # fmt: skip
    assert current_rollout() is None  # outside rollouts: nothing
    assert [(s[0], s[1]) for s in seen] == [("t1", 0), ("t1", 1)]
    assert [s[2] for s in seen] == [derive_seed(5, "t1", 0), derive_seed(5, "t1", 1)]
    assert [e.id for e in episodes] == [s[3] for s in seen]  # the id it saw is the episode's
    assert [e.metadata["teacher_seed"] for e in episodes] == [s[2] for s in seen]


async def test_failed_tool_results_are_kept_and_counted() -> None:
    @tool
    def broken(x: int) -> int:
        """Always fails."""
        raise ValueError("nope")

    call = '<tool_call>{"name": "broken", "arguments": {"x": 1}}</tool_call>'
    model = ScriptedModel([call, "gave up"])

    async def program(task: str, backend: ModelBackend) -> Any:
        return await arun_agent(backend, [broken], task)

    [episode] = await rollout(program, "go", model)
    [result] = [m for m in episode.messages if m["role"] == "tool"]
    assert result["is_error"] is True and episode.tool_errors == 1
