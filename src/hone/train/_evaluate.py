"""Evaluation: run a program once per task and score it with the reward used for training."""

from __future__ import annotations

import dataclasses
import inspect
import math
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hone.models._protocol import ChatRequest, Completion, ModelBackend, StreamEvent
from hone.rewards import Reward
from hone.trajectory import Episode, Program, rollout_batch

__all__ = ["EvalResult", "SamplingOverride", "TaskScore", "evaluate", "with_sampling"]


class SamplingOverride:
    """A backend wrapper that sets ``temperature`` and/or ``max_tokens`` on every request,
    whatever the program asked for (so a run samples as its config says)."""

    def __init__(
        self, backend: ModelBackend, *, temperature: float | None, max_tokens: int | None
    ) -> None:
        self.backend = backend
        self.temperature = temperature
        self.max_tokens = max_tokens

    @property
    def name(self) -> str:
        """The wrapped backend's name."""
        return self.backend.name

    def _apply(self, request: ChatRequest) -> ChatRequest:
        changes: dict[str, Any] = {}
        if self.temperature is not None:
            changes["temperature"] = self.temperature
        if self.max_tokens is not None:
            changes["max_tokens"] = self.max_tokens
        return dataclasses.replace(request, options=request.options.with_(**changes))

    async def complete(self, request: ChatRequest) -> Completion:
        """Complete one conversation with the overridden options."""
        return await self.backend.complete(self._apply(request))

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """Complete many conversations with the overridden options."""
        return await self.backend.complete_batch([self._apply(r) for r in requests])

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Stream one conversation with the overridden options."""
        return self.backend.stream(self._apply(request))


def _override(models: Any, temperature: float | None, max_tokens: int | None) -> Any:
    if isinstance(models, Mapping):
        return {role: _override(m, temperature, max_tokens) for role, m in models.items()}
    return SamplingOverride(models, temperature=temperature, max_tokens=max_tokens)


def with_sampling(
    program: Program, *, temperature: float | None = None, max_tokens: int | None = None
) -> Program:
    """``program`` with its model calls' ``temperature``/``max_tokens`` overridden.

    The wrapper sits *inside* the rollout's recording, so episodes record the options actually
    used. A sync program stays sync (rollouts run it in a worker thread).
    """
    if temperature is None and max_tokens is None:
        return program
    if inspect.iscoroutinefunction(program) or inspect.iscoroutinefunction(
        getattr(program, "__call__", None)  # noqa: B004 - objects with an async __call__
    ):

        async def run_async(task: Any, models: Any) -> Any:
            return await program(task, _override(models, temperature, max_tokens))

        return run_async

    def run_sync(task: Any, models: Any) -> Any:
        return program(task, _override(models, temperature, max_tokens))

    return run_sync


@dataclass(frozen=True, slots=True)
class TaskScore:
    """One evaluated rollout.

    Attributes:
        task_id: the task's id.
        reward: the reward, or None when it could not be computed.
        success: reward at or above the success threshold.
        status: how the rollout ended (``ok``, ``error``, ...).
        error: why there is no reward (the rollout's or the reward's error), if any.
        output: the final assistant text.
    """

    task_id: str
    reward: float | None
    success: bool
    status: str
    error: str | None
    output: str


@dataclass(slots=True)
class EvalResult:
    """The outcome of :func:`evaluate`.

    ``mean_reward`` and ``success_rate`` are over the rollouts that have a reward; the others
    are counted in :attr:`unscored`, never averaged in as 0. Both are NaN when none is scored.
    """

    success_rate: float
    mean_reward: float
    per_task: list[TaskScore] = field(default_factory=list)
    episodes: list[Episode] = field(default_factory=list)

    @property
    def unscored(self) -> int:
        """Rollouts without a reward (failed rollouts or failed rewards)."""
        return sum(score.reward is None for score in self.per_task)


def _score(episode: Episode, threshold: float) -> TaskScore:
    reward = (
        episode.reward if episode.reward is not None and math.isfinite(episode.reward) else None
    )
    return TaskScore(
        task_id=episode.task_id,
        reward=reward,
        success=reward is not None and reward >= threshold,
        status=episode.status,
        error=episode.error or episode.reward_error,
        output=episode.final_text,
    )


async def evaluate(
    program: Program,
    tasks: Sequence[Any],
    model: ModelBackend,
    reward: Reward,
    *,
    concurrency: int | None = None,
    seed: int = 0,
    success_threshold: float = 1.0,
    temperature: float | None = None,
    max_tokens: int | None = None,
) -> EvalResult:
    """Run ``program`` once on each task and score it with ``reward``.

    The same reward object serves training and evaluation. For a local model wrap it in a
    :class:`~hone.models.BatchingModel` so the concurrent rollouts share batched generations.

    Args:
        concurrency: most rollouts at once (None: all).
        seed: the rollouts' seed (each task's calls get seeds derived from it).
        success_threshold: a reward at or above it is a success.
        temperature, max_tokens: override the program's sampling (e.g. 0.0 for greedy).
    """
    batch = await rollout_batch(
        with_sampling(program, temperature=temperature, max_tokens=max_tokens),
        list(tasks),
        model,
        group_size=1,
        concurrency=concurrency,
        seed=seed,
        reward=reward,
    )
    scores = [_score(e, success_threshold) for e in batch.episodes]
    values = [s.reward for s in scores if s.reward is not None]
    if not values:
        return EvalResult(math.nan, math.nan, scores, batch.episodes)
    successes = sum(s.success for s in scores if s.reward is not None)
    return EvalResult(successes / len(values), sum(values) / len(values), scores, batch.episodes)
