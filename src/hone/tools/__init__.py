"""Typed tools for agents: define them from functions, collect them, and run model calls.

::

    from hone.tools import tool, ToolRegistry, aexecute_tool_calls

    @tool
    def add(a: int, b: int) -> int:
        '''Add two integers.

        Args:
            a: The first addend.
            b: The second addend.
        '''
        return a + b

    registry = ToolRegistry([add])
    messages = await aexecute_tool_calls(assistant_message.tool_calls, registry)

Model mistakes and tool failures come back as ``ToolMessage(is_error=True)``; definition
mistakes raise :class:`~hone.errors.ToolDefinitionError` when the tool is made.

LangChain tools (``BaseTool``, ``@langchain_core.tools.tool``) are accepted wherever hone's
are, and hone's tools read like LangChain's: ``tool.invoke({"a": 1})``,
``tool.invoke(tool_call)`` (a ``ToolMessage`` answering it), ``tool.args_schema``.
"""

from hone._retry import RetryPolicy
from hone.tools._context import ToolContext
from hone.tools._execute import (
    ErrorKind,
    ExecutionOptions,
    ToolGuard,
    ToolResult,
    aexecute_tool_call,
    aexecute_tool_calls,
    execute_tool_calls,
)
from hone.tools._registry import ToolLike, ToolRegistry
from hone.tools._tool import Tool, tool

__all__ = [
    "ErrorKind",
    "ExecutionOptions",
    "RetryPolicy",
    "Tool",
    "ToolContext",
    "ToolGuard",
    "ToolLike",
    "ToolRegistry",
    "ToolResult",
    "aexecute_tool_call",
    "aexecute_tool_calls",
    "execute_tool_calls",
    "tool",
]
