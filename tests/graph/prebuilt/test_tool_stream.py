"""``stream_mode="tools"``: a tool node's calls as LangGraph's tool-call lifecycle events,
side by side with LangGraph (LangChain tools) and with hone tools."""

import asyncio
from typing import Annotated, Any

import pytest
from typing_extensions import TypedDict

import hone.graph as hg
from hone.graph.prebuilt import ToolNode, ToolRuntime
from hone.messages import AssistantMessage, ToolCall
from hone.tools import tool as hone_tool

lc_messages = pytest.importorskip("langchain_core.messages")
lc_tools = pytest.importorskip("langchain_core.tools")
lg_graph = pytest.importorskip("langgraph.graph")
lg_prebuilt = pytest.importorskip("langgraph.prebuilt")


def _graph(mod: Any, prebuilt: Any, tools: list[Any], calls: list[dict[str, Any]]) -> Any:
    class S(TypedDict):
        messages: Annotated[list[Any], mod.add_messages]

    def caller(state: S) -> dict[str, Any]:
        return {"messages": [lc_messages.AIMessage("", tool_calls=calls)]}

    g = mod.StateGraph(S)
    g.add_node("caller", caller)
    g.add_node("tools", prebuilt.ToolNode(tools))
    g.add_edge(mod.START, "caller")
    g.add_edge("caller", "tools")
    return g.compile()


def _events(app: Any) -> list[tuple[Any, ...]]:
    out = []
    for ns, mode, payload in app.stream({"messages": []}, stream_mode=["tools"], subgraphs=True):
        assert mode == "tools"
        shown = {k: v for k, v in payload.items() if k != "output"}
        if "output" in payload:
            shown["output"] = payload["output"].content
        out.append((ns, tuple(sorted(shown.items()))))
    return out


def _tools(runtime_cls: Any) -> list[Any]:
    @lc_tools.tool
    def echo(text: str, runtime: runtime_cls) -> str:  # type: ignore[valid-type]
        """Echo the text in pieces."""
        for piece in ("a", "b"):
            runtime.emit_output_delta(piece)
        return f"echoed:{text}"

    @lc_tools.tool
    def broken(text: str) -> str:
        """Always fails."""
        raise lc_tools.ToolException("nope")

    broken.handle_tool_error = True
    return [echo, broken]


def test_lifecycle_events_match_langgraph() -> None:
    calls = [{"name": "echo", "args": {"text": "hi"}, "id": "tc1"}]
    ours = _events(_graph(hg, hg.prebuilt, _tools(ToolRuntime), calls))
    theirs = _events(_graph(lg_graph, lg_prebuilt, _tools(lg_prebuilt.ToolRuntime), calls))
    assert ours == theirs
    assert [dict(e[1])["event"] for e in ours] == [
        "tool-started",
        "tool-output-delta",
        "tool-output-delta",
        "tool-finished",
    ]


def test_a_failing_tool_reports_an_error() -> None:
    @hone_tool
    def fails(text: str) -> str:
        """Always fails."""
        raise ValueError("nope")

    g = hg.StateGraph(hg.MessagesState)
    call = ToolCall(id="c9", name="fails", arguments={"text": "x"})
    g.add_node("caller", lambda s: {"messages": [AssistantMessage(content="", tool_calls=[call])]})
    g.add_node("tools", ToolNode([fails]))
    g.add_edge(hg.START, "caller")
    g.add_edge("caller", "tools")
    events = list(g.compile().stream({"messages": [("user", "go")]}, stream_mode="tools"))
    assert [e["event"] for e in events] == ["tool-started", "tool-error"]
    assert events[1] == {"event": "tool-error", "tool_call_id": "c9", "message": "nope"}


def test_no_events_without_the_mode_and_delta_is_a_no_op() -> None:
    calls = [{"name": "echo", "args": {"text": "hi"}, "id": "tc1"}]
    app = _graph(hg, hg.prebuilt, _tools(ToolRuntime), calls)
    assert list(app.stream({"messages": []}, stream_mode="tools")) != []
    assert all(
        mode != "tools"
        for mode, _ in app.stream({"messages": []}, stream_mode=["values", "updates"])
    )
    out = app.invoke({"messages": []})
    assert out["messages"][-1].content == "echoed:hi"


def test_parallel_calls_keep_their_own_deltas() -> None:
    @hone_tool
    async def slow(tag: str, runtime: ToolRuntime) -> str:
        """Stream the tag twice."""
        for _ in range(2):
            runtime.emit_output_delta(tag)
            await asyncio.sleep(0)
        return tag

    g = hg.StateGraph(hg.MessagesState)
    calls = [ToolCall(id=f"c{i}", name="slow", arguments={"tag": t}) for i, t in enumerate("xy")]
    g.add_node("caller", lambda s: {"messages": [AssistantMessage(content="", tool_calls=calls)]})
    g.add_node("tools", ToolNode([slow]))
    g.add_edge(hg.START, "caller")
    g.add_edge("caller", "tools")

    async def main() -> list[Any]:
        return [
            p
            async for _, p in g.compile().astream(
                {"messages": [("user", "go")]}, stream_mode=["tools"]
            )
        ]

    deltas = [(e["tool_call_id"], e["delta"]) for e in asyncio.run(main()) if "delta" in e]
    assert sorted(deltas) == [("c0", "x"), ("c0", "x"), ("c1", "y"), ("c1", "y")]
