"""Lossless conversion between hone's messages and LangChain's.

hone's messages are the canonical type for hone's own backends and agent loop; LangChain's are
kept as given wherever a program puts them (graph state, reducers, checkpoints, tool nodes).
Where the two meet, :func:`to_langchain` and :func:`from_langchain` convert one message, and a
conversion there and back gives the original message back:

* hone → LangChain: ``reasoning`` goes to ``additional_kwargs["reasoning_content"]`` (the
  convention of LangChain's DeepSeek, xAI and vLLM integrations), tool calls whose arguments
  could not be decoded to ``invalid_tool_calls`` (with the undecodable text as their
  ``args``), ``is_error`` to ``status="error"``.
* LangChain → hone: fields hone has no place for (``additional_kwargs``,
  ``response_metadata``, ``usage_metadata``, ``artifact``, content blocks other than text and
  images) go to the hone message's ``extra`` and come back from there. LangChain's original
  content is used on the way back only while the hone content still matches it, so an edited
  hone message converts to its edited content.

Not round-tripped: the exact argument text (``ToolCall.raw_arguments``) of a call whose
arguments decoded (LangChain keeps only the decoded ``args``; hone re-encodes them),
``ChatMessage`` (converted by its role to the matching class),
``FunctionMessage`` (refused), the order of valid and invalid tool calls within one message
(LangChain keeps them in two lists), a tool call without an id (hone gives it one), and an
invalid tool call without a name or an error text (hone gives it ``""`` and a generic text).

langchain-core is imported only when a conversion to LangChain runs; importing this module
does not import it.
"""

from __future__ import annotations

import copy
import sys
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from hone._message_equality import register_foreign_equality
from hone.errors import ConfigError
from hone.messages import (
    AssistantMessage,
    AssistantMessageChunk,
    Content,
    ContentPart,
    ImagePart,
    ImageUrl,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
    new_id,
)

__all__ = [
    "REASONING_KEY",
    "HoneMessage",
    "content_from_langchain",
    "content_to_langchain",
    "from_langchain",
    "is_langchain_message",
    "is_langchain_remove",
    "langchain_messages_module",
    "to_langchain",
]

HoneMessage = SystemMessage | UserMessage | AssistantMessage | ToolMessage
#: ``additional_kwargs`` key of a LangChain AIMessage that holds hone's reasoning text.
REASONING_KEY = "reasoning_content"
_INSTALL = "install LangChain support with `pip install 'hone[langchain]'` (langchain-core)"


def _base_module() -> Any:
    return sys.modules.get("langchain_core.messages.base")


def is_langchain_message(value: object) -> bool:
    """Whether ``value`` is a LangChain message (chunks and ``RemoveMessage`` included).

    Never imports langchain-core: if it is not imported, nothing can be one of its messages.
    """
    base = _base_module()
    return base is not None and isinstance(value, base.BaseMessage)


def is_langchain_remove(value: object) -> bool:
    """Whether ``value`` is LangChain's ``RemoveMessage``."""
    return is_langchain_message(value) and getattr(value, "type", None) == "remove"


def langchain_messages_module() -> Any:
    """``langchain_core.messages``, imported on demand.

    Raises:
        ConfigError: langchain-core is not installed; the message says what to install.
    """
    try:
        import langchain_core.messages as lc
    except ImportError as exc:
        raise ConfigError(f"this needs LangChain's message classes: {_INSTALL}") from exc
    return lc


# -- content ---------------------------------------------------------------------------------


def _data_url(mime: Any, data: Any) -> str | None:
    if not isinstance(data, str):
        return None
    return f"data:{mime if isinstance(mime, str) else 'application/octet-stream'};base64,{data}"


def _image_url_of(block: Mapping[str, Any]) -> tuple[str, Any] | None:
    """The (url, detail) of a LangChain image block in any of its shapes, or None."""
    kind = block.get("type")
    if kind == "image_url":
        value = block.get("image_url")
        if isinstance(value, str):
            return value, None
        if isinstance(value, Mapping) and isinstance(value.get("url"), str):
            return value["url"], value.get("detail")
        return None
    if kind != "image":
        return None
    source = block.get("source")
    if isinstance(source, Mapping):  # Anthropic's shape
        if source.get("type") == "url" and isinstance(source.get("url"), str):
            return source["url"], None
        url = _data_url(source.get("media_type"), source.get("data"))
        return (url, None) if url else None
    if isinstance(block.get("url"), str):  # LangChain's standard blocks
        return block["url"], None
    url = _data_url(block.get("mime_type"), block.get("base64") or block.get("data"))
    return (url, None) if url else None


