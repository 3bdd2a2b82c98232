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
        "execute_tool_calls",
        "execute_tool_calls_sync",
        "tool",
    } <= public
