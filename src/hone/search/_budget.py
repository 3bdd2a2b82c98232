"""Budgets in model calls and tokens, shared by every strategy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from hone.errors import ConfigError
from hone.models import Completion, Usage

__all__ = ["Budget", "Spend", "StopReason"]


#: Why a search stopped: its call budget, its token budget, its own rule (``n`` samples drawn,
#: a refinement reached its target, rounds ran out), or a generator that cannot go on.
StopReason: TypeAlias = Literal["calls", "tokens", "done", "target"]


@dataclass(frozen=True, slots=True)
class Budget:
    """How much a search may spend; None means no limit.

    Attributes:
        calls: generator (model) calls, failed ones included.
        tokens: prompt + completion tokens, counted from the :class:`~hone.models.Usage`
            generators report (a :class:`~hone.models.Completion` does). Checked before each
            call, so calls in flight may overshoot it.
    """

    calls: int | None = None
    tokens: int | None = None

    def __post_init__(self) -> None:
        for name in ("calls", "tokens"):
            value = getattr(self, name)
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 0
            ):
                raise ConfigError(f"Budget.{name} must be None or an integer >= 0, got {value!r}")

    @classmethod
    def of(cls, budget: Budget | int) -> Budget:
        """A budget from a ``Budget`` or a number of calls."""
        return budget if isinstance(budget, Budget) else cls(calls=budget)


@dataclass(slots=True)
class Spend:
    """What a search has spent so far."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    @property
    def usage(self) -> Usage:
        """The tokens as a :class:`~hone.models.Usage`."""
        return Usage(self.prompt_tokens, self.completion_tokens)

    def charge(self, usage: Usage | Completion | None) -> None:
        """Add a call's tokens (a completion's usage, or nothing when none was reported)."""
        if isinstance(usage, Completion):
            usage = usage.usage
        if usage is not None:
            self.prompt_tokens += usage.prompt_tokens
            self.completion_tokens += usage.completion_tokens

    def exhausted(self, budget: Budget) -> StopReason | None:
        """Which limit is reached, if any."""
        if budget.calls is not None and self.calls >= budget.calls:
            return "calls"
        if budget.tokens is not None and self.tokens >= budget.tokens:
            return "tokens"
        return None
