"""The value every parser returns."""

from __future__ import annotations

from dataclasses import dataclass

from hone.messages import AssistantMessage, ToolCall

__all__ = ["ParsedOutput"]


@dataclass(frozen=True, slots=True)
class ParsedOutput:
    """A model's raw text, split into its parts.

    ``errors`` are problems phrased for the *model* (so the agent loop can show them and the
    model can retry); a parser never raises on any input string.

    ``truncated`` says the reply was cut off at the token limit (the caller told the parser
    so). A tool call left incomplete by the cut is then not repaired and run but reported in
    ``errors``; whole calls before the cut are kept, with an error noting the cut, so that a
    training reward can see it.
    """

    content: str = ""
    reasoning: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()
    #: The final answer, for protocols that mark one explicitly (JSON action, ReAct).
    final_answer: str | None = None
    errors: tuple[str, ...] = ()
    #: The reply was cut off at the token limit (``finish_reason == "length"``).
    truncated: bool = False

    def to_message(self) -> AssistantMessage:
        """The assistant message this output stands for."""
        content = self.final_answer if self.final_answer is not None else self.content
        return AssistantMessage(
            content=content, reasoning=self.reasoning, tool_calls=self.tool_calls
        )
