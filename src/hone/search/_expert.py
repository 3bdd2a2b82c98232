"""Search feeds training: expert iteration.

Each round searches every task with the current policy (:func:`episode_search`: an
:class:`~hone.search.EpisodeSearch` run by a tree algorithm to a budget), keeps the best
successful episodes per task (:func:`best_episodes`) and imitates them with
:func:`hone.train.train_sft`, then (optionally) evaluates. No teacher is involved: the only
training data is what the policy itself found by searching. The episodes are recorded with
the policy's token ids, so they can also go into RL batches as they are.
"""

from __future__ import annotations

import asyncio
import logging
import math
import random
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from hone.errors import ConfigError
from hone.models import BatchingModel, ModelBackend
from hone.rewards import Reward
from hone.search._algorithm import TreeSearch
from hone.search._episodes import EpisodeSearch
from hone.search._run import asearch
from hone.trajectory import Episode, TrajectoryStore, derive_seed, task_id_of

if TYPE_CHECKING:  # hone.train needs torch, an optional dependency: imported when used
    from hone.train import SFTConfig, Trainer

__all__ = [
    "ExpertIterationResult",
    "ExpertRound",
    "TaskSearch",
    "aexpert_iteration",
    "best_episodes",
    "episode_search",
]

logger = logging.getLogger(__name__)

#: ``search(task, policy, seed) -> episodes``: search one task, return every episode it recorded.
TaskSearch = Callable[[Any, ModelBackend, int], Awaitable[list[Episode]]]


def episode_search(
    graph: Any,
    reward: Reward,
    algorithm: TreeSearch[Any],
    *,
    budget: int,
    make_input: Callable[[Any], Any] | None = None,
    steps: int | None = None,
    on_done: Literal["critique", "retry_last"] = "critique",
    concurrency: int = 1,
    timeout: float | None = None,
    store: TrajectoryStore | None = None,
    run: str = "search",
) -> TaskSearch:
    """A :data:`TaskSearch` that runs ``algorithm`` over episodes of ``graph`` for ``budget``
    expansions (see :class:`~hone.search.EpisodeSearch` for the other arguments)."""
    if budget < 1:
        raise ConfigError(f"budget must be at least 1 expansion, got {budget}")

    async def run_search(task: Any, policy: ModelBackend, seed: int) -> list[Episode]:
        searcher = EpisodeSearch(
            graph,
            task,
            policy,
            reward,
            make_input=make_input,
            store=store,
            run=run,
            steps=steps,
            on_done=on_done,
            seed=seed,
        )
        await asearch(
            algorithm,
            {"agent": searcher.agenerate},
            budget=budget,
            seed=seed,
            concurrency=concurrency,
            timeout=timeout,
        )
        return list(searcher.episodes.values())

    return run_search


def best_episodes(
    episodes: Sequence[Episode], *, threshold: float = 1.0, per_task: int = 1
) -> list[Episode]:
    """The ``per_task`` best episodes of each task that reached ``threshold``: highest reward
    first, then fewest model calls (the shortest way to the answer), then the earliest."""
    if per_task < 1:
        raise ConfigError(f"per_task must be at least 1, got {per_task}")
    by_task: dict[str, list[tuple[int, Episode]]] = {}
    for order, episode in enumerate(episodes):
        if episode.status == "error" or episode.reward is None or episode.reward < threshold:
            continue
        by_task.setdefault(episode.task_id, []).append((order, episode))
    chosen: list[Episode] = []
    for found in by_task.values():
        found.sort(key=lambda item: (-(item[1].reward or 0.0), len(item[1].calls), item[0]))
        chosen.extend(episode for _, episode in found[:per_task])
    return chosen


@dataclass(frozen=True, slots=True)
class ExpertRound:
    """One round of expert iteration.

    Attributes:
        round: 1, 2, ...
        tasks: tasks searched.
        solved: tasks where search found an episode at the threshold.
        episodes: episodes the searches recorded (every expansion, failed ones included).
        failed: of those, expansions that failed.
        model_calls: model calls the searches made (each expansion's own calls).
        imitated: episodes trained on.
        sft_steps: optimizer steps taken.
        sft_loss: the last step's loss (NaN without steps).
        eval_success: the evaluation after the round (NaN without one).
        seconds: wall time of the round.
    """

    round: int
    tasks: int
    solved: int
    episodes: int
    failed: int
    model_calls: int
    imitated: int
    sft_steps: int
    sft_loss: float
    eval_success: float
    seconds: float

    def to_row(self) -> dict[str, float]:
        """The round as one row of numbers."""
        return {
            "round": self.round,
            "tasks": self.tasks,
            "solved": self.solved,
            "episodes": self.episodes,
            "failed": self.failed,
            "model_calls": self.model_calls,
            "imitated": self.imitated,
            "sft_steps": self.sft_steps,
            "sft_loss": self.sft_loss,
            "eval_success": self.eval_success,
            "seconds": self.seconds,
        }


