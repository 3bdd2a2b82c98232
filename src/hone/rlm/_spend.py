"""The live counters of one RLM run, shared by the root and every sub-RLM it starts: what
has been spent, what is refused, and the deadline."""

from __future__ import annotations

import time
from collections.abc import Sequence

from hone.models._protocol import Usage
from hone.rlm._config import RLMBudget
from hone.rlm._result import Refusal, RefusalReason, RLMStopReason, RLMUsage, RoleUsage

__all__ = ["Spend"]


class Spend:
    """What a run has spent against its :class:`RLMBudget`.

    Sub-calls are admitted (and counted) before they run; tokens are charged when a call
    returns, so calls already running when the token budget runs out finish and may overshoot
    it by their own size.
    """

    def __init__(self, budget: RLMBudget) -> None:
        self.budget = budget
        self.started = time.monotonic()
        self.deadline = None if budget.max_seconds is None else self.started + budget.max_seconds
        self.iterations = 0
        self.sub_calls = 0
        self.sub_rlms = 0
        self.max_depth_reached = 0
        self.refusals: list[Refusal] = []
        self._roles: dict[str, list[int]] = {}  # role -> [calls, prompt, completion]

    @property
    def tokens(self) -> int:
        """Prompt plus completion tokens charged so far."""
        return sum(p + c for _, p, c in self._roles.values())

    def remaining_seconds(self) -> float | None:
        """Seconds to the deadline (None: no deadline; may be negative)."""
        return None if self.deadline is None else self.deadline - time.monotonic()

    def exhausted(self) -> RLMStopReason | None:
        """The budget that forbids another model call now (tokens or time), if any."""
        if self.budget.max_tokens is not None and self.tokens >= self.budget.max_tokens:
            return "tokens"
        remaining = self.remaining_seconds()
        if remaining is not None and remaining <= 0:
            return "time"
        return None

    def charge(self, role: str, usage: Usage) -> None:
        """Count one model call of ``role``."""
        counts = self._roles.setdefault(role, [0, 0, 0])
        counts[0] += 1
        counts[1] += usage.prompt_tokens
        counts[2] += usage.completion_tokens

    def admit(self, function: str, prompts: Sequence[str], depth: int) -> Refusal | None:
        """Admit ``len(prompts)`` sub-calls (counting them), or say why not (recorded)."""
        refusal = self._check(function, prompts, depth)
        if refusal is not None:
            self.refusals.append(refusal)
            return refusal
        self.sub_calls += len(prompts)
        return None

    def refuse(self, reason: RefusalReason, function: str, depth: int, message: str) -> Refusal:
        """Record a refusal decided elsewhere (``rlm_query`` at the depth limit)."""
        refusal = Refusal(reason, function, depth, message)
        self.refusals.append(refusal)
        return refusal

    def _check(self, function: str, prompts: Sequence[str], depth: int) -> Refusal | None:
        budget = self.budget

        def refused(reason: RefusalReason, why: str) -> Refusal:
            return Refusal(reason, function, depth, f"{function} refused: {why}")

        left = budget.max_sub_calls - self.sub_calls
        if len(prompts) > left:
            asked = f"asked for {len(prompts)} sub-calls, " if len(prompts) > 1 else ""
            return refused(
                "sub_calls",
                f"{asked}{left} of the run's {budget.max_sub_calls} sub-calls are left; "
                "finish with the results you have and set answer",
            )
        for i, prompt in enumerate(prompts):
            if len(prompt) > budget.max_prompt_chars:
                which = f"prompt {i}" if len(prompts) > 1 else "the prompt"
                return refused(
                    "prompt_chars",
                    f"{which} has {len(prompt):,} characters, over the limit of "
                    f"{budget.max_prompt_chars:,} per sub-call; split it into smaller pieces",
                )
        stop = self.exhausted()
        if stop == "tokens":
            return refused(
                "tokens",
                f"the run's token budget ({budget.max_tokens:,}) is spent; set answer now",
            )
        if stop == "time":
            return refused(
                "time", f"the run's time budget ({budget.max_seconds:g}s) is spent; set answer now"
            )
        return None

    def usage(self) -> RLMUsage:
        """A snapshot of what was spent."""
        return RLMUsage(
            iterations=self.iterations,
            sub_calls=self.sub_calls,
            sub_rlms=self.sub_rlms,
            max_depth_reached=self.max_depth_reached,
            roles={role: RoleUsage(*counts) for role, counts in self._roles.items()},
            refusals=tuple(self.refusals),
            seconds=round(time.monotonic() - self.started, 6),
        )
