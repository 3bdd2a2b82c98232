"""Budgets in generator calls, model calls and tokens, shared by every strategy.

A *generator call* is one expansion (one sampler, reviser or critic call in the flat
strategies; one generator call in a tree search). It may make several *model calls*: a
search over agent episodes runs a whole agent per expansion. A call reports what it spent as
a :class:`Cost` (model calls and tokens); one that reports a plain
:class:`~hone.models.Usage`, a :class:`~hone.models.Completion` or nothing counts as one
model call.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

from hone.errors import ConfigError
from hone.models import Completion, Usage

__all__ = ["Budget", "Cost", "Spend", "StopReason", "model_calls_of"]


#: Why a search stopped: its generator-call budget (``calls``), its model-call budget
#: (``model_calls``), its token budget, its own rule (``done``: ``n`` samples drawn, rounds ran
#: out), or an answer that reached the target.
StopReason: TypeAlias = Literal["calls", "model_calls", "tokens", "done", "target"]


@dataclass(frozen=True, slots=True)
class Cost(Usage):
    """What one generator (or sampler) call spent: its tokens and its model calls.

    A :class:`~hone.models.Usage` (so anything that takes a call's usage takes a cost) that
    also counts model calls, for calls that are not exactly one: an agent run, a chain of
    calls, a cached answer (0).

    Attributes:
        model_calls: the model calls the generator call made (>= 0).
    """

    model_calls: int = 1

    def __post_init__(self) -> None:
        _check_count("Cost.model_calls", self.model_calls, allow_none=False)


def model_calls_of(usage: Usage | Completion | None) -> int:
    """The model calls a call reported: a :class:`Cost`'s count, one for anything else."""
    return usage.model_calls if isinstance(usage, Cost) else 1


@dataclass(frozen=True, slots=True)
class Budget:
    """How much a search may spend; None means no limit. Every limit is checked before each
    call (expansion), so the calls already in flight may overshoot it: by at most what those
    calls spend (``concurrency`` of them at most).

    Attributes:
        calls: generator calls (expansions), failed ones included.
        model_calls: model calls, as the generator calls report them (a :class:`Cost`; a call
            that reports none counts as one, failed ones included). A call in flight counts
            as one until it reports, so the overshoot is at most the extra calls of those in
            flight when the budget ran out.
        tokens: prompt + completion tokens, counted from the :class:`~hone.models.Usage`
            generators report (a :class:`~hone.models.Completion` does).
    """

    calls: int | None = None
    tokens: int | None = None
    model_calls: int | None = None

    def __post_init__(self) -> None:
        for name in ("calls", "tokens", "model_calls"):
            _check_count(f"Budget.{name}", getattr(self, name), allow_none=True)

    @property
    def unlimited(self) -> bool:
        """Whether no limit is set."""
        return self.calls is None and self.tokens is None and self.model_calls is None

    @classmethod
    def of(cls, budget: Budget | int) -> Budget:
        """A budget from a ``Budget`` or a number of generator calls."""
        return budget if isinstance(budget, Budget) else cls(calls=budget)


def _check_count(name: str, value: object, *, allow_none: bool) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        allowed = "None or an integer >= 0" if allow_none else "an integer >= 0"
        raise ConfigError(f"{name} must be {allowed}, got {value!r}")


@dataclass(slots=True)
class Spend:
    """What a search has spent so far.

    ``model_calls`` includes the calls in flight, each counted as one until it reports
    (:meth:`start` then :meth:`charge`), so a budget check sees them.
    """

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    model_calls: int = 0

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens

    @property
    def usage(self) -> Usage:
        """The tokens as a :class:`~hone.models.Usage`."""
        return Usage(self.prompt_tokens, self.completion_tokens)

    def start(self) -> None:
        """Count a call going out: one generator call, one model call until it reports."""
        self.calls += 1
        self.model_calls += 1

    def charge(self, usage: Usage | Completion | None) -> None:
        """Add what a started call reported: its tokens, and its model calls beyond the one
        :meth:`start` counted (a :class:`Cost`; anything else is one model call)."""
        self.model_calls += model_calls_of(usage) - 1
        if isinstance(usage, Completion):
            usage = usage.usage
        if usage is not None:
            self.prompt_tokens += usage.prompt_tokens
            self.completion_tokens += usage.completion_tokens

    def exhausted(self, budget: Budget) -> StopReason | None:
        """Which limit is reached, if any."""
        if budget.calls is not None and self.calls >= budget.calls:
            return "calls"
        if budget.model_calls is not None and self.model_calls >= budget.model_calls:
            return "model_calls"
        if budget.tokens is not None and self.tokens >= budget.tokens:
            return "tokens"
        return None
