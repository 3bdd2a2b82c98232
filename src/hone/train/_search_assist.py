"""Search successes in GRPO groups: ``train_rl(..., search=SearchAssist(...))``.

On a hard task every rollout of a group can fail; all rewards are equal and the group carries
no learning signal. With a :class:`SearchAssist`, each step of :func:`~hone.train.train_rl`
searches such tasks and puts what search solved into the group, so it has a success to
compute advantages against::

    rollouts  = rollout_batch(program, tasks, RecordingModel(policy), group_size=G)
    unsolved  = tasks whose group has no episode at the success threshold
    found     = search(task, policy, seed) for each unsolved task    # e.g. hone.search.episode_search
    scored    = the found episodes scored with the training reward (on copies)
    mixed     = mix_successes(rollouts, best success of each task)  # joins (or replaces) one
    update    = trainer.train_step(build_rl_batch(mixed))

The search samples from the same policy at the same version, so a joined episode's recorded
logprobs are the behaviour policy's and its importance ratio is taken like a rollout's. What
cannot be corrected is the selection: the joined episode is the best of a search, not a draw
from the policy, so its group's baseline is optimistic about the policy (it is what makes the
group informative). Search episodes count toward ``max_episodes`` like rollouts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hone.errors import TrainingConfigError
from hone.models import ModelBackend
from hone.rewards import Reward
from hone.train._metrics import SearchStepMetrics
from hone.train._rl_batch import MixMode, best_first, mix_successes, succeeded
from hone.trajectory import Episode, derive_seed, score_episodes, task_id_of

__all__ = [
    "FindEpisodes",
    "SearchAssist",
    "SearchOutcome",
    "SearchedStep",
    "Searcher",
    "searcher",
]

logger = logging.getLogger(__name__)

#: ``search(task, policy, seed) -> episodes``: every episode a search of one task recorded
#: (the shape of :data:`hone.search.TaskSearch`, e.g. :func:`hone.search.episode_search`).
FindEpisodes = Callable[[Any, ModelBackend, int], Awaitable[list[Episode]]]


@dataclass(frozen=True, slots=True)
class SearchAssist:
    """How :func:`~hone.train.train_rl` searches the tasks its rollouts did not solve.

    Attributes:
        search: searches one task with the policy (e.g. :func:`hone.search.episode_search`).
        mode: ``join`` (the group grows by one) or ``replace`` (its last failed rollout
            makes room).
        max_episodes: the run's sampling budget, rollouts and search episodes together: a
            step runs only while its rollouts fit, a task is searched only while its search
            fits. None: ``steps`` steps, every unsolved task searched.
        per_search: the most episodes one search records (``episode_search``'s ``budget``);
            needed with ``max_episodes``.
        concurrency: tasks searched at once (their model calls batch together).

    Raises:
        TrainingConfigError: a setting out of range.
    """

    search: FindEpisodes
    mode: MixMode = "join"
    max_episodes: int | None = None
    per_search: int | None = None
    concurrency: int = 8

    def __post_init__(self) -> None:
        if self.mode not in ("join", "replace"):
            raise TrainingConfigError(f"mode must be 'join' or 'replace', got {self.mode!r}")
        if self.concurrency < 1:
            raise TrainingConfigError(
                f"search concurrency must be at least 1, got {self.concurrency}"
            )
        if self.max_episodes is not None and self.max_episodes < 1:
            raise TrainingConfigError(f"max_episodes must be at least 1, got {self.max_episodes}")
        if self.max_episodes is not None and (self.per_search is None or self.per_search < 1):
            raise TrainingConfigError(
                "max_episodes needs per_search: the most episodes one search records "
                f"(episode_search's budget), got {self.per_search}"
            )

    def room(self, sampled: int) -> int | None:
        """Episodes the budget still allows after ``sampled`` (None: no budget)."""
        return None if self.max_episodes is None else self.max_episodes - sampled


@dataclass(slots=True)
class SearchOutcome:
    """What search gave a run (:attr:`~hone.train.RunResult.search`).

    Attributes:
        joined: the search episodes trained on, as they entered their groups.
        skipped: successes found but not used, with the reason.
        episodes: every episode the searches recorded (also in ``trajectories.db`` as run
            ``search`` when the run has a folder).
    """

    joined: list[Episode] = field(default_factory=list)
    skipped: list[tuple[Episode, str]] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class SearchedStep:
    """One step's groups after search: what to train on and what to report."""

    episodes: list[Episode]
    found: list[Episode]
    metrics: SearchStepMetrics


@dataclass(slots=True)
class Searcher:
    """A run's search: the :class:`SearchAssist`, what it samples from and scores with, and
    what it gave the run so far (:func:`searcher` builds it)."""

    assist: SearchAssist
    #: What the searches sample from (the rollouts' policy, not recorded again).
    policy: ModelBackend
    #: The training reward; search episodes are scored with it on copies.
    reward: Reward | Mapping[str, Reward]
    threshold: float
    #: The run's seed (each search's is derived from it, the step and the task).
    seed: int
    outcome: SearchOutcome = field(default_factory=SearchOutcome)

    async def step(
        self, step: int, rollouts: Sequence[Episode], tasks: Sequence[Any], *, sampled: int
    ) -> SearchedStep:
        """Search the tasks of ``rollouts``' unsolved groups and mix the best successes in.

        Args:
            step: the step (0-based).
            rollouts: the step's rollouts, scored.
            tasks: the step's tasks.
            sampled: episodes sampled in the run so far, these rollouts included.
        """
        assist, threshold = self.assist, self.threshold
        solved = {e.task_id for e in rollouts if succeeded(e, threshold)}
        unsolved = list({task_id_of(t): t for t in tasks if task_id_of(t) not in solved}.values())
        allowed = len(unsolved)
        room = assist.room(sampled)
        if room is not None:
            allowed = min(allowed, max(0, room) // max(assist.per_search or 1, 1))
        started = time.perf_counter()
        found, failed = await _search(assist, unsolved[:allowed], self.policy, self.seed, step)
        search_s = time.perf_counter() - started
        offered: list[Episode] = []
        for episodes in found:
            if assist.per_search and len(episodes) > assist.per_search:
                logger.warning("a search recorded %d episodes, over per_search", len(episodes))
            best = await _best_success(episodes, self.reward, threshold)
            if best is not None:
                offered.append(best)
        mixed = mix_successes(rollouts, offered, threshold=threshold, mode=assist.mode)
        for _, reason in mixed.skipped:
            logger.warning("step %d: search episode not used: %s", step + 1, reason)
        searched = [e for episodes in found for e in episodes]
        self.outcome.joined.extend(mixed.joined)
        self.outcome.skipped.extend(mixed.skipped)
        self.outcome.episodes.extend(searched)
        metrics = SearchStepMetrics(
            rollouts=len(rollouts),
            rollout_success=sum(succeeded(e, threshold) for e in rollouts) / max(len(rollouts), 1),
            unsolved=len({e.group_id or e.task_id for e in rollouts if e.task_id not in solved}),
            searched=len(found),
            failed=failed,
            episodes=len(searched),
            solved=len(offered),
            joined=len(mixed.joined),
            displaced=len(mixed.displaced),
            skipped=len(mixed.skipped),
            episodes_sampled=sampled + len(searched),
            search_s=round(search_s, 3),
        )
        logger.info(
            "step %d: %d groups unsolved, %d searched, %d given a search success",
            step + 1,
            metrics.unsolved,
            metrics.searched,
            metrics.joined,
        )
        return SearchedStep(episodes=mixed.episodes, found=searched, metrics=metrics)


async def _search(
    assist: SearchAssist, tasks: Sequence[Any], policy: ModelBackend, seed: int, step: int
) -> tuple[list[list[Episode]], int]:
    """Every episode of each task's search, searched ``assist.concurrency`` at a time, and
    how many searches failed. A search that raises is logged and counts as finding nothing
    (the group stays unsolved; training goes on).

    Raises:
        TrainingConfigError: a search returned something other than a list of episodes.
    """
    gate = asyncio.Semaphore(assist.concurrency)
    failed = 0

    async def one(task: Any) -> list[Episode]:
        nonlocal failed
        task_id = task_id_of(task)
        async with gate:
            try:
                found = await assist.search(
                    task, policy, derive_seed(seed, "search", step, task_id)
                )
            except Exception as exc:  # a failed search is a recorded outcome, not a crash
                failed += 1
                logger.warning("step %d: the search of task %s failed: %r", step + 1, task_id, exc)
                return []
        if not isinstance(found, list) or not all(isinstance(e, Episode) for e in found):
            raise TrainingConfigError(
                f"the search of task {task_id} returned {type(found).__name__}, not a list of "
                "Episodes: search(task, policy, seed) must return every episode it recorded "
                "(as hone.search.episode_search does)"
            )
        return found

    return list(await asyncio.gather(*(one(task) for task in tasks))), failed


async def _best_success(
    episodes: Sequence[Episode], reward: Reward | Mapping[str, Reward], threshold: float
) -> Episode | None:
    """The best of ``episodes`` at ``threshold`` under the training reward (scored on
    copies: the search's own reward may differ), or None."""
    copies = [
        dataclasses.replace(e, metadata=dict(e.metadata)) for e in episodes if e.status != "error"
    ]
    await score_episodes(copies, reward)
    ranked = best_first([e for e in copies if succeeded(e, threshold)])
    return ranked[0] if ranked else None


def searcher(
    assist: SearchAssist | None,
    policy: ModelBackend | Mapping[str, ModelBackend],
    reward: Reward | Mapping[str, Reward],
    *,
    threshold: float,
    seed: int,
    recorded: bool,
    roles: Sequence[str] | None,
) -> Searcher | None:
    """The run's :class:`Searcher` (None without ``assist``).

    Raises:
        TrainingConfigError: a search with recorded episodes (no rollouts to add to), with a
            program of several roles, or with one policy per role.
    """
    if assist is None:
        return None
    if recorded:
        raise TrainingConfigError(
            "search adds successes to rollout groups; recorded episodes have no rollouts "
            "(drop search, or train on rollouts)"
        )
    if roles is not None:
        raise TrainingConfigError(
            f"search serves a program of one role; rl.roles.names is {list(roles)} "
            "(drop search, or train one role)"
        )
    if isinstance(policy, Mapping):
        raise TrainingConfigError("search samples from one policy; got one policy per role")
    return Searcher(assist, policy, reward, threshold, seed)
