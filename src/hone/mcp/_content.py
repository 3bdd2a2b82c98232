"""Tool-result content both ways: MCP content blocks to what a hone ``ToolMessage`` carries,
and a hone tool's result to MCP content blocks.

hone messages carry text and images (:class:`~hone.messages.TextPart`,
:class:`~hone.messages.ImagePart` with a data URI), so those two map one to one. Text
resources become their text; what hone cannot show a model (audio, binary resources,
resource links) becomes a line of text saying what was there, never silently dropped.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Mapping, Sequence
from typing import Any

import mcp.types as mt
import pydantic_core
from pydantic import BaseModel

from hone.messages import ContentPart, ImagePart, ImageUrl, TextPart

__all__ = ["from_mcp_result", "structured_value", "to_mcp_content"]

_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+-]+/[\w.+-]+);base64,(?P<data>.*)$", re.DOTALL)


def _size(data: str) -> str:
    try:
        n = len(base64.b64decode(data, validate=False))
    except (binascii.Error, ValueError):
        n = len(data)
    return f"{n} bytes"


def _image(mime: str, data: str) -> ImagePart:
    return ImagePart(image_url=ImageUrl(url=f"data:{mime};base64,{data}"))


def _resource(block: mt.EmbeddedResource) -> ContentPart:
    res = block.resource
    if isinstance(res, mt.TextResourceContents):
        return TextPart(text=res.text)
    mime = res.mime_type or "application/octet-stream"
    if mime.startswith("image/"):
        return _image(mime, res.blob)
    return TextPart(text=f"[binary resource {res.uri} ({mime}, {_size(res.blob)}) not shown]")


def _part(block: Any) -> ContentPart:
    if isinstance(block, mt.TextContent):
        return TextPart(text=block.text)
    if isinstance(block, mt.ImageContent):
        return _image(block.mime_type, block.data)
    if isinstance(block, mt.AudioContent):
        return TextPart(text=f"[audio ({block.mime_type}, {_size(block.data)}) not shown]")
    if isinstance(block, mt.EmbeddedResource):
        return _resource(block)
    if isinstance(block, mt.ResourceLink):
        about = f": {block.description}" if block.description else ""
        return TextPart(text=f"[resource {block.name} at {block.uri}{about}]")
    return TextPart(text=f"[{getattr(block, 'type', type(block).__name__)} content not shown]")


def _join(parts: Sequence[ContentPart]) -> str | list[ContentPart]:
    if all(isinstance(p, TextPart) for p in parts):
        return "\n".join(p.text for p in parts if isinstance(p, TextPart))
    return list(parts)


def from_mcp_result(result: mt.CallToolResult) -> str | list[ContentPart]:
    """What the model sees of a tool call's result.

    Content blocks when there are any (all text: one string; images too: a list of parts);
    otherwise the structured content as JSON text; otherwise an empty string.
    """
    if result.content:
        return _join([_part(block) for block in result.content])
    if result.structured_content is not None:
        return pydantic_core.to_json(result.structured_content).decode()
    return ""


def _block(part: ContentPart) -> mt.ContentBlock:
    if isinstance(part, TextPart):
        return mt.TextContent(text=part.text)
    url = part.image_url.url
    match = _DATA_URI.match(url)
    if match is not None:
        return mt.ImageContent(data=match["data"], mime_type=match["mime"])
    return mt.ResourceLink(name="image", uri=url)


def to_mcp_content(content: str | Sequence[ContentPart]) -> list[mt.ContentBlock]:
    """MCP content blocks for what a hone tool result shows the model: text as text, images
    by data URI as image blocks, images by URL as resource links."""
    if isinstance(content, str):
        return [mt.TextContent(text=content)]
    return [_block(part) for part in content]


def structured_value(value: Any) -> dict[str, Any] | None:
    """A hone tool's return value as MCP ``structuredContent``: a dict or a pydantic model as
    a JSON object; None for anything else (MCP before 2026 allows only objects there)."""
    if isinstance(value, BaseModel):
        dumped: Any = value.model_dump(mode="json")
    elif isinstance(value, Mapping):
        try:
            dumped = pydantic_core.to_jsonable_python(value)
        except pydantic_core.PydanticSerializationError:
            return None
    else:
        return None
    return dumped if isinstance(dumped, dict) else None
