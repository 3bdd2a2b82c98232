"""Programmatic rewards: plain functions of one episode, and common penalties."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeAlias

from hone.errors import ConfigError
from hone.rewards._protocol import RewardResult, check_value
from hone.trajectory import Episode

__all__ = ["FormatPenalty", "FunctionReward", "StepPenalty", "TruncationPenalty", "reward_fn"]

logger = logging.getLogger(__name__)

_Value: TypeAlias = float | int | bool | RewardResult | None
RewardFunction: TypeAlias = Callable[[Episode], _Value | Awaitable[_Value]]


class FunctionReward:
    """A reward computed by a function of one episode (see :func:`reward_fn`)."""

    def __init__(self, fn: RewardFunction, *, name: str | None = None) -> None:
        if not callable(fn):
            raise ConfigError(f"reward_fn needs a function of an episode, got {fn!r}")
        self.fn = fn
        self.name: str = name or str(getattr(fn, "__name__", type(fn).__name__))

    async def score(self, episodes: Sequence[Episode]) -> list[RewardResult]:
        """Call the function on each episode; exceptions and non-numbers become failed results."""
        return [await self._one(episode) for episode in episodes]

    async def _one(self, episode: Episode) -> RewardResult:
        try:
            value = self.fn(episode)
            if inspect.isawaitable(value):
                value = await value
        except Exception as exc:
            logger.warning("reward %s raised on episode %s: %s", self.name, episode.id, exc)
            return RewardResult.failed(f"{self.name} raised {type(exc).__name__}: {exc}")
        if isinstance(value, RewardResult):
            if value.value is None:
                return value
            _, error = check_value(value.value)
            return value if error is None else RewardResult.failed(f"{self.name}: {error}")
        number, error = check_value(value)
        if error is not None:
            return RewardResult.failed(f"{self.name}: {error}")
        return RewardResult(value=number)


def reward_fn(fn: RewardFunction) -> FunctionReward:
    """Make a reward from a function ``fn(episode) -> float | bool | RewardResult`` (sync or
    async); usable as a decorator.

    If ``fn`` raises, or returns None, NaN or ±inf, that episode's result has ``value=None``
    and an ``error``: the trainer excludes it rather than counting it as 0.
    """
    return FunctionReward(fn)


class StepPenalty:
    """A penalty for long episodes: ``-per_step`` for each model call beyond ``free_steps``,
    at most ``max_penalty`` in size.

    Add it to a task reward with :class:`~hone.rewards.WeightedSum`.
    """

    def __init__(
        self, per_step: float = 0.01, *, free_steps: int = 0, max_penalty: float | None = None
    ) -> None:
        if per_step < 0 or free_steps < 0 or (max_penalty is not None and max_penalty < 0):
            raise ConfigError("StepPenalty takes non-negative per_step, free_steps and max_penalty")
        self.per_step = per_step
        self.free_steps = free_steps
        self.max_penalty = max_penalty

    async def score(self, episodes: Sequence[Episode]) -> list[RewardResult]:
        """``-per_step × extra steps`` per episode."""
        out = []
        for episode in episodes:
            steps = len(episode.calls)
            penalty = self.per_step * max(0, steps - self.free_steps)
            if self.max_penalty is not None:
                penalty = min(penalty, self.max_penalty)
            out.append(RewardResult(value=-penalty, components={"steps": float(steps)}))
        return out


class FormatPenalty:
    """A penalty for malformed output: ``-per_error`` for each parse error the model made
    (tool calls that could not be parsed), at most ``max_penalty`` in size."""

    def __init__(self, per_error: float = 0.1, *, max_penalty: float | None = None) -> None:
        if per_error < 0 or (max_penalty is not None and max_penalty < 0):
            raise ConfigError("FormatPenalty takes a non-negative per_error and max_penalty")
        self.per_error = per_error
        self.max_penalty = max_penalty

    async def score(self, episodes: Sequence[Episode]) -> list[RewardResult]:
        """``-per_error × parse errors`` per episode."""
        out = []
        for episode in episodes:
            errors = episode.num_parse_errors
            penalty = self.per_error * errors
            if self.max_penalty is not None:
                penalty = min(penalty, self.max_penalty)
            out.append(RewardResult(value=-penalty, components={"parse_errors": float(errors)}))
        return out


class TruncationPenalty:
    """A penalty for episodes with a model call cut off at ``max_tokens``
    (``finish_reason == "length"``): ``-penalty`` once per such episode.

    A truncated call is degenerate output even when a lenient parser still finds a tool call in
    it, so a task reward alone may keep paying for it. ``hone.train`` adds this term to the RL
    training reward by default (``rl.truncation_penalty``); add it yourself with
    :class:`~hone.rewards.WeightedSum`.
    """

    def __init__(self, penalty: float = 1.0) -> None:
        if penalty < 0:
            raise ConfigError(f"TruncationPenalty takes a non-negative penalty, got {penalty}")
        self.penalty = penalty

    async def score(self, episodes: Sequence[Episode]) -> list[RewardResult]:
        """``-penalty`` for each episode with a truncated call, else 0."""
        out = []
        for episode in episodes:
            truncated = sum(call.finish_reason == "length" for call in episode.calls)
            value = -self.penalty if truncated else 0.0
            out.append(RewardResult(value=value, components={"truncated_calls": float(truncated)}))
        return out
