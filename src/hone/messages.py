"""Typed chat messages, and lossless conversion to and from the OpenAI chat format.

Messages are immutable pydantic models; change one with ``msg.model_copy(update=...)``.
Anything message-like (an OpenAI dict, a ``("user", "text")`` tuple, a plain string, a
message) becomes a message through :func:`to_message`.

They also read like LangChain's messages where the two agree: ``msg.type`` is ``"human"``,
``"ai"``, ``"system"`` or ``"tool"``, and a :class:`ToolCall` reads as LangChain's tool-call
dict (``call["name"]``, ``call["args"]``, ``call["id"]``), and a message equals the LangChain
message it converts to (``UserMessage(content="hi", id="1") == HumanMessage("hi", id="1")``;
with the LangChain message on the left the comparison is pydantic's, which is False for
another class). Conversion to and from LangChain's message classes lives in
:mod:`hone.interop`.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from typing import Annotated, Any, Literal, TypeAlias

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from hone import _message_equality

__all__ = [
    "AnyMessage",
    "AssistantMessage",
    "AssistantMessageChunk",
    "ContentPart",
    "ImagePart",
    "ImageUrl",
    "MessageLike",
    "SystemMessage",
    "TextPart",
    "ToolCall",
    "ToolMessage",
    "UserMessage",
    "dump_messages",
    "from_openai",
    "new_id",
    "text_of",
    "to_message",
    "to_messages",
    "to_openai",
]


def new_id(prefix: str = "") -> str:
    """A fresh random id (32 hex digits), optionally prefixed."""
    return f"{prefix}{uuid.uuid4().hex}"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class TextPart(_Frozen):
    """A text content part."""

    type: Literal["text"] = "text"
    text: str


class ImageUrl(_Frozen):
    """The URL (or data URI) of an image part."""

    url: str
    detail: Literal["auto", "low", "high"] | None = None


class ImagePart(_Frozen):
    """An image content part, by URL or data URI."""

    type: Literal["image_url"] = "image_url"
    image_url: ImageUrl


ContentPart: TypeAlias = Annotated[TextPart | ImagePart, Field(discriminator="type")]
Content: TypeAlias = str | list[ContentPart]
_TOOL_CALL_KEYS = ("name", "args", "id", "type")


class ToolCall(_Frozen):
    """One call of a tool requested by the model.

    ``arguments`` holds the decoded arguments. ``raw_arguments`` keeps the exact string the
    model or server produced, so conversion back to the OpenAI format is lossless; when that
    string could not be decoded, ``arguments`` is empty and ``error`` says why (the tool
    executor turns it into an error result the model sees).
    """

    id: str = Field(default_factory=lambda: new_id("call_"))
    name: str
    arguments: dict[str, Any] = Field(default_factory=dict)
    raw_arguments: str | None = None
    error: str | None = None

    def arguments_json(self) -> str:
        """The arguments as the JSON string OpenAI's format carries."""
        if self.raw_arguments is not None:
            return self.raw_arguments
        return json.dumps(self.arguments, ensure_ascii=False)

    # -- LangChain's tool-call dict, read-only: {"name", "args", "id", "type": "tool_call"} --

    @property
    def args(self) -> dict[str, Any]:
        """The decoded arguments (LangChain's name for :attr:`arguments`)."""
        return self.arguments

    @property
    def type(self) -> Literal["tool_call"]:
        """Always ``"tool_call"``, as in LangChain's tool-call dict."""
        return "tool_call"

    def keys(self) -> tuple[str, ...]:
        """The keys of LangChain's tool-call dict: name, args, id, type."""
        return _TOOL_CALL_KEYS

    def values(self) -> tuple[Any, ...]:
        """The values of :meth:`keys`, in order."""
        return tuple(self[key] for key in _TOOL_CALL_KEYS)

    def items(self) -> tuple[tuple[str, Any], ...]:
        """``(key, value)`` pairs of LangChain's tool-call dict."""
        return tuple((key, self[key]) for key in _TOOL_CALL_KEYS)

    def get(self, key: str, default: Any = None) -> Any:
        """``call[key]``, or ``default`` for a key LangChain's tool-call dict does not have."""
        return self[key] if key in _TOOL_CALL_KEYS else default

    def __getitem__(self, key: str) -> Any:
        if key not in _TOOL_CALL_KEYS:
            raise KeyError(f"{key!r}; a tool call has the keys {', '.join(_TOOL_CALL_KEYS)}")
        return self.arguments if key == "args" else getattr(self, key)

    def __contains__(self, key: object) -> bool:
        return key in _TOOL_CALL_KEYS

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Mapping):
            # LangChain's ToolCall is a plain dict: equal when it names the same call.
            return set(other) <= set(_TOOL_CALL_KEYS) and all(
                other.get(key, "tool_call" if key == "type" else None) == self[key]
                for key in _TOOL_CALL_KEYS
            )
        return super().__eq__(other)

    __hash__ = _Frozen.__hash__