def _part_from_langchain(block: Any) -> ContentPart | None:
    if isinstance(block, str):
        return TextPart(text=block)
    if not isinstance(block, Mapping):
        return None
    if block.get("type") == "text" and isinstance(block.get("text"), str):
        return TextPart(text=block["text"])
    image = _image_url_of(block)
    if image is None:
        return None
    try:
        return ImagePart(image_url=ImageUrl(url=image[0], detail=image[1]))
    except ValidationError:
        return ImagePart(image_url=ImageUrl(url=image[0]))


def content_from_langchain(content: Any) -> Content:
    """hone content for LangChain content: strings stay, text and image blocks become parts,
    other blocks (audio, files, reasoning, provider tool blocks) are left out."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise ValueError(f"message content must be a string or a list, got {content!r}")
    parts = [_part_from_langchain(block) for block in content]
    return [p for p in parts if p is not None]


def content_to_langchain(content: Content) -> str | list[str | dict[str, Any]]:
    """LangChain content for hone content (OpenAI-shaped text and ``image_url`` blocks)."""
    if isinstance(content, str):
        return content
    return [part.model_dump(exclude_none=True) for part in content]


# -- LangChain → hone ------------------------------------------------------------------------


def _error_text(error: Any) -> str:
    return error if isinstance(error, str) else "the tool call could not be parsed"


def _tool_calls_from_langchain(message: Any) -> tuple[ToolCall, ...]:
    calls: list[ToolCall] = []
    for call in message.tool_calls:
        calls.append(
            ToolCall(
                id=call.get("id") or new_id("call_"),
                name=call["name"],
                arguments=dict(call.get("args") or {}),
            )
        )
    for bad in message.invalid_tool_calls:
        calls.append(
            ToolCall(
                id=bad.get("id") or new_id("call_"),
                name=bad.get("name") or "",
                raw_arguments=bad.get("args"),
                error=_error_text(bad.get("error")),
            )
        )
    return tuple(calls)


def _chat_role(message: Any) -> str:
    role = str(getattr(message, "role", ""))
    kinds = {"user": "human", "human": "human", "assistant": "ai", "ai": "ai"}
    kinds |= {"system": "system", "developer": "system"}
    if role not in kinds:
        raise ValueError(
            f"cannot convert a LangChain ChatMessage with role {role!r}; use one of "
            f"{', '.join(sorted(kinds))}"
        )
    return kinds[role]


def from_langchain(message: Any) -> HoneMessage:
    """The hone message for a LangChain message (a chunk becomes its whole message).

    A hone message is returned as it is.

    Raises:
        ValueError: not a chat message (``RemoveMessage``, ``FunctionMessage``, or an
            unknown ``ChatMessage`` role); the message names it.
    """
    if isinstance(message, SystemMessage | UserMessage | AssistantMessage | ToolMessage):
        return message
    if isinstance(message, AssistantMessageChunk):
        return message.to_message()
    if not is_langchain_message(message):
        raise ValueError(f"not a LangChain message: {type(message).__name__}")
    lc = langchain_messages_module()
    if isinstance(message, lc.BaseMessageChunk):
        message = lc.message_chunk_to_message(message)
    kind = message.type if message.type != "chat" else _chat_role(message)
    content = content_from_langchain(message.content)
    kwargs = copy.deepcopy(dict(message.additional_kwargs))
    extra: dict[str, Any] = {}
    if content_to_langchain(content) != message.content:
        extra["content"] = copy.deepcopy(message.content)
    if message.response_metadata:
        extra["response_metadata"] = copy.deepcopy(dict(message.response_metadata))
    common: dict[str, Any] = {"id": message.id, "name": message.name, "content": content}
    built: HoneMessage
    if kind == "human":
        built = UserMessage(**common)
    elif kind == "system":
        built = SystemMessage(**common)
    elif kind == "ai":
        reasoning = kwargs.pop(REASONING_KEY, None)
        if not isinstance(reasoning, str) and reasoning is not None:
            kwargs[REASONING_KEY], reasoning = reasoning, None  # not text: keep it as it was
        calls = _tool_calls_from_langchain(message)
        if getattr(message, "usage_metadata", None) is not None:
            extra["usage_metadata"] = copy.deepcopy(dict(message.usage_metadata))
        built = AssistantMessage(reasoning=reasoning, tool_calls=calls, **common)
    elif kind == "tool":
        if message.artifact is not None:
            extra["artifact"] = message.artifact
        built = ToolMessage(
            tool_call_id=message.tool_call_id, is_error=message.status == "error", **common
        )
    else:
        raise ValueError(
            f"cannot convert a LangChain {type(message).__name__} (type {message.type!r}) to a "
            "hone message; only human, system, ai and tool messages are chat messages"
        )
    if kwargs:
        extra["additional_kwargs"] = kwargs
    return built.model_copy(update={"extra": extra}) if extra else built


# -- hone → LangChain ------------------------------------------------------------------------


def _restored_content(message: HoneMessage) -> Any:
    extra = message.extra or {}
    if "content" in extra and content_from_langchain(extra["content"]) == message.content:
        return copy.deepcopy(extra["content"])
    return content_to_langchain(message.content)


def _ai_fields(message: AssistantMessage, kwargs: dict[str, Any]) -> dict[str, Any]:
    if message.reasoning is not None:
        kwargs[REASONING_KEY] = message.reasoning
    good = [c for c in message.tool_calls if c.error is None]
    bad = [c for c in message.tool_calls if c.error is not None]
    fields: dict[str, Any] = {
        "tool_calls": [
            {"name": c.name, "args": dict(c.arguments), "id": c.id, "type": "tool_call"}
            for c in good
        ],
        "invalid_tool_calls": [
            {
                "name": c.name,
                "args": c.raw_arguments,
                "id": c.id,
                "error": c.error,
                "type": "invalid_tool_call",
            }
            for c in bad
        ],
    }
    usage = (message.extra or {}).get("usage_metadata")
    if usage is not None:
        fields["usage_metadata"] = copy.deepcopy(usage)
    return fields


def to_langchain(message: Any) -> Any:
    """The LangChain message for a hone message (a LangChain message is returned as it is).

    Anything else message-like (an OpenAI dict, a ``(role, text)`` tuple, a string) goes
    through LangChain's own ``convert_to_messages``.

    Raises:
        ConfigError: langchain-core is not installed.
    """
    if is_langchain_message(message):
        return message
    lc = langchain_messages_module()
    if isinstance(message, AssistantMessageChunk):
        message = message.to_message()
    if not isinstance(message, SystemMessage | UserMessage | AssistantMessage | ToolMessage):
        return lc.convert_to_messages([message])[0]
    extra = message.extra or {}
    kwargs = copy.deepcopy(dict(extra.get("additional_kwargs") or {}))
    common: dict[str, Any] = {
        "content": _restored_content(message),
        "id": message.id,
        "name": message.name,
        "response_metadata": copy.deepcopy(dict(extra.get("response_metadata") or {})),
    }
    if isinstance(message, UserMessage):
        return lc.HumanMessage(additional_kwargs=kwargs, **common)
    if isinstance(message, SystemMessage):
        return lc.SystemMessage(additional_kwargs=kwargs, **common)
    if isinstance(message, AssistantMessage):
        fields = _ai_fields(message, kwargs)
        return lc.AIMessage(additional_kwargs=kwargs, **fields, **common)
    return lc.ToolMessage(
        tool_call_id=message.tool_call_id,
        status="error" if message.is_error else "success",
        artifact=extra.get("artifact"),
        additional_kwargs=kwargs,
        **common,
    )


def _equals_langchain(message: Any, other: object) -> bool | None:
    """Whether a hone message equals a LangChain message: the same message once converted."""
    if not is_langchain_message(other):
        return None
    return bool(to_langchain(message) == other)


register_foreign_equality(_equals_langchain)
