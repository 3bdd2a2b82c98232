"""A tool's return value as LangGraph's ``ToolNode`` words it, for LangChain conversations:
text as it is, LangChain content blocks as they are, anything else as ``json.dumps`` writes
it (``ensure_ascii=False``, LangGraph's spacing). hone's own conversations keep hone's
wording (compact JSON, pydantic-aware; ``hone.tools``)."""

from __future__ import annotations

import json
from typing import Any

from hone.messages import ToolMessage

__all__ = ["langgraph_answer", "langgraph_content"]

#: The content blocks a LangChain ``ToolMessage`` carries as they are (langchain-core's list).
_BLOCK_TYPES = frozenset(
    {
        "text",
        "image_url",
        "image",
        "json",
        "search_result",
        "custom_tool_call_output",
        "document",
        "file",
    }
)


def _is_blocks(value: Any) -> bool:
    return isinstance(value, list) and all(
        isinstance(v, dict) and v.get("type") in _BLOCK_TYPES for v in value
    )


def langgraph_answer(value: Any, call_id: str, name: str) -> Any:
    """The LangChain ``ToolMessage`` LangGraph's ``ToolNode`` makes of ``value``; None
    when ``json`` cannot write it (hone's wording is used instead)."""
    if _is_blocks(value):
        from langchain_core.messages import ToolMessage as LangChainToolMessage

        return LangChainToolMessage(content=value, tool_call_id=call_id, name=name)
    text = value if isinstance(value, str) else _json_text(value)
    return None if text is None else ToolMessage(content=text, tool_call_id=call_id, name=name)


def langgraph_content(content: Any) -> Any:
    """A tool message's content as LangGraph's ``ToolNode`` leaves it: text and content
    blocks as they are, anything else (a list of strings, say) as JSON text."""
    if isinstance(content, str) or _is_blocks(content):
        return content
    text = _json_text(content)
    return str(content) if text is None else text


def _json_text(value: Any) -> str | None:
    """``value`` as LangGraph writes it (``json.dumps``, non-ASCII kept), or None."""
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return None
