"""Context policies: what an agent loop sends the model each step, while the history it
keeps (and returns) stays whole. ``run_agent(..., options=AgentOptions(context=...))``."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, runtime_checkable

from hone.interop._model import ModelLike
from hone.memory._summary import SUMMARY_PROMPT, RunningSummary, asummarize_messages
from hone.memory._trim import CounterLike, as_hone, trim_messages
from hone.messages import AnyMessage
from hone.models._protocol import ModelBackend

__all__ = ["ContextPolicy", "SummaryPolicy", "TrimPolicy"]


@runtime_checkable
class ContextPolicy(Protocol):
    """Makes the messages one model call sees from the whole history.

    ``memory`` is a dict the loop keeps for the run (a policy's state between steps, such as
    a running summary); the history is never changed.
    """

    async def aview(
        self,
        messages: Sequence[AnyMessage],
        *,
        model: ModelBackend,
        tools: Sequence[Mapping[str, Any]],
        memory: dict[str, Any],
    ) -> list[AnyMessage]:
        """The messages to send."""
        ...


@dataclass(frozen=True, slots=True)
class TrimPolicy:
    """Send the newest whole turns that fit ``max_tokens`` (tool schemas counted), the system
    prompt always (see :func:`~hone.memory.trim_messages`).

    Attributes:
        max_tokens: the prompt budget.
        strategy: ``"last"`` (newest turns) or ``"first"``.
        start_on: drop turns until one of this type (``"human"``, ...).
        token_counter: how to count; None: the model's chat template, else the
            approximation.
    """

    max_tokens: int
    strategy: Literal["last", "first"] = "last"
    start_on: str | type | Sequence[str | type] | None = None
    token_counter: CounterLike | None = None

    async def aview(
        self,
        messages: Sequence[AnyMessage],
        *,
        model: ModelBackend,
        tools: Sequence[Mapping[str, Any]],
        memory: dict[str, Any],
    ) -> list[AnyMessage]:
        """The trimmed messages."""
        return trim_messages(
            messages,
            max_tokens=self.max_tokens,
            token_counter=model if self.token_counter is None else self.token_counter,
            strategy=self.strategy,
            start_on=self.start_on,
            tools=tools,
        )


@dataclass(frozen=True, slots=True)
class SummaryPolicy:
    """Send a running summary of older turns plus the newest turns (see
    :func:`~hone.memory.asummarize_messages`); the summary is kept in the run's memory.

    Attributes:
        max_tokens: the budget of what is sent (tool schemas not counted).
        max_tokens_before_summary: summarise once the unsummarised turns exceed this.
        max_summary_tokens: the longest summary.
        model: the model that writes summaries; None: the agent's model.
        token_counter: how to count; None: the counting model's chat template, else the
            approximation.
        prompt: the summarising instruction.
    """

    max_tokens: int
    max_tokens_before_summary: int | None = None
    max_summary_tokens: int = 256
    model: ModelLike | None = None
    token_counter: CounterLike | None = None
    prompt: str = SUMMARY_PROMPT

    async def aview(
        self,
        messages: Sequence[AnyMessage],
        *,
        model: ModelBackend,
        tools: Sequence[Mapping[str, Any]],
        memory: dict[str, Any],
    ) -> list[AnyMessage]:
        """The summarised view; the new summary goes to ``memory["running_summary"]``."""
        previous: RunningSummary | None = memory.get("running_summary")
        result = await asummarize_messages(
            messages,
            running_summary=previous,
            model=self.model if self.model is not None else model,
            max_tokens=self.max_tokens,
            max_tokens_before_summary=self.max_tokens_before_summary,
            max_summary_tokens=self.max_summary_tokens,
            token_counter=model if self.token_counter is None else self.token_counter,
            prompt=self.prompt,
        )
        if result.running_summary is not None:
            memory["running_summary"] = result.running_summary
        return as_hone(result.messages)
