"""hone objects returned by a LangChain tool, passed through LangChain unchanged.

LangChain turns what a tool returns into a ``ToolMessage`` (its text) unless the value is a
``ToolOutputMixin``; LangGraph's ``Command`` is one. hone's ``Command`` (and a list of
commands and messages a tool may answer with) cannot subclass it, since importing hone never
imports LangChain. So the function of a converted LangChain tool is wrapped: a hone object
it returns travels in a ``ToolOutputMixin`` carrier, and the caller takes it out after the
call.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

__all__ = ["carrying", "uncarried"]


@functools.cache
def _carrier() -> type:
    from langchain_core.messages.tool import ToolOutputMixin

    class Carried(ToolOutputMixin):
        """A hone value on its way through LangChain's tool call."""

        __slots__ = ("value",)

        def __init__(self, value: Any) -> None:
            self.value = value

    return Carried


def _is_hone(value: Any) -> bool:
    return type(value).__module__.split(".", 1)[0] == "hone"


def _carried(value: Any) -> Any:
    """``value`` in a carrier when it is a hone object (or a list holding one)."""
    if isinstance(value, _carrier()):
        return value
    if _is_hone(value) or (isinstance(value, list) and any(_is_hone(v) for v in value)):
        return _carrier()(value)
    return value


def uncarried(value: Any) -> Any:
    """What the tool returned, out of its carrier."""
    return getattr(value, "value", None) if isinstance(value, _carrier()) else value


def _wrap_sync(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    def run(*args: Any, **kwargs: Any) -> Any:
        return _carried(func(*args, **kwargs))

    return run


def _wrap_async(func: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(func)
    async def run(*args: Any, **kwargs: Any) -> Any:
        return _carried(await func(*args, **kwargs))

    return run


def carrying(lc_tool: Any) -> Any:
    """A copy of a LangChain tool whose hone return values come through: a function tool
    (``@tool``, ``StructuredTool``) with its functions wrapped, a ``BaseTool`` subclass
    with its ``_run`` / ``_arun`` wrapped on the copy (the tool itself is not changed)."""
    func = getattr(lc_tool, "func", None)
    coroutine = getattr(lc_tool, "coroutine", None)
    if func is None and coroutine is None:
        copy = lc_tool.model_copy()
        # Instance attributes win over the class's methods; pydantic's own __setattr__
        # would refuse a name it does not know.
        object.__setattr__(copy, "_run", _wrap_sync(lc_tool._run))
        object.__setattr__(copy, "_arun", _wrap_async(lc_tool._arun))
        return copy
    changes = {}
    if func is not None:
        changes["func"] = _wrap_sync(func)
    if coroutine is not None:
        changes["coroutine"] = _wrap_async(coroutine)
    return lc_tool.model_copy(update=changes)
