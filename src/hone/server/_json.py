"""Values as the Agent Server API sends them: JSON, with messages in LangChain's dict shape.

A graph's state can hold anything its channels accept: hone messages, LangChain messages,
``Interrupt`` records, pydantic models, dataclasses, tuples, sets, datetimes. Clients of the
LangGraph API expect messages as LangChain-shaped dicts (``{"type": "ai", "content": ...,
"tool_calls": [...]}``); :func:`jsonable` gives every value that shape once, and
:func:`dumps` encodes it. A value with no JSON form is sent as its ``repr`` rather than
failing the run that produced it.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import enum
import json
import uuid
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from hone.messages import (
    AssistantMessage,
    AssistantMessageChunk,
    ImagePart,
    SystemMessage,
    TextPart,
    ToolMessage,
    UserMessage,
)

__all__ = ["dumps", "jsonable", "message_dict"]

HoneMessage = SystemMessage | UserMessage | AssistantMessage | ToolMessage


def _content(content: Any) -> Any:
    if isinstance(content, str):
        return content
    parts: list[Any] = []
    for part in content:
        if isinstance(part, TextPart):
            parts.append({"type": "text", "text": part.text})
        elif isinstance(part, ImagePart):
            parts.append({"type": "image_url", "image_url": part.image_url.model_dump()})
        else:
            parts.append(jsonable(part))
    return parts


def _tool_calls(calls: Any) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    valid: list[dict[str, Any]] = []
    invalid: list[dict[str, Any]] = []
    for call in calls:
        if call.error is not None:
            invalid.append(
                {
                    "name": call.name,
                    "args": call.raw_arguments,
                    "id": call.id,
                    "error": call.error,
                    "type": "invalid_tool_call",
                }
            )
        else:
            valid.append({"name": call.name, "args": call.args, "id": call.id, "type": "tool_call"})
    return valid, invalid


def message_dict(message: HoneMessage | AssistantMessageChunk, *, partial: bool = False) -> Any:
    """A hone message as LangChain's message dict (``type``, ``content``, ``id``, ...).

    The dict keeps hone's ``role`` too, so a client can send it back as input to a graph
    whose messages are hone's. A streamed chunk is ``"AIMessageChunk"``; ``partial`` gives
    the sum of a message's chunks so far as the ``"ai"`` message it is becoming.
    """
    if isinstance(message, AssistantMessageChunk):
        whole: dict[str, Any] = message_dict(message.to_message())
        if not partial:
            whole["type"] = "AIMessageChunk"
        return whole
    out: dict[str, Any] = {
        "type": message.type,
        "role": message.role,
        "content": _content(message.content),
        "id": message.id,
        "name": message.name,
        "additional_kwargs": {},
        "response_metadata": {},
    }
    if isinstance(message, AssistantMessage):
        valid, invalid = _tool_calls(message.tool_calls)
        out["tool_calls"] = valid
        out["invalid_tool_calls"] = invalid
        if message.reasoning is not None:
            out["additional_kwargs"] = {"reasoning_content": message.reasoning}
    if isinstance(message, ToolMessage):
        out["tool_call_id"] = message.tool_call_id
        out["status"] = "error" if message.is_error else "success"
    if message.extra:
        for key in ("additional_kwargs", "response_metadata"):
            extra = message.extra.get(key)
            if isinstance(extra, Mapping):
                out[key] = {**out[key], **jsonable(dict(extra))}
    return out


def _is_langchain_message(value: Any) -> bool:
    module = type(value).__module__
    return module.startswith("langchain_core.messages") and hasattr(value, "model_dump")


#: Containers nested deeper than this are sent as a marker string: JSON encoders (the
#: standard library's, pydantic's) give up on deep values, and a graph's state may hold one.
MAX_DEPTH = 100
_TOO_DEEP = f"<nested deeper than {MAX_DEPTH} levels>"


def jsonable(value: Any) -> Any:
    """``value`` as JSON-ready data (dicts with string keys, lists, scalars)."""
    return _jsonable(value, 0)


def _jsonable(value: Any, depth: int) -> Any:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value if value == value and value not in (float("inf"), float("-inf")) else None
    if depth >= MAX_DEPTH:
        return _TOO_DEEP
    inner = depth + 1
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v, inner) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v, inner) for v in value]
    if isinstance(value, HoneMessage | AssistantMessageChunk):
        return message_dict(value)
    if _is_langchain_message(value):
        return _jsonable(value.model_dump(), inner)
    if isinstance(value, BaseModel):
        return _jsonable(value.model_dump(mode="json"), inner)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name), inner) for f in dataclasses.fields(value)}
    if isinstance(value, dt.datetime | dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, enum.Enum):
        return _jsonable(value.value, inner)
    if isinstance(value, bytes | bytearray):
        return base64.b64encode(bytes(value)).decode("ascii")
    if hasattr(value, "_asdict"):
        return _jsonable(value._asdict(), inner)
    return repr(value)


def dumps(value: Any) -> str:
    """``value`` as compact JSON text (see :func:`jsonable`)."""
    return json.dumps(jsonable(value), separators=(",", ":"), ensure_ascii=False)