class _Message(_Frozen):
    id: str | None = None
    name: str | None = None
    #: Data hone carries without reading it: fields of another message format that hone has
    #: no place for (LangChain's ``additional_kwargs``, ``response_metadata``,
    #: ``usage_metadata``, ``artifact``, content blocks hone does not model), kept so that a
    #: conversion there and back gives the original message. Never sent to a model.
    extra: dict[str, Any] | None = Field(default=None, repr=False)

    @property
    def text(self) -> str:
        """The message's text content, with parts joined."""
        return text_of(getattr(self, "content", ""))

    def __eq__(self, other: object) -> bool:
        if isinstance(other, BaseModel) and not isinstance(other, _Frozen):
            # Another library's message (LangChain's): equal when it is this one converted.
            verdict = _message_equality.foreign_equal(self, other)
            if verdict is not None:
                return verdict
        return super().__eq__(other)

    __hash__ = _Frozen.__hash__


class SystemMessage(_Message):
    """Instructions from the developer."""

    role: Literal["system"] = "system"
    content: Content

    @property
    def type(self) -> Literal["system"]:
        """LangChain's name for this kind of message."""
        return "system"


class UserMessage(_Message):
    """A message from the user."""

    role: Literal["user"] = "user"
    content: Content

    @property
    def type(self) -> Literal["human"]:
        """LangChain's name for this kind of message."""
        return "human"


class AssistantMessage(_Message):
    """A model turn: text, optional reasoning, optional tool calls."""

    role: Literal["assistant"] = "assistant"
    content: Content = ""
    reasoning: str | None = None
    tool_calls: tuple[ToolCall, ...] = ()

    @property
    def type(self) -> Literal["ai"]:
        """LangChain's name for this kind of message."""
        return "ai"


class ToolMessage(_Message):
    """The result of one tool call, answered by ``tool_call_id``."""

    role: Literal["tool"] = "tool"
    content: Content
    tool_call_id: str
    is_error: bool = False

    @property
    def type(self) -> Literal["tool"]:
        """LangChain's name for this kind of message."""
        return "tool"


class AssistantMessageChunk(_Frozen):
    """A piece of an assistant message while it streams (LangChain's ``AIMessageChunk``).

    Text and reasoning arrive as deltas; tool calls arrive whole, in the last chunk. Chunks add
    up with ``+``, and :meth:`to_message` turns the sum into the :class:`AssistantMessage`.
    """

    role: Literal["assistant"] = "assistant"
    #: The id of the message the chunk belongs to (every chunk of one message has it).
    id: str | None = None
    #: The text delta.
    content: str = ""
    #: The reasoning (thinking) delta.
    reasoning: str = ""
    tool_calls: tuple[ToolCall, ...] = ()

    @property
    def text(self) -> str:
        """The text delta."""
        return self.content

    @property
    def type(self) -> Literal["AIMessageChunk"]:
        """LangChain's name for this kind of message."""
        return "AIMessageChunk"

    def __add__(self, other: AssistantMessageChunk) -> AssistantMessageChunk:
        if not isinstance(other, AssistantMessageChunk):
            return NotImplemented
        return AssistantMessageChunk(
            id=self.id or other.id,
            content=self.content + other.content,
            reasoning=self.reasoning + other.reasoning,
            tool_calls=self.tool_calls + other.tool_calls,
        )

    def to_message(self) -> AssistantMessage:
        """The whole message these chunks add up to."""
        return AssistantMessage(
            id=self.id,
            content=self.content,
            reasoning=self.reasoning or None,
            tool_calls=self.tool_calls,
        )


AnyMessage: TypeAlias = Annotated[
    SystemMessage | UserMessage | AssistantMessage | ToolMessage, Field(discriminator="role")
]
_MESSAGE_TYPES: dict[str, type[_Message]] = {
    "system": SystemMessage,
    "developer": SystemMessage,
    "user": UserMessage,
    "human": UserMessage,
    "assistant": AssistantMessage,
    "ai": AssistantMessage,
    "tool": ToolMessage,
}
MessageLike: TypeAlias = (
    SystemMessage
    | UserMessage
    | AssistantMessage
    | ToolMessage
    | Mapping[str, Any]
    | tuple[str, str]
    | str
)


def text_of(content: Content) -> str:
    """The text of a content value: the string itself, or the text parts joined."""
    if isinstance(content, str):
        return content
    return "".join(p.text for p in content if isinstance(p, TextPart))


def _content_from_openai(value: Any) -> Content:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        parts: list[ContentPart] = []
        for raw in value:
            if isinstance(raw, str):
                parts.append(TextPart(text=raw))
            elif isinstance(raw, Mapping) and raw.get("type") == "text":
                parts.append(TextPart(text=str(raw.get("text", ""))))
            elif isinstance(raw, Mapping) and raw.get("type") == "image_url":
                url = raw.get("image_url")
                image = ImageUrl(url=url) if isinstance(url, str) else ImageUrl.model_validate(url)
                parts.append(ImagePart(image_url=image))
            else:
                raise ValueError(f"unsupported content part: {raw!r}")
        return parts
    raise ValueError(f"message content must be a string or a list of parts, got {value!r}")


