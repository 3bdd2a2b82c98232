"""A tool's return value as LangGraph's ``ToolNode`` words it, for LangChain conversations:
text as it is, LangChain content blocks as they are, anything else as ``json.dumps`` writes
it (``ensure_ascii=False``, LangGraph's spacing). hone's own conversations keep hone's
wording (compact JSON, pydantic-aware; ``hone.tools``)."""

from __future__ import annotations

import json
from typing import Any

from hone.messages import ToolMessage

__all__ = ["langgraph_answer"]

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
    if isinstance(value, str):
        return ToolMessage(content=value, tool_call_id=call_id, name=name)
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return None
    return ToolMessage(content=text, tool_call_id=call_id, name=name)
