"""What an RLM run returns: the answer, why it stopped, its steps and what it spent."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from hone.messages import AnyMessage

__all__ = [
    "RLMResult",
    "RLMStep",
    "RLMStopReason",
    "RLMUsage",
    "Refusal",
    "RefusalReason",
    "RoleUsage",
    "StepStatus",
]

#: Why a run stopped: the code set ``answer["ready"] = True``; or a budget ended it (root
#: turns, sub-calls, tokens, wall-clock time); or the root model's prompt outgrew its
#: context window.
RLMStopReason: TypeAlias = Literal[
    "answered", "iterations", "sub_calls", "tokens", "time", "context_overflow"
]
#: Which budget refused a sub-call: sub-calls spent, a prompt too long, tokens spent, the
#: deadline passed, or ``rlm_query`` at the depth limit.
RefusalReason: TypeAlias = Literal["sub_calls", "prompt_chars", "tokens", "time", "depth"]
#: How a turn's code went: a block's sandbox status, or no block was run because the reply
#: had none (``no_code``) or was cut off at the token limit before its block closed
#: (``cut_off``).
StepStatus: TypeAlias = Literal["ok", "error", "timeout", "crashed", "no_code", "cut_off"]


@dataclass(frozen=True, slots=True)
class Refusal:
    """A sub-call the budget refused (the code got an error with ``message``).

    Attributes:
        reason: which budget (see :data:`RefusalReason`).
        function: the function called (``llm_query``, ``llm_query_batched``, ``rlm_query``).
        depth: the recursion depth of the RLM whose code called it.
        message: what the code was told.
    """

    reason: RefusalReason
    function: str
    depth: int
    message: str


@dataclass(frozen=True, slots=True)
class RoleUsage:
    """Model calls of one role and their tokens."""

    calls: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens."""
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class RLMUsage:
    """What a run spent (the root and every sub-RLM together).

    Attributes:
        iterations: the root model's turns.
        sub_calls: ``llm_query`` prompts and ``rlm_query`` calls admitted.
        sub_rlms: sub-RLMs started by ``rlm_query``.
        max_depth_reached: the deepest sub-RLM's depth (0: none ran).
        roles: model calls and tokens per role.
        refusals: every refused sub-call, in order.
        seconds: wall-clock seconds of the run.
    """

    iterations: int = 0
    sub_calls: int = 0
    sub_rlms: int = 0
    max_depth_reached: int = 0
    roles: Mapping[str, RoleUsage] = field(default_factory=dict)
    refusals: tuple[Refusal, ...] = ()
    seconds: float = 0.0

    @property
    def total_tokens(self) -> int:
        """Prompt plus completion tokens of every call of every role."""
        return sum(u.total_tokens for u in self.roles.values())


@dataclass(frozen=True, slots=True)
class RLMStep:
    """One turn of the root model and the code block it wrote.

    Attributes:
        iteration: the turn's number, from 1.
        code: the block that ran (None when none did).
        status: how it went (see :data:`StepStatus`).
        observation: what the model was shown next (output cut to ``output_chars``, errors,
            notes).
        output_chars: characters the block printed in all.
        sub_calls: sub-calls admitted while it ran (sub-RLMs' included).
        seconds: wall-clock seconds of the block.
    """

    iteration: int
    code: str | None
    status: StepStatus
    observation: str
    output_chars: int = 0
    sub_calls: int = 0
    seconds: float = 0.0


@dataclass(frozen=True, slots=True)
class RLMResult:
    """The outcome of an RLM run.

    Attributes:
        answer: ``answer["content"]`` as the code left it (JSON; None when never set).
        ready: whether the code set ``answer["ready"] = True`` (False: a budget ended the
            run first, and ``answer`` is whatever was there).
        stop_reason: why the run stopped (see :data:`RLMStopReason`).
        messages: the root model's conversation: system prompt, task, its replies (each
            ending at its block's closing fence) and what each block printed.
        steps: each turn and its block.
        usage: what the run spent.
    """

    answer: Any
    ready: bool
    stop_reason: RLMStopReason
    messages: tuple[AnyMessage, ...]
    steps: tuple[RLMStep, ...]
    usage: RLMUsage
