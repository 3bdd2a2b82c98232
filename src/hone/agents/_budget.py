"""Budgets of the multi-agent patterns: agent turns, handoffs, tokens, wall time, and loops
without progress.

A pattern keeps its run's :class:`BudgetUsage` in its state (key ``usage``) and checks it with
its :class:`Budget` each time control would pass to another agent. When a limit is reached
the handoff is refused (its result says why) and the pattern ends with a final answer: the
agent that asked for the handoff (a supervisor: the supervisor) answers once more with its
tools withheld, so every run ends with an answer.

**Loops.** A turn *makes progress* when one of its tool calls succeeded, or when it answered
with a text not given before in the run. Control passing to an agent that already held it
since the last progress is a *revisit* (A → B → A with nothing done in between);
``max_revisits`` revisits in a row are allowed, one more ends the run.

Usage is per run: the first turn of an ``invoke`` starts a fresh count (the previous run's
usage is marked finished), while a run resumed after an interrupt keeps counting.
"""

from __future__ import annotations

import dataclasses
import hashlib
from dataclasses import dataclass
from typing import Literal, TypeAlias

from hone.errors import ConfigError

__all__ = ["BUDGET_PROMPT", "Budget", "BudgetLimit", "BudgetStop", "BudgetUsage"]

#: Which limit ended a run early.
BudgetLimit: TypeAlias = Literal["turns", "handoffs", "tokens", "seconds", "loop"]
#: The limits that leave no room for another turn at all.
SpentLimit: TypeAlias = Literal["turns", "tokens", "seconds"]

#: The final-answer prompt when a limit ends the run; ``{limit}`` names it.
BUDGET_PROMPT = (
    "The team has reached its limit ({limit}). Do not call tools or transfer to another "
    "agent: give your final answer to the user now, based on what has been found so far."
)


@dataclass(frozen=True, slots=True)
class BudgetStop:
    """A limit ended the run.

    Attributes:
        limit: which one.
        agent: the agent that gives the final answer (the one whose handoff was refused).
        detail: the limit in words ("10 handoffs"), as the final-answer prompt says it.
    """

    limit: BudgetLimit
    agent: str
    detail: str


@dataclass(frozen=True, slots=True)
class BudgetUsage:
    """What a pattern's run has used so far (stored in its state as ``usage``).

    Attributes:
        turns: agent turns taken (an agent's run until it answers or hands off).
        handoffs: handoffs made.
        tokens: prompt and completion tokens of the agents' model calls (as their backends
            report them; agents not built by ``hone.agents`` report none).
        seconds: wall time spent in agent turns (not time paused at an interrupt).
        revisits: revisits in a row without progress (see the module docs).
        holders: agents that held control since the last progress.
        answers: digests of the answers given in this run (a repeated answer is no progress).
        stop: the limit that ended the run, if one did.
        finished: whether the run ended (the next run starts a fresh count).
    """

    turns: int = 0
    handoffs: int = 0
    tokens: int = 0
    seconds: float = 0.0
    revisits: int = 0
    holders: tuple[str, ...] = ()
    answers: tuple[str, ...] = ()
    stop: BudgetStop | None = None
    finished: bool = False

    @staticmethod
    def current(stored: BudgetUsage | None) -> BudgetUsage:
        """The usage to continue from: ``stored``, or a fresh one when there is none or its
        run has finished."""
        return BudgetUsage() if stored is None or stored.finished else stored

    def after_turn(
        self,
        agent: str,
        *,
        tokens: int,
        seconds: float,
        tool_successes: int,
        answer: str | None,
        hub: bool = False,
    ) -> BudgetUsage:
        """The usage after ``agent``'s turn.

        Args:
            agent: whose turn it was.
            tokens: tokens its model calls used.
            seconds: how long the turn took.
            tool_successes: its tool calls that succeeded.
            answer: the text it answered with, when its turn ended with an answer.
            hub: a supervisor's turn: it holds control between every worker, so its holding
                control is no revisit.
        """
        digest = None if answer is None else _digest(answer)
        progress = tool_successes > 0 or (digest is not None and digest not in self.answers)
        answers = (
            self.answers if digest is None or digest in self.answers else (*self.answers, digest)
        )
        if progress:
            holders: tuple[str, ...] = ()
            revisits = 0
        else:
            holders = self.holders if hub or agent in self.holders else (*self.holders, agent)
            revisits = self.revisits
        return dataclasses.replace(
            self,
            turns=self.turns + 1,
            tokens=self.tokens + tokens,
            seconds=self.seconds + seconds,
            revisits=revisits,
            holders=holders,
            answers=answers,
        )

    def ended(self, stop: BudgetStop | None = None) -> BudgetUsage:
        """The usage of a run that has ended (with ``stop`` when a limit ended it)."""
        return dataclasses.replace(self, stop=stop or self.stop, finished=True)


