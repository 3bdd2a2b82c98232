"""The reward protocol: score a *group* of episodes (rollouts of one task) at once."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from hone.trajectory import Episode

__all__ = ["Reward", "RewardResult", "check_value"]


@dataclass(frozen=True, slots=True)
class RewardResult:
    """The reward of one episode.

    ``value`` is None when the reward could not be computed; ``error`` then says why. The
    trainer leaves such episodes out of the group baseline and reports them: a failed reward
    is never silently 0.

    Attributes:
        value: the scalar reward, or None.
        components: named parts of the reward, for logging.
        explanation: why (a judge's words), if any.
        error: why there is no value.
    """

    value: float | None
    components: Mapping[str, float] = field(default_factory=dict)
    explanation: str | None = None
    error: str | None = None

    @classmethod
    def failed(cls, error: str) -> RewardResult:
        """A result without a value."""
        return cls(value=None, error=error)


@runtime_checkable
class Reward(Protocol):
    """Scores a group of episodes; returns one result per episode, in order.

    Scoring a group at once lets comparative judges (:class:`~hone.rewards.GroupJudge`) see
    every rollout of a task together; per-episode rewards simply score each one.
    """

    async def score(self, episodes: Sequence[Episode]) -> list[RewardResult]:
        """One :class:`RewardResult` per episode."""
        ...


def check_value(value: object) -> tuple[float | None, str | None]:
    """``(float value, None)`` for a finite number or bool; ``(None, reason)`` otherwise."""
    if value is None:
        return None, "the reward function returned None"
    if isinstance(value, bool):
        return float(value), None
    if not isinstance(value, int | float):
        return None, f"the reward function returned {type(value).__name__}, not a number"
    number = float(value)
    if not math.isfinite(number):
        return None, f"the reward function returned {number}"
    return number, None
