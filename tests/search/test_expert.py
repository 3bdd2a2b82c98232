"""Expert iteration: search over episodes, keep the best per task, imitate them."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from typing import Any

import pytest

from hone.checkpoint import InMemorySaver
from hone.errors import ConfigError
from hone.graph import END, START, MessagesState, StateGraph, get_model
from hone.models import ChatRequest, SamplingOptions, ScriptedModel
from hone.rewards import reward_fn
from hone.search import (
    ABMCTSA,
    ExpertRound,
    aexpert_iteration,
    best_episodes,
    episode_search,
)
from hone.trajectory import Episode, ModelCall, TrajectoryStore


async def _agent(state: MessagesState) -> dict[str, Any]:
    request = ChatRequest(messages=tuple(state["messages"]), options=SamplingOptions())
    completion = await get_model().complete(request)
    return {"messages": [completion.message]}


def _graph() -> Any:
    builder = StateGraph(MessagesState)
    builder.add_node("agent", _agent)
    builder.add_edge(START, "agent")
    builder.add_conditional_edges("agent", _route, ["agent", END])
    return builder.compile(checkpointer=InMemorySaver())


def _route(state: MessagesState) -> str:
    return END if "answer" in state["messages"][-1].text else "agent"


def _score(episode: Episode) -> float:
    found = re.search(r"answer ([0-9.]+)", episode.final_text)
    return float(found.group(1)) if found else 0.0


def _episode(task: str, reward: float | None, calls: int, status: str = "ok") -> Episode:
    call = ModelCall(index=0, role="agent", model="m", messages=[], output={})
    return Episode(task_id=task, reward=reward, calls=[call] * calls, status=status)  # type: ignore[arg-type]


def test_best_episodes_keeps_the_best_solved_ones_per_task() -> None:
    episodes = [
        _episode("a", 1.0, 3),
        _episode("a", 1.0, 1),
        _episode("a", 0.5, 1),
        _episode("b", 0.2, 1),
        _episode("c", 1.0, 2, status="error"),
        _episode("c", None, 2),
        _episode("d", 1.0, 2),
    ]
    chosen = best_episodes(episodes)
    assert chosen == [episodes[1], episodes[6]]  # fewest calls first; b, c unsolved
    assert best_episodes(episodes, threshold=0.5, per_task=2) == [
        episodes[1],
        episodes[0],
        episodes[6],
    ]
    with pytest.raises(ConfigError):
        best_episodes(episodes, per_task=0)


@pytest.mark.slow
def test_a_round_searches_imitates_and_evaluates(tmp_path: Path) -> None:
    pytest.importorskip("torch")
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hone.models.tiny import TinyConfig, build_tiny_model
    from hone.train import SFTConfig, Trainer, TrainerConfig

    path = build_tiny_model(
        tmp_path / "tiny",
        config=TinyConfig(
            hidden_size=32, layers=1, heads=2, kv_heads=1, intermediate=64, vocab_size=400
        ),
    )
    tokenizer = AutoTokenizer.from_pretrained(path)
    model = AutoModelForCausalLM.from_pretrained(path)
    before = [p.detach().clone() for p in model.parameters()]
    config = TrainerConfig(lr=1e-2, micro_batch_size=4)
    trainer = Trainer(model, tokenizer, config=config)
    # the policy: a scripted model that solves task "one" on its third try, never "two"
    tries = {"one": iter(["answer 0.1", "answer 0.2", "answer 1", "answer 0.3"]), "two": None}

    def reply(request: ChatRequest) -> str:
        found = tries[request.messages[0].text]
        return "answer 0.2" if found is None else next(found)

    policy = ScriptedModel([reply] * 8)
    store = TrajectoryStore(tmp_path / "traj.db")
    search = episode_search(_graph(), reward_fn(_score), ABMCTSA(), budget=4, store=store, run="ei")
    evaluations: list[int] = []

    async def evaluate(backend: Any) -> float:
        assert backend is policy
        evaluations.append(trainer.step)
        return 0.5

    rounds: list[ExpertRound] = []
    result = asyncio.run(
        aexpert_iteration(
            trainer,
            ["one", "two"],
            search,
            rounds=1,
            sft=SFTConfig(max_steps=2, batch_size=2, trainer=config),
            policy=policy,
            evaluate=evaluate,
            search_concurrency=1,
            on_round=rounds.append,
        )
    )
    [done] = result.rounds
    assert rounds == [done] and result.initial_eval == 0.5 and evaluations == [0, 2]
    assert done.tasks == 2 and done.episodes == 8 and done.failed == 0
    assert done.solved == 1 and done.imitated == 1 and done.sft_steps == 2
    assert done.model_calls == 8 and done.eval_success == 0.5
    [imitated] = result.imitated
    assert imitated.task == "one" and imitated.reward == 1.0
    assert store.count(run="ei") == 8  # every expansion recorded
    assert any(not bool((a == b).all()) for a, b in zip(before, model.parameters(), strict=True))
    assert result.episodes_sampled == 8


def test_bad_settings_are_refused() -> None:
    search = episode_search(_graph(), reward_fn(_score), ABMCTSA(), budget=1)
    with pytest.raises(ConfigError, match="rounds"):
        asyncio.run(
            aexpert_iteration(object(), ["t"], search, rounds=0, sft=None)  # type: ignore[arg-type]
        )
    with pytest.raises(ConfigError, match="budget"):
        episode_search(_graph(), reward_fn(_score), ABMCTSA(), budget=0)
