"""The public surface of hone.tools."""

from __future__ import annotations

import hone.tools


def test_all_is_exactly_the_public_surface() -> None:
    public = {name for name in vars(hone.tools) if not name.startswith("_")}
    assert sorted(hone.tools.__all__) == hone.tools.__all__
    assert set(hone.tools.__all__) == public
    assert {
        "ExecutionOptions",
        "RetryPolicy",
        "Tool",
        "ToolContext",
        "ToolRegistry",
        "aexecute_tool_call",
        "aexecute_tool_calls",
        "execute_tool_calls",
        "tool",
    } <= public


def test_async_twins_carry_the_a_prefix() -> None:
    """One naming scheme, as LangChain's: ``x`` is sync, ``ax`` is its async twin."""
    import inspect

    assert not inspect.iscoroutinefunction(hone.tools.execute_tool_calls)
    assert inspect.iscoroutinefunction(hone.tools.aexecute_tool_calls)
    assert inspect.iscoroutinefunction(hone.tools.aexecute_tool_call)
    assert not any(name.endswith("_sync") for name in hone.tools.__all__)