def _tool_call_from_openai(raw: Mapping[str, Any]) -> ToolCall:
    function = raw.get("function", raw)
    name = function.get("name")
    if not isinstance(name, str):
        raise ValueError(f"tool call without a function name: {raw!r}")
    args = function.get("arguments", "{}")
    call_id = raw.get("id") or new_id("call_")
    if isinstance(args, Mapping):
        return ToolCall(id=call_id, name=name, arguments=dict(args))
    try:
        decoded = json.loads(args) if args else {}
    except (TypeError, json.JSONDecodeError) as exc:
        return ToolCall(id=call_id, name=name, raw_arguments=args, error=f"invalid JSON: {exc}")
    if not isinstance(decoded, dict):
        return ToolCall(
            id=call_id, name=name, raw_arguments=args, error="arguments must be a JSON object"
        )
    return ToolCall(id=call_id, name=name, arguments=decoded, raw_arguments=args)


def from_openai(
    data: Mapping[str, Any],
) -> SystemMessage | UserMessage | AssistantMessage | ToolMessage:
    """Build a message from an OpenAI chat-format dict.

    Raises:
        ValueError: the dict is not a chat message (unknown role, bad content).
    """
    role = data.get("role")
    cls = _MESSAGE_TYPES.get(role) if isinstance(role, str) else None
    if cls is None:
        raise ValueError(
            f"unknown message role {role!r}; expected one of system, user, assistant, tool"
        )
    common: dict[str, Any] = {"name": data.get("name"), "id": data.get("id")}
    content = _content_from_openai(data.get("content"))
    if cls is AssistantMessage:
        calls = tuple(_tool_call_from_openai(c) for c in data.get("tool_calls") or ())
        reasoning = data.get("reasoning_content", data.get("reasoning"))
        return AssistantMessage(content=content, reasoning=reasoning, tool_calls=calls, **common)
    if cls is ToolMessage:
        call_id = data.get("tool_call_id")
        if not isinstance(call_id, str):
            raise ValueError("a tool message needs a 'tool_call_id'")
        return ToolMessage(
            content=content,
            tool_call_id=call_id,
            is_error=bool(data.get("is_error", False)),
            **common,
        )
    if cls is SystemMessage:
        return SystemMessage(content=content, **common)
    return UserMessage(content=content, **common)


def _content_to_openai(content: Content) -> Any:
    if isinstance(content, str):
        return content
    return [part.model_dump(exclude_none=True) for part in content]


def to_openai(message: MessageLike) -> dict[str, Any]:
    """The OpenAI chat-format dict for a message (``reasoning`` goes to ``reasoning_content``)."""
    msg = to_message(message)
    out: dict[str, Any] = {"role": msg.role}
    if isinstance(msg, AssistantMessage):
        out["content"] = (
            _content_to_openai(msg.content) if (msg.content or not msg.tool_calls) else None
        )
        if msg.reasoning is not None:
            out["reasoning_content"] = msg.reasoning
        if msg.tool_calls:
            out["tool_calls"] = [
                {
                    "id": c.id,
                    "type": "function",
                    "function": {"name": c.name, "arguments": c.arguments_json()},
                }
                for c in msg.tool_calls
            ]
    else:
        out["content"] = _content_to_openai(msg.content)
    if isinstance(msg, ToolMessage):
        out["tool_call_id"] = msg.tool_call_id
    if msg.name is not None:
        out["name"] = msg.name
    return out


def to_message(value: MessageLike) -> SystemMessage | UserMessage | AssistantMessage | ToolMessage:
    """Coerce a message-like value: a message, an OpenAI dict, a ``(role, text)`` tuple (or a
    two-string list, what such a tuple becomes in JSON, as LangChain reads it) or a string (a
    user message).

    Raises:
        ValueError: the value is not message-like; the message names what is wrong.
    """
    if isinstance(value, SystemMessage | UserMessage | AssistantMessage | ToolMessage):
        return value
    if isinstance(value, str):
        return UserMessage(content=value)
    if isinstance(value, list | tuple):
        if len(value) != 2 or not all(isinstance(v, str) for v in value):
            raise ValueError(f"a message tuple must be (role, text), got {value!r}")
        return from_openai({"role": value[0], "content": value[1]})
    if isinstance(value, Mapping):
        try:
            return from_openai(value)
        except ValidationError as exc:
            raise ValueError(f"invalid message {dict(value)!r}: {exc}") from exc
    raise ValueError(f"cannot make a message from {type(value).__name__}: {value!r}")


def to_messages(
    values: Iterable[MessageLike] | MessageLike,
) -> list[SystemMessage | UserMessage | AssistantMessage | ToolMessage]:
    """Coerce one message-like value or a sequence of them to a list of messages."""
    if isinstance(values, str | tuple | Mapping | _Message):
        return [to_message(values)]  # type: ignore[arg-type]
    return [to_message(v) for v in values]


def dump_messages(messages: Sequence[MessageLike]) -> list[dict[str, Any]]:
    """OpenAI-format dicts for a sequence of messages."""
    return [to_openai(m) for m in messages]