@dataclass(slots=True)
class ExpertIterationResult:
    """What expert iteration did: one :class:`ExpertRound` per round, the evaluation before
    the first round, and the episodes imitated."""

    rounds: list[ExpertRound] = field(default_factory=list)
    initial_eval: float = math.nan
    imitated: list[Episode] = field(default_factory=list)

    @property
    def episodes_sampled(self) -> int:
        """Episodes the searches recorded over all rounds."""
        return sum(r.episodes for r in self.rounds)


#: ``evaluate(policy) -> success rate``, called before the first round and after each.
Evaluate = Callable[[ModelBackend], Awaitable[float]]


async def aexpert_iteration(
    trainer: Trainer,
    tasks: Sequence[Any],
    search: TaskSearch,
    *,
    rounds: int,
    sft: SFTConfig,
    tasks_per_round: int | None = None,
    threshold: float = 1.0,
    per_task: int = 1,
    search_concurrency: int = 8,
    policy: ModelBackend | None = None,
    evaluate: Evaluate | None = None,
    seed: int = 0,
    on_round: Callable[[ExpertRound], None] | None = None,
) -> ExpertIterationResult:
    """Rounds of search → imitate what search found → evaluate.

    Args:
        trainer: the :class:`~hone.train.Trainer` being trained, built from ``sft.trainer``
            (give it a constant learning rate: the rounds share one schedule).
        tasks: the training tasks.
        search: searches one task with the policy (:func:`episode_search`).
        rounds: rounds to run.
        sft: the :class:`~hone.train.SFTConfig` of each round's imitation (its
            ``max_steps`` or ``epochs`` per round).
        tasks_per_round: tasks drawn (without replacement) per round; None searches all.
        threshold: the reward an episode needs to be imitated.
        per_task: episodes imitated per solved task.
        search_concurrency: tasks searched at once (their model calls batch together).
        policy: the backend searches sample from (default: the trainer's live weights,
            batched, recording ``trainer.step`` as the policy version).
        evaluate: measures the policy before the first round and after each.
        seed: seeds the task draws and each search.
        on_round: called after each round.

    Raises:
        ConfigError: rounds, tasks or search_concurrency out of range.
    """
    from hone.train import train_sft  # torch: only when training

    if rounds < 1 or not tasks or search_concurrency < 1:
        raise ConfigError(
            f"expert iteration needs rounds >= 1 (got {rounds}), tasks (got {len(tasks)}) "
            f"and search_concurrency >= 1 (got {search_concurrency})"
        )
    backend = policy or _policy(trainer)
    result = ExpertIterationResult()
    if evaluate is not None:
        result.initial_eval = await evaluate(backend)
    rng = random.Random(seed)
    for number in range(1, rounds + 1):
        started = time.perf_counter()
        chosen_tasks = list(tasks)
        if tasks_per_round is not None:
            chosen_tasks = rng.sample(chosen_tasks, min(tasks_per_round, len(chosen_tasks)))
        episodes = await _search_all(
            search, chosen_tasks, backend, seed, number, search_concurrency
        )
        chosen = best_episodes(episodes, threshold=threshold, per_task=per_task)
        steps, loss = 0, math.nan
        if chosen:
            trained = await train_sft(trainer, chosen, config=sft, seed=derive_seed(seed, number))
            steps, loss = trained.steps, trained.final_loss
        result.imitated.extend(chosen)
        success = await evaluate(backend) if evaluate is not None else math.nan
        record = ExpertRound(
            round=number,
            tasks=len(chosen_tasks),
            solved=len({e.task_id for e in chosen}),
            episodes=len(episodes),
            failed=sum(e.status == "error" for e in episodes),
            model_calls=sum(_own_calls(e) for e in episodes),
            imitated=len(chosen),
            sft_steps=steps,
            sft_loss=loss,
            eval_success=success,
            seconds=round(time.perf_counter() - started, 2),
        )
        result.rounds.append(record)
        if on_round is not None:
            on_round(record)
    return result


async def _search_all(
    search: TaskSearch,
    tasks: Sequence[Any],
    policy: ModelBackend,
    seed: int,
    number: int,
    concurrency: int,
) -> list[Episode]:
    gate = asyncio.Semaphore(concurrency)

    async def one(task: Any) -> list[Episode]:
        async with gate:
            return await search(task, policy, derive_seed(seed, number, task_id_of(task)))

    found = await asyncio.gather(*(one(task) for task in tasks))
    return [episode for episodes in found for episode in episodes]


def _own_calls(episode: Episode) -> int:
    info = episode.metadata.get("search")
    if isinstance(info, Mapping) and isinstance(info.get("own_calls"), int):
        return int(info["own_calls"])
    return len(episode.calls)


def _policy(trainer: Trainer) -> ModelBackend:
    from hone.models import TransformersModel  # imports transformers: only when sampling

    if getattr(trainer, "tokenizer", None) is None:
        raise ConfigError("the trainer has no tokenizer; pass policy=... or a trainer with one")
    return BatchingModel(
        TransformersModel(trainer.model, trainer.tokenizer, policy_version=lambda: trainer.step),
        max_batch=64,
        max_wait_ms=50.0,
    )
