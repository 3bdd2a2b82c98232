"""Evaluation: run a program once per task and score it with the reward used for training."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hone.models._protocol import ModelBackend
from hone.rewards import Reward
from hone.train._metrics import CallCounts, EvalMetrics
from hone.train._prompt import with_requests
from hone.trajectory import Episode, Program, rollout_batch

__all__ = ["EvalResult", "TaskScore", "evaluate"]


@dataclass(frozen=True, slots=True)
class TaskScore:
    """One evaluated rollout.

    Attributes:
        task_id: the task's id.
        reward: the reward, or None when it could not be computed.
        success: reward at or above the success threshold.
        status: how the rollout ended (``ok``, ``error``, ...).
        error: why there is no reward (the rollout's or the reward's error), if any.
        output: the agent's final answer (:attr:`~hone.trajectory.Episode.final_answer`: the
            last text, or a stop tool's argument).
        episode_id: the episode's id (find it in a trajectory store).
    """

    task_id: str
    reward: float | None
    success: bool
    status: str
    error: str | None
    output: str
    episode_id: str = ""


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

    @property
    def metrics(self) -> EvalMetrics:
        """The summary numbers, with truncated calls, parse errors and tool errors."""
        return EvalMetrics(
            success=self.success_rate,
            reward=self.mean_reward,
            tasks=len(self.per_task),
            unscored=self.unscored,
            counts=CallCounts.of(self.episodes),
        )


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
        output=episode.final_answer,
        episode_id=episode.id,
    )


async def evaluate(
    program: Program,
    tasks: Sequence[Any],
    model: ModelBackend | Mapping[str, ModelBackend],
    reward: Reward | Mapping[str, Reward],
    *,
    concurrency: int | None = None,
    seed: int = 0,
    success_threshold: float = 1.0,
    temperature: float | None = None,
    max_tokens: int | None = None,
    roles: Sequence[str] | None = None,
) -> EvalResult:
    """Run ``program`` once on each task and score it with ``reward``.

    The same reward object serves training and evaluation. For a local model wrap it in a
    :class:`~hone.models.BatchingModel` so the concurrent rollouts share batched generations.

    Args:
        concurrency: most rollouts at once (None: all).
        seed: the rollouts' seed (each task's calls get seeds derived from it).
        success_threshold: a reward at or above it is a success.
        temperature, max_tokens: override the program's sampling (e.g. 0.0 for greedy).
        roles: a multi-role program's roles (one episode each); with a mapping of role to
            reward, each role is scored its own way and the rates are over every scored
            episode (roles without a reward are left out as unscored).

    Render prompts as the model was trained: a program trained with ``tool_schemas: none``
    wraps its model in :class:`~hone.train.ToolSchemas` (``run_training`` and ``hone eval
    --config`` do it for you).
    """
    batch = await rollout_batch(
        with_requests(program, temperature=temperature, max_tokens=max_tokens),
        list(tasks),
        model,
        group_size=1,
        concurrency=concurrency,
        seed=seed,
        reward=reward,
        roles=roles,
    )
    scores = [_score(e, success_threshold) for e in batch.episodes]
    values = [s.reward for s in scores if s.reward is not None]
    if not values:
        return EvalResult(math.nan, math.nan, scores, batch.episodes)
    successes = sum(s.success for s in scores if s.reward is not None)
    return EvalResult(successes / len(values), sum(values) / len(values), scores, batch.episodes)
