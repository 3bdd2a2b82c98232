"""``PIIMiddleware``: find personal data (emails, card numbers, IPs, MAC addresses, URLs, or a
custom type) in the conversation and block, redact, mask or hash it — in the user's last
message before the model sees it, in tool results, and in the model's replies.

Works on either message family: LangChain's (``HumanMessage``/``AIMessage``/``ToolMessage``)
and hone's (``UserMessage``/``AssistantMessage``/``ToolMessage``). A rewritten message keeps
its id, so the state's reducer replaces it in place.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, Literal

from hone.agents.middleware._base import AgentMiddleware, hook_config
from hone.agents.middleware._pii_stream import PIIStreamTransformer
from hone.agents.middleware._redaction import (
    Detector,
    PIIDetectionError,
    PIIMatch,
    RedactionRule,
    RedactionStrategy,
    ResolvedRedactionRule,
    apply_strategy,
    detect_credit_card,
    detect_email,
    detect_ip,
    detect_mac_address,
    detect_url,
)
from hone.agents.middleware._side_model import kind_of

__all__ = [
    "PIIDetectionError",
    "PIIMatch",
    "PIIMiddleware",
    "detect_credit_card",
    "detect_email",
    "detect_ip",
    "detect_mac_address",
    "detect_url",
]


class PIIMiddleware(AgentMiddleware[Any, Any, Any]):
    """Detects one type of personal data and handles it with a strategy.

    Args:
        pii_type: ``"email"``, ``"credit_card"``, ``"ip"``, ``"mac_address"``, ``"url"``, or
            a custom type name (then ``detector`` is required).
        strategy: ``"block"`` (raise :class:`PIIDetectionError`), ``"redact"``
            (``[REDACTED_EMAIL]``), ``"mask"`` (``****-****-****-1234``) or ``"hash"``
            (``<email_hash:1a2b3c4d>``).
        detector: a regex, or a function returning :class:`PIIMatch` dicts (a ``text`` key
            instead of ``value``, and no ``type``, are accepted); default the built-in one.
        apply_to_input: check the last user message before each model call.
        apply_to_output: check the last AI message after each model call.
        apply_to_tool_results: check the tool results after the last AI message, before
            each model call.

    The middleware's name is ``PIIMiddleware[<pii_type>]``, so one agent can hold several.
    With ``apply_to_output`` or ``apply_to_tool_results`` it also scrubs what the agent
    streams in event streaming (``stream_events(version="v3")``): tokens, tool calls and
    results, state snapshots (``transformers``, see :mod:`._pii_stream`).

    Raises:
        ValueError: an unknown built-in type and no detector.
    """

    def __init__(
        self,
        pii_type: Literal["email", "credit_card", "ip", "mac_address", "url"] | str,
        *,
        strategy: RedactionStrategy = "redact",
        detector: Detector | str | None = None,
        apply_to_input: bool = True,
        apply_to_output: bool = False,
        apply_to_tool_results: bool = False,
    ) -> None:
        self.apply_to_input = apply_to_input
        self.apply_to_output = apply_to_output
        self.apply_to_tool_results = apply_to_tool_results
        self._resolved_rule: ResolvedRedactionRule = RedactionRule(
            pii_type=pii_type, strategy=strategy, detector=detector
        ).resolve()
        self.pii_type = self._resolved_rule.pii_type
        self.strategy = self._resolved_rule.strategy
        self.detector = self._resolved_rule.detector
        if apply_to_output or apply_to_tool_results:
            self.transformers = (partial(PIIStreamTransformer, rule=self._resolved_rule),)

    @property
    def name(self) -> str:
        """``PIIMiddleware[<pii_type>]``."""
        return f"{type(self).__name__}[{self.pii_type}]"

    def _redacted_text(self, text: str) -> str | None:
        """``text`` with the rule applied, or None when nothing matched.

        Raises:
            PIIDetectionError: the ``block`` strategy and a match.
        """
        matches = self.detector(text)
        return apply_strategy(text, matches, self.strategy) if matches else None

    def _process_content(self, content: Any) -> tuple[Any, bool]:
        """``content`` with the rule applied to its text, its shape kept: a string, or a list
        of parts (strings, ``{"text": ...}`` blocks, hone's text parts) whose other parts
        pass untouched. Returns the content and whether anything changed.

        Raises:
            PIIDetectionError: the ``block`` strategy and a match.
        """
        if isinstance(content, str):
            redacted = self._redacted_text(content)
            return (content, False) if redacted is None else (redacted, True)
        if not isinstance(content, Sequence):
            return content, False
        parts: list[Any] = []
        changed = False
        for part in content:
            new = part
            if isinstance(part, str):
                text: Any = part
            elif isinstance(part, Mapping):
                text = part.get("text")
            else:
                text = (
                    getattr(part, "text", None) if getattr(part, "type", None) == "text" else None
                )
            if isinstance(text, str) and (redacted := self._redacted_text(text)) is not None:
                if isinstance(part, str):
                    new = redacted
                elif isinstance(part, Mapping):
                    new = {**part, "text": redacted}
                else:
                    new = part.model_copy(update={"text": redacted})
                changed = True
            parts.append(new)
        return (parts, True) if changed else (content, False)

    def _rewritten(self, message: Any) -> Any | None:
        """``message`` with its content processed, or None when it is unchanged."""
        if not message.content:
            return None
        content, changed = self._process_content(message.content)
        return message.model_copy(update={"content": content}) if changed else None

    @hook_config(can_jump_to=["end"])
    def before_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Process the last user message (``apply_to_input``) and the tool results after the
        last AI message (``apply_to_tool_results``).

        Raises:
            PIIDetectionError: the ``block`` strategy and a match.
        """
        if not (self.apply_to_input or self.apply_to_tool_results):
            return None
        messages = list(state["messages"])
        if not messages:
            return None
        kinds = [kind_of(m) for m in messages]
        updated = list(messages)
        changed = False
        if self.apply_to_input and "user" in kinds:
            index = len(kinds) - 1 - kinds[::-1].index("user")
            new = self._rewritten(messages[index])
            if new is not None:
                updated[index], changed = new, True
        if self.apply_to_tool_results and "ai" in kinds:
            last_ai = len(kinds) - 1 - kinds[::-1].index("ai")
            for index in range(last_ai + 1, len(messages)):
                if kinds[index] != "tool":
                    continue
                new = self._rewritten(messages[index])
                if new is not None:
                    updated[index], changed = new, True
        return {"messages": updated} if changed else None

    @hook_config(can_jump_to=["end"])
    async def abefore_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Async :meth:`before_model`."""
        return self.before_model(state, runtime)

    def after_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Process the last AI message (``apply_to_output``).

        Raises:
            PIIDetectionError: the ``block`` strategy and a match.
        """
        if not self.apply_to_output:
            return None
        messages = list(state["messages"])
        kinds = [kind_of(m) for m in messages]
        if "ai" not in kinds:
            return None
        index = len(kinds) - 1 - kinds[::-1].index("ai")
        new = self._rewritten(messages[index])
        if new is None:
            return None
        messages[index] = new
        return {"messages": messages}

    async def aafter_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Async :meth:`after_model`."""
        return self.after_model(state, runtime)
