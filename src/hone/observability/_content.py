"""hone messages in the shape of the GenAI conventions' ``gen_ai.input.messages`` /
``gen_ai.output.messages`` (a list of ``{"role", "parts": [...]}``; parts ``text``,
``reasoning``, ``tool_call``, ``tool_call_response``, ``uri`` and ``blob``).

Only built when content capture is on (see :func:`~hone.observability.configure_tracing`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hone.messages import AnyMessage, AssistantMessage, ImagePart, TextPart, ToolMessage

__all__ = ["input_messages", "output_messages", "tool_definitions"]


def _content_parts(content: str | Sequence[Any]) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "content": content}] if content else []
    parts: list[dict[str, Any]] = []
    for part in content:
        if isinstance(part, TextPart):
            parts.append({"type": "text", "content": part.text})
        elif isinstance(part, ImagePart):
            url = part.image_url.url
            if url.startswith("data:") and ";base64," in url:
                head, data = url.split(";base64,", 1)
                parts.append(
                    {"type": "blob", "modality": "image", "mime_type": head[5:], "content": data}
                )
            else:
                parts.append({"type": "uri", "modality": "image", "uri": url})
    return parts


def _parts(message: AnyMessage) -> list[dict[str, Any]]:
    if isinstance(message, ToolMessage):
        response = (
            message.content if isinstance(message.content, str) else _content_parts(message.content)
        )
        return [{"type": "tool_call_response", "id": message.tool_call_id, "response": response}]
    parts: list[dict[str, Any]] = []
    if isinstance(message, AssistantMessage) and message.reasoning:
        parts.append({"type": "reasoning", "content": message.reasoning})
    parts.extend(_content_parts(message.content))
    if isinstance(message, AssistantMessage):
        parts.extend(
            {"type": "tool_call", "id": call.id, "name": call.name, "arguments": call.arguments}
            for call in message.tool_calls
        )
    return parts


def _message(message: AnyMessage) -> dict[str, Any]:
    out: dict[str, Any] = {"role": message.role, "parts": _parts(message)}
    if message.name:
        out["name"] = message.name
    return out


def input_messages(messages: Sequence[AnyMessage]) -> list[dict[str, Any]]:
    """The conversation sent to a model, system messages included (they are part of the
    history, so the conventions put them here rather than in ``gen_ai.system_instructions``)."""
    return [_message(m) for m in messages]


def output_messages(message: AssistantMessage, finish_reason: str) -> list[dict[str, Any]]:
    """The reply a model gave, as its one output message."""
    return [{**_message(message), "finish_reason": finish_reason}]


def tool_definitions(tools: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
    """OpenAI-format tool schemas as the conventions' tool definitions."""
    out: list[dict[str, Any]] = []
    for spec in tools:
        function = spec.get("function", spec)
        entry: dict[str, Any] = {"type": spec.get("type", "function"), "name": function.get("name")}
        if function.get("description"):
            entry["description"] = function["description"]
        if function.get("parameters") is not None:
            entry["parameters"] = function["parameters"]
        out.append(entry)
    return out
