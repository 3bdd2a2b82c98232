"""Replies of the chat surface in LangChain's shape, and the chunks of a streamed reply.

A streamed reply's chunks add up (``+``) to the whole message: text and reasoning deltas as
they come (whitespace the parser strips from the finished message held back), then one last
chunk with the rest, the tool calls and the metadata.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Mapping
from typing import Any, Literal, TypeAlias

from hone.interop._messages import (
    REASONING_KEY,
    from_langchain,
    is_langchain_message,
    langchain_messages_module,
    to_langchain,
)
from hone.messages import AssistantMessageChunk
from hone.models._protocol import Completion, StreamEvent

__all__ = ["ChunkMaker", "Family", "langchain_reply", "native_reply"]

Family: TypeAlias = Literal["hone", "langchain"]


def _reply_id() -> str:
    # LangChain marks ids it made up with "lc_" (a provider's own id wins when chunks merge).
    return f"lc_run--{uuid.uuid4()}"


def _metadata(completion: Completion) -> tuple[dict[str, Any], dict[str, int] | None]:
    meta = {"finish_reason": completion.finish_reason, "model_name": completion.model}
    usage = completion.usage
    tokens = None
    if usage.prompt_tokens or usage.completion_tokens:
        tokens = {
            "input_tokens": usage.prompt_tokens,
            "output_tokens": usage.completion_tokens,
            "total_tokens": usage.total_tokens,
        }
    return meta, tokens


def native_reply(completion: Completion) -> Any:
    """The LangChain message the backend returned for ``completion`` (its ``native``), while
    the completion's message is still the one it converts to; else None (no native reply, or
    a message changed since, as by a guardrail or a parser)."""
    native = completion.native
    if not is_langchain_message(native) or from_langchain(native) != completion.message:
        return None
    return native


def langchain_reply(completion: Completion, message_id: str | None = None) -> Any:
    """The LangChain ``AIMessage`` of a completion: the LangChain model's own reply, exactly
    as it returned it (see :func:`native_reply`), else the completion's message converted,
    with LangChain's metadata filled in where the message has none (finish reason, model
    name, token usage)."""
    native = native_reply(completion)
    if native is not None:
        if native.id is None and message_id is not None:
            return native.model_copy(update={"id": message_id})
        return native
    reply = to_langchain(completion.message)
    meta, tokens = _metadata(completion)
    reply.response_metadata = {**meta, **reply.response_metadata}
    if reply.usage_metadata is None and tokens is not None:
        reply.usage_metadata = tokens
    if reply.id is None:
        reply.id = message_id or _reply_id()
    return reply


class _Piece:
    """One streamed text (content or reasoning): what was sent, and whitespace held back.

    Parsers strip the text of the finished message, so leading whitespace is never sent and
    trailing whitespace waits until more text follows; the chunks then add up to the
    message's text, not to the raw stream."""

    def __init__(self) -> None:
        self.sent = ""
        self.held = ""

    def take(self, delta: str) -> str:
        text = self.held + delta
        if not self.sent:
            text = text.lstrip()
        body = text.rstrip()
        self.held = text[len(body) :]
        self.sent += body
        return body

    def rest(self, whole: str) -> str:
        """What of ``whole`` the stream has not carried yet."""
        return whole[len(self.sent) :] if whole.startswith(self.sent) else ""


class ChunkMaker:
    """Builds the chunks of one streamed reply, so they add up to the whole message."""

    def __init__(self, family: Family) -> None:
        self.family = family
        self.id = _reply_id() if family == "langchain" else uuid.uuid4().hex
        self.text = _Piece()
        self.reasoning = _Piece()

    def delta(self, event: StreamEvent) -> Any:
        """The chunk of a text or reasoning delta, or None when it carries nothing to send."""
        if event.kind == "text":
            content = self.text.take(event.delta)
            return self._chunk(content=content) if content else None
        reasoning = self.reasoning.take(event.delta)
        return self._chunk(reasoning=reasoning) if reasoning else None

    def _chunk(self, *, content: str = "", reasoning: str = "") -> Any:
        if self.family == "hone":
            return AssistantMessageChunk(id=self.id, content=content, reasoning=reasoning)
        lc = langchain_messages_module()
        kwargs = {REASONING_KEY: reasoning} if reasoning else {}
        return lc.AIMessageChunk(content=content, additional_kwargs=kwargs, id=self.id)

    def last(self, completion: Completion) -> Any:
        message = completion.message
        text = self.text.rest(message.text)
        reasoning = self.reasoning.rest(message.reasoning or "")
        if self.family == "hone":
            return AssistantMessageChunk(
                id=self.id,
                content=text,
                reasoning=reasoning,
                tool_calls=message.tool_calls,
            )
        lc = langchain_messages_module()
        whole = langchain_reply(completion, message.id or self.id)
        kwargs = {k: v for k, v in whole.additional_kwargs.items() if k != REASONING_KEY}
        if reasoning:
            kwargs[REASONING_KEY] = reasoning
        calls = [
            {"name": c["name"], "args": _json(c["args"]), "id": c["id"], "index": i}
            for i, c in enumerate(whole.tool_calls)
        ]
        calls += [
            {
                "name": c.get("name"),
                "args": c.get("args"),
                "id": c.get("id"),
                "index": len(calls) + i,
            }
            for i, c in enumerate(whole.invalid_tool_calls)
        ]
        return lc.AIMessageChunk(
            content=text,
            id=whole.id,
            additional_kwargs=kwargs,
            response_metadata=whole.response_metadata,
            usage_metadata=whole.usage_metadata,
            tool_call_chunks=calls,
            chunk_position="last",
        )


def _json(arguments: Mapping[str, Any]) -> str:
    return json.dumps(dict(arguments), ensure_ascii=False)
