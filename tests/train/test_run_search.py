"""GRPO with search successes (``train_rl_with_search``) on the toy task and a small random
model: unsolved groups are searched, a success joins each, the update runs on the mixed
groups, search episodes count toward the episode budget, and unusable ones are skipped."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from hone.checkpoint import InMemorySaver
from hone.errors import TrainingConfigError
from hone.graph import END, START, MessagesState, StateGraph, get_model
from hone.messages import UserMessage
from hone.models import ChatRequest, ModelBackend, ScriptedModel
from hone.rewards import reward_fn
from hone.search import ABMCTSA, episode_search
from hone.train import (
    EvalConfig,
    RLConfig,
    SearchRLStep,
    TrainerConfig,
    train_rl_with_search,
)
from hone.trajectory import Episode, RecordingModel, rollout

from .conftest import make_trainer, say_number

CONFIG = RLConfig(
    group_size=2,
    tasks_per_step=2,
    steps=3,
    max_tokens=4,
    trainer=TrainerConfig(lr=1e-3, micro_batch_size=4),
    eval=EvalConfig(every=0),
    truncation_penalty=0.0,
)
TASKS = [{"id": "a", "n": 2}, {"id": "b", "n": 3}, {"id": "c", "n": 4}]


@reward_fn
def found_reward(episode: Episode) -> float:
    """1 for what the fake search marked, 0 for every rollout: every group needs search."""
    return float(episode.metadata.get("found", False))


async def fake_search(task: Any, policy: ModelBackend, seed: int) -> list[Episode]:
    """Two real episodes of the policy (token ids, logprobs, version); the second 'solved'."""
    tries = [await rollout(say_number, task, RecordingModel(policy), seed=seed + i) for i in (0, 1)]
    tries[1][0].metadata["found"] = True
    return [episode for episodes in tries for episode in episodes]


async def _agent(state: MessagesState) -> dict[str, Any]:
    completion = await get_model().complete(ChatRequest(messages=tuple(state["messages"])))
    return {"messages": [completion.message]}


def answer_graph() -> Any:
    """One model call per run: enough for a search over episodes."""
    builder = StateGraph(MessagesState)
    builder.add_node("agent", _agent)
    builder.add_edge(START, "agent")
    builder.add_edge("agent", END)
    return builder.compile(checkpointer=InMemorySaver())


def test_unsolved_groups_get_a_search_success_and_train(small_tiny_dir: Path) -> None:
    trainer = make_trainer(small_tiny_dir, CONFIG.trainer)
    steps: list[SearchRLStep] = []
    result = asyncio.run(
        train_rl_with_search(
            trainer,
            say_number,
            TASKS,
            found_reward,
            fake_search,
            config=CONFIG,
            max_episodes=13,
            search_episodes=2,
            on_step=steps.append,
        )
    )
    assert result.steps == steps and len(steps) == 2  # a third step's rollouts do not fit
    first, second = steps
    assert (first.rollouts, first.unsolved, first.searched, first.search_episodes) == (4, 2, 2, 4)
    assert first.search_solved == 2 and first.joined == 2 and first.skipped == 0
    assert first.rollout_success == 0.0
    rl = first.rl.rollout
    assert rl is not None and rl.groups == 2 and rl.skipped_groups == 0 and rl.episodes == 6
    assert first.rl.update is not None and first.rl.updates == 1
    assert first.episodes_sampled == 8
    # step 2: 8 + 4 rollouts = 12 of 13, no room for a search of 2: no signal, no update
    assert (second.rollouts, second.searched, second.joined) == (4, 0, 0)
    assert second.rl.update is None and second.episodes_sampled == 12
    assert result.episodes_sampled == 12 and len(result.episodes) == 12
    # every joined episode is a search episode, re-grouped and marked; its logprobs as recorded
    assert len(result.joined) == 2
    by_id = {e.id: e for e in result.episodes}
    for joined in result.joined:
        original = by_id[joined.id]
        assert original.metadata["found"] and "mixed_in" not in original.metadata
        assert joined.metadata["mixed_in"]["source"] == "search"
        assert joined.group_id != original.group_id and joined.reward == 1.0
        assert joined.calls[0].logprobs == original.calls[0].logprobs
        assert joined.calls[0].policy_version == 0
    row = first.to_row()
    assert row["search_joined"] == 2.0 and row["episodes_sampled"] == 8.0 and "loss" in row


def test_episodes_without_token_ids_are_skipped_and_counted(small_tiny_dir: Path) -> None:
    trainer = make_trainer(small_tiny_dir, CONFIG.trainer)
    scripted = episode_search(
        answer_graph(),
        reward_fn(lambda e: 1.0),
        ABMCTSA(),
        budget=2,
        make_input=lambda task: {"messages": [UserMessage(content=f"Say {task['n']}.")]},
    )

    async def search(task: Any, policy: ModelBackend, seed: int) -> list[Episode]:
        episodes = await scripted(task, ScriptedModel(["answer 1"], when_exhausted="cycle"), seed)
        for episode in episodes:  # as a backend without token ids (LangChain's) records them
            for call in episode.calls:
                call.token_ids = call.prompt_token_ids = call.logprobs = None
        return episodes

    result = asyncio.run(
        train_rl_with_search(
            trainer,
            say_number,
            TASKS,
            reward_fn(lambda e: 1.0 if e.metadata.get("search") else 0.0),
            search,
            config=CONFIG.model_copy(update={"steps": 1}),
        )
    )
    [step] = result.steps
    assert step.searched == 2 and step.search_solved == 2 and step.skipped == 2
    assert step.joined == 0 and step.rl.update is None
    assert all("token ids" in why for _, why in result.skipped)
    assert len(result.episodes) == 4 + 4  # rollouts and every search episode are kept


def test_settings_it_cannot_honour_are_refused(small_tiny_dir: Path) -> None:
    trainer = make_trainer(small_tiny_dir, CONFIG.trainer)

    def run(config: RLConfig = CONFIG, **kwargs: Any) -> None:
        asyncio.run(
            train_rl_with_search(
                trainer, say_number, TASKS, found_reward, fake_search, config=config, **kwargs
            )
        )

    with pytest.raises(TrainingConfigError, match="needs search_episodes"):
        run(max_episodes=8)
    with pytest.raises(TrainingConfigError, match="rollout_model"):
        run(CONFIG.model_copy(update={"rollout_model": "tiny:"}))
    with pytest.raises(TrainingConfigError, match="search_concurrency"):
        run(search_concurrency=0)
