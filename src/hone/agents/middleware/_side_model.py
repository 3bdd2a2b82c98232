"""What the ready middleware share: the kind of a message of either family, and calls to a
middleware's own model (the summary, tool-selection and tool-emulation models).

A side model is either a LangChain chat model, called as LangChain's middleware calls it
(``invoke`` / ``ainvoke`` / ``with_structured_output``, tagged ``nostream`` and with the
middleware's ``lc_source`` so its reply stays out of the ``messages`` stream), or a hone
backend (a spec string is resolved to one), called with a :class:`~hone.models.ChatRequest`
through :func:`~hone.graph._model_stream.stream_model` so it is reported like any model call
(its tokens kept out of the ``messages`` stream: the reply is not the agent's).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from hone.agents.middleware._internal_call_transformer import internal_call_metadata
from hone.graph._constants import TAG_NOSTREAM
from hone.graph._model_stream import astream_model, stream_model
from hone.interop._model import is_langchain_chat_model, resolve_model
from hone.messages import AnyMessage, text_of
from hone.models import ChatRequest
from hone.models._protocol import ModelBackend

__all__ = [
    "acomplete_json",
    "acomplete_text",
    "complete_json",
    "complete_text",
    "internal_config",
    "kind_of",
    "side_model",
]

_KINDS = {
    "human": "user",
    "user": "user",
    "HumanMessageChunk": "user",
    "ai": "ai",
    "assistant": "ai",
    "AIMessageChunk": "ai",
    "tool": "tool",
    "ToolMessageChunk": "tool",
    "system": "system",
    "SystemMessageChunk": "system",
}


def kind_of(message: Any) -> str | None:
    """``"user"``, ``"ai"``, ``"tool"`` or ``"system"`` for a message of either family
    (LangChain's ``type``, hone's ``role``; chunks count as their message), else None."""
    for attribute in ("type", "role"):
        tag = getattr(message, attribute, None)
        if isinstance(tag, str) and tag in _KINDS:
            return _KINDS[tag]
    return None


def side_model(model: Any) -> Any:
    """A middleware's model as it is called: a LangChain chat model as it is, anything else
    (a hone backend, a model spec string) as a hone backend.

    Raises:
        ModelSpecError: a string that names no model.
        ConfigError: a value that is not a model.
    """
    if model is None or is_langchain_chat_model(model):
        return model
    return resolve_model(model)


def internal_config(source: str) -> dict[str, Any]:
    """The run config of a LangChain side-model call: tagged ``nostream`` (its reply is not
    the agent's), marked internal, and naming the middleware that made it (``lc_source``)."""
    return {"metadata": {"lc_source": source, **internal_call_metadata()}, "tags": [TAG_NOSTREAM]}


def _request(messages: Sequence[AnyMessage], schema: Mapping[str, Any] | None) -> ChatRequest:
    response_format = (
        None
        if schema is None
        else {
            "type": "json_schema",
            "json_schema": {"name": str(schema.get("title", "response")), "schema": dict(schema)},
        }
    )
    return ChatRequest(messages=tuple(messages), response_format=response_format)


def complete_text(model: ModelBackend, messages: Sequence[AnyMessage]) -> str:
    """The text a hone backend answers ``messages`` with."""
    return text_of(stream_model(model, _request(messages, None), stream=False).message.content)


async def acomplete_text(model: ModelBackend, messages: Sequence[AnyMessage]) -> str:
    """Async :func:`complete_text`."""
    completion = await astream_model(model, _request(messages, None), stream=False)
    return text_of(completion.message.content)


def _json_value(text: str) -> Any:
    """The JSON value of a structured reply, or None when it is not JSON (a malformed answer,
    which the caller handles like any other)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def complete_json(
    model: ModelBackend, messages: Sequence[AnyMessage], schema: Mapping[str, Any]
) -> Any:
    """The JSON value a hone backend answers ``messages`` with under the JSON ``schema``
    (sent as its ``response_format``), or None when the reply is not JSON."""
    completion = stream_model(model, _request(messages, schema), stream=False)
    return _json_value(text_of(completion.message.content))


async def acomplete_json(
    model: ModelBackend, messages: Sequence[AnyMessage], schema: Mapping[str, Any]
) -> Any:
    """Async :func:`complete_json`."""
    completion = await astream_model(model, _request(messages, schema), stream=False)
    return _json_value(text_of(completion.message.content))
