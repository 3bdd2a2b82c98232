"""Many rollouts at once: a group of rollouts of one task, scored together
(:func:`rollout_group`), and a group for every task of a batch (:func:`rollout_batch`).

They share one concurrency limit and failure budget, and are seated in one deterministic
wave (``hone.models._waves``) unless ``repeatable=False``. Each rollout is ``_rollout``'s
``rollout_unscored``, run in this process or by a :class:`~hone.trajectory.RolloutExecutor`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hone.errors import ConfigError, TrainingError
from hone.messages import new_id
from hone.models._waves import Wave
from hone.trajectory._executor import RolloutExecutor, RolloutJob, RolloutRequest, run_one
from hone.trajectory._recording import derive_seed
from hone.trajectory._rollout import (
    ModelsLike,
    Program,
    RewardLike,
    rollout_unscored,
    score_episodes,
)
from hone.trajectory._schema import Episode, task_id_of

__all__ = ["RolloutBatch", "rollout_batch", "rollout_group"]

logger = logging.getLogger(__name__)


class _Limiter:
    """A shared concurrency limit and failure budget across many rollouts, and the wave
    (deterministic batching) they are seated in, if any."""

    def __init__(
        self, concurrency: int | None, max_failures: int | None, wave: Wave | None = None
    ) -> None:
        self.semaphore = asyncio.Semaphore(concurrency) if concurrency else None
        self.max_failures = max_failures
        self.failures: list[Episode] = []
        self.wave = wave

    @property
    def exhausted(self) -> bool:
        return self.max_failures is not None and len(self.failures) > self.max_failures

    async def run(
        self, make: Callable[[], Awaitable[list[Episode]]], key: tuple[int, int]
    ) -> list[Episode]:
        if self.semaphore is None:
            with self._seat(key):
                return self._count(await make())
        async with self.semaphore:
            with self._seat(key):  # every rollout takes its seat, even one not started
                if self.exhausted:  # too many failures already: start nothing new
                    return []
                return self._count(await make())

    def _seat(self, key: tuple[int, int]) -> contextlib.AbstractContextManager[Any]:
        return contextlib.nullcontext() if self.wave is None else self.wave.seat(key)

    def _count(self, episodes: list[Episode]) -> list[Episode]:
        if any(e.status == "error" for e in episodes):
            self.failures.append(next(e for e in episodes if e.status == "error"))
        return episodes


async def _group(
    program: Program,
    task: Any,
    model: ModelsLike,
    *,
    group_size: int,
    roles: Sequence[str] | None,
    seed: int | None,
    group_id: str | None,
    reward: RewardLike,
    limiter: _Limiter,
    runner: Callable[[RolloutRequest], Awaitable[list[Episode]]] | None = None,
    position: int = 0,
) -> list[Episode]:
    if group_size < 1:
        raise ConfigError(f"group_size must be at least 1, got {group_size}")
    task_id = task_id_of(task)
    gid = group_id or new_id(f"{task_id}-")

    def make(i: int) -> Callable[[], Awaitable[list[Episode]]]:
        rollout_seed = None if seed is None else derive_seed(seed, task_id, i)
        if runner is not None:  # an executor runs it (see rollout_batch)
            request = RolloutRequest(task, rollout_seed, gid, i)
            return lambda: runner(request)
        return lambda: rollout_unscored(
            program, task, model, roles=roles, seed=rollout_seed, group_id=gid, index=i
        )

    runs = await asyncio.gather(*(limiter.run(make(i), (position, i)) for i in range(group_size)))
    episodes = [e for run in runs for e in run]
    for i, run in enumerate(runs):
        for episode in run:
            episode.metadata.setdefault("rollout_index", i)
    await score_episodes(episodes, reward)
    return episodes


async def rollout_group(
    program: Program,
    task: Any,
    model: ModelsLike,
    *,
    group_size: int,
    roles: Sequence[str] | None = None,
    seed: int | None = None,
    group_id: str | None = None,
    reward: RewardLike = None,
    concurrency: int | None = None,
    repeatable: bool = True,
) -> list[Episode]:
    """Run ``group_size`` rollouts of one task concurrently and score them as one group.

    Rollout ``i`` is seeded with ``derive_seed(seed, task_id, i)``. Returns the episodes of
    every rollout (one per role each), in rollout order; each carries
    ``metadata["rollout_index"]``. ``repeatable`` is :func:`rollout_batch`'s.
    """
    return await _group(
        program,
        task,
        model,
        group_size=group_size,
        roles=roles,
        seed=seed,
        group_id=group_id,
        reward=reward,
        limiter=_Limiter(concurrency, None, _wave(repeatable, group_size, concurrency)),
    )


def _wave(repeatable: bool, participants: int, concurrency: int | None) -> Wave | None:
    """The wave the rollouts are seated in (deterministic batching), or None."""
    return Wave(max(participants, 0), seats=concurrency) if repeatable else None


@dataclass(slots=True)
class RolloutBatch:
    """The episodes of a batch of rollout groups.

    Attributes:
        episodes: every episode, group by group.
        failures: one episode per failed rollout (``status="error"``).
        skipped: rollouts never started because the failure budget ran out.
    """

    episodes: list[Episode]
    failures: list[Episode]
    skipped: int = 0

    def groups(self) -> dict[tuple[str, str], list[Episode]]:
        """Episodes keyed by ``(group_id, role)``: the groups advantages are computed over."""
        out: dict[tuple[str, str], list[Episode]] = {}
        for episode in self.episodes:
            out.setdefault((episode.group_id or "", episode.role), []).append(episode)
        return out


async def rollout_batch(
    program: Program,
    tasks: Sequence[Any],
    model: ModelsLike,
    *,
    group_size: int,
    concurrency: int | None = None,
    max_failures: int | None = None,
    seed: int | None = None,
    roles: Sequence[str] | None = None,
    reward: RewardLike = None,
    executor: RolloutExecutor | None = None,
    repeatable: bool = True,
) -> RolloutBatch:
    """Run a group of ``group_size`` rollouts for every task, all concurrently.

    With a batching backend (:class:`~hone.models.BatchingModel`) the concurrent calls
    coalesce into batched generations. With ``repeatable`` (the default) they do so in
    deterministic waves: a batch is sent once every rollout in flight waits on its next call
    (or has finished), its rows in rollout order, so the batches, and with seeded sampling
    the episodes, are the same in every run of the same seed. Rollouts whose other work
    takes very different times (slow tools, remote calls) wait for each other; pass
    ``repeatable=False`` to batch by arrival time instead (see ``hone.models._waves``).

    Args:
        concurrency: most rollouts running at once (None: no limit).
        max_failures: most failed rollouts tolerated; once exceeded no new rollout starts and
            :class:`~hone.errors.TrainingError` is raised. None tolerates any number.
        seed: the batch seed; rollout ``i`` of task ``t`` gets ``derive_seed(seed, t.id, i)``.
        executor: where rollouts run (:class:`~hone.trajectory.RayExecutor`: Ray actors);
            None runs them in this process (:class:`~hone.trajectory.LocalExecutor`).

    Raises:
        TrainingError: more than ``max_failures`` rollouts failed.
    """
    if concurrency is not None and concurrency < 1:
        raise ConfigError(f"concurrency must be at least 1 or None, got {concurrency}")
    limiter = _Limiter(
        concurrency, max_failures, _wave(repeatable, len(tasks) * group_size, concurrency)
    )
    runner = None
    if executor is not None:
        if not isinstance(executor, RolloutExecutor):
            raise ConfigError(f"executor must be a RolloutExecutor, got {type(executor).__name__}")
        job = RolloutJob(program, model, None if roles is None else tuple(roles))
        runner = functools.partial(run_one, executor, job)
    groups = await asyncio.gather(
        *(
            _group(
                program,
                task,
                model,
                group_size=group_size,
                roles=roles,
                seed=seed,
                group_id=None,
                reward=reward,
                limiter=limiter,
                runner=runner,
                position=position,
            )
            for position, task in enumerate(tasks)
        )
    )
    episodes = [e for group in groups for e in group]
    started = len({(e.group_id, e.metadata.get("rollout_index")) for e in episodes})
    batch = RolloutBatch(episodes, list(limiter.failures), len(tasks) * group_size - started)
    if batch.failures:
        logger.warning("%d of %d rollouts failed", len(batch.failures), started)
    if limiter.exhausted:
        shown = "; ".join(f"{e.task_id}: {e.error}" for e in batch.failures[:3])
        raise TrainingError(
            f"{len(batch.failures)} rollouts failed, more than max_failures={max_failures} "
            f"(first errors: {shown}); fix the program or raise max_failures"
        )
    return batch
