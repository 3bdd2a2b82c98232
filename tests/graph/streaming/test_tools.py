"""``run.tool_calls``: a handle per tool call, side by side with LangGraph's
``ToolCallTransformer``."""

import asyncio
from typing import Annotated, Any

import pytest
from typing_extensions import TypedDict

import hone.graph as hg
from hone.graph.prebuilt import ToolRuntime
from hone.graph.streaming import ToolCallStream, ToolCallTransformer

lc_messages = pytest.importorskip("langchain_core.messages")
lc_tools = pytest.importorskip("langchain_core.tools")
lg_graph = pytest.importorskip("langgraph.graph")
lg_prebuilt = pytest.importorskip("langgraph.prebuilt")


def _app(mod: Any, prebuilt: Any, runtime_cls: Any) -> Any:
    @lc_tools.tool
    def echo(text: str, runtime: runtime_cls) -> str:  # type: ignore[valid-type]
        """Echo the text in pieces."""
        for piece in text:
            runtime.emit_output_delta(piece)
        return text.upper()

    class S(TypedDict):
        messages: Annotated[list[Any], mod.add_messages]

    calls = [{"name": "echo", "args": {"text": "ab"}, "id": "tc1"}]
    g = mod.StateGraph(S)
    g.add_node("caller", lambda s: {"messages": [lc_messages.AIMessage("", tool_calls=calls)]})
    g.add_node("tools", prebuilt.ToolNode([echo]))
    g.add_edge(mod.START, "caller")
    g.add_edge("caller", "tools")
    return g.compile(transformers=[prebuilt.ToolCallTransformer])


def _read(run: Any) -> list[tuple[Any, ...]]:
    return [
        (
            c.tool_call_id,
            c.tool_name,
            c.input,
            list(c.output_deltas),
            c.output,
            c.error,
            c.completed,
        )
        for c in run.tool_calls
    ]


def test_tool_call_handles_match_langgraph() -> None:
    ours = _read(_app(hg, hg.prebuilt, ToolRuntime).stream_events({"messages": []}, version="v3"))
    theirs = _read(
        _app(lg_graph, lg_prebuilt, lg_prebuilt.ToolRuntime).stream_events(
            {"messages": []}, version="v3"
        )
    )
    assert ours == theirs == [("tc1", "echo", {"text": "ab"}, ["a", "b"], "AB", None, True)]
    assert hg.prebuilt.ToolCallTransformer is ToolCallTransformer


def test_async_tool_call_handles() -> None:
    async def main() -> list[Any]:
        run = await _app(hg, hg.prebuilt, ToolRuntime).astream_events(
            {"messages": []}, version="v3"
        )
        out = []
        async for call in run.tool_calls:
            assert isinstance(call, ToolCallStream)
            out.append(([d async for d in call], call.output))
        return out

    assert asyncio.run(main()) == [(["a", "b"], "AB")]


def test_unfinished_calls_end_with_the_run() -> None:
    transformer = ToolCallTransformer()
    transformer.init()
    started = {"event": "tool-started", "tool_call_id": "x", "tool_name": "t", "input": {}}
    transformer.process(
        {
            "type": "event",
            "method": "tools",
            "params": {"namespace": [], "timestamp": 0, "data": started},
        }
    )
    call = transformer._active["x"]
    transformer.fail(RuntimeError("run died"))
    assert call.completed and call.error == "run died" and "failed" in repr(call)