#: LangGraph's default recursion limit.
_DEFAULT_RECURSION_LIMIT = 25


def _digest(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode()).hexdigest()[:16]


@dataclass(frozen=True, slots=True)
class Budget:
    """Limits of one run of a multi-agent pattern (None: no limit).

    Attributes:
        max_turns: agent turns (each agent run until it answers or hands off).
        max_handoffs: handoffs.
        max_tokens: tokens of all model calls (checked between turns; the final answer is
            one more call).
        max_seconds: wall time spent in agent turns (checked between turns).
        max_revisits: revisits in a row without progress allowed (loop detection; see the
            module docs).
        prompt: the final-answer prompt when a limit ends the run (``{limit}`` is replaced
            by the limit in words).

    Raises:
        ConfigError: a limit below 1 (``max_revisits`` below 0), or a prompt without text.
    """

    max_turns: int | None = 25
    max_handoffs: int | None = 10
    max_tokens: int | None = None
    max_seconds: float | None = None
    max_revisits: int | None = 2
    prompt: str = BUDGET_PROMPT

    def __post_init__(self) -> None:
        for name in ("max_turns", "max_handoffs", "max_tokens", "max_seconds"):
            value = getattr(self, name)
            if value is not None and value <= 0:
                raise ConfigError(f"Budget.{name} must be positive or None, got {value}")
        if self.max_revisits is not None and self.max_revisits < 0:
            raise ConfigError(f"Budget.max_revisits must be >= 0 or None, got {self.max_revisits}")
        if not self.prompt.strip():
            raise ConfigError("Budget.prompt is empty; give the words that ask for the answer")

    def spent(self, usage: BudgetUsage) -> tuple[SpentLimit, str] | None:
        """The limit ``usage`` has reached that allows no further turn, if any."""
        if self.max_turns is not None and usage.turns >= self.max_turns:
            return "turns", f"{self.max_turns} agent turns"
        if self.max_tokens is not None and usage.tokens >= self.max_tokens:
            return "tokens", f"{self.max_tokens} tokens"
        if self.max_seconds is not None and usage.seconds >= self.max_seconds:
            return "seconds", f"{self.max_seconds:g} seconds"
        return None

    def admit(self, usage: BudgetUsage, source: str, target: str) -> BudgetUsage:
        """The usage after ``source`` hands off to ``target``: counted, or ended with a
        :class:`BudgetStop` (``usage.stop``) when a limit refuses the handoff."""
        revisit = target in usage.holders
        revisits = usage.revisits + 1 if revisit else 0
        counted = dataclasses.replace(usage, handoffs=usage.handoffs + 1, revisits=revisits)
        refused: tuple[BudgetLimit, str] | None = self.spent(usage)
        if (
            refused is None
            and self.max_handoffs is not None
            and counted.handoffs > self.max_handoffs
        ):
            refused = "handoffs", f"{self.max_handoffs} handoffs"
        if refused is None and self.max_revisits is not None and revisits > self.max_revisits:
            refused = (
                "loop",
                (f"control came back to {target} {revisits} times in a row with no progress"),
            )
        if refused is None:
            return counted
        limit, detail = refused
        return usage.ended(BudgetStop(limit, source, detail))

    def recursion_limit(self, *, steps_per_turn: int, extra: int, turns: int | None = None) -> int:
        """The graph recursion limit a pattern runs with, so that this budget, not the
        runtime's limit, ends its runs: enough super-steps for every turn the budget allows
        (``turns`` when the pattern bounds them itself), and never below LangGraph's default
        of 25. A budget without a turn or handoff limit keeps 25 (pass ``recursion_limit``
        in the run's config for longer runs)."""
        bound = self.max_turns
        if bound is None and self.max_handoffs is not None:
            bound = 2 * self.max_handoffs + 2  # a supervisor's turns around its handoffs
        if turns is not None:
            bound = turns if bound is None else min(bound, turns)
        if bound is None:
            return _DEFAULT_RECURSION_LIMIT
        return max(_DEFAULT_RECURSION_LIMIT, bound * steps_per_turn + extra)

    def final_prompt(self, stop: BudgetStop) -> str:
        """The final-answer prompt for a run ``stop`` ended."""
        return self.prompt.replace("{limit}", stop.detail)

    def refusal(self, stop: BudgetStop) -> str:
        """The result of a handoff call a limit refused."""
        return f"Not transferred: the team has reached its limit ({stop.detail})."
