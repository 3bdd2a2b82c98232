"""Tool-call spans: ``execute_tool {tool}`` with the GenAI attributes; failures as errors."""

from __future__ import annotations

import pytest
from opentelemetry.trace import SpanKind, StatusCode

from hone.checkpoint import InMemorySaver
from hone.graph import END, START, Command, MessagesState, StateGraph, interrupt
from hone.graph.prebuilt import ToolNode
from hone.messages import AssistantMessage, ToolCall
from hone.observability import configure_tracing
from hone.tools import ExecutionOptions, aexecute_tool_calls, tool

from ._helpers import Spans, attrs, json_attr


@tool
def add(a: int, b: int) -> int:
    """Add two numbers.

    Args:
        a: The first.
        b: The second.
    """
    return a + b


@tool
def explode() -> str:
    """Always fails."""
    raise RuntimeError("boom")


async def test_a_tool_call_is_an_execute_tool_span(spans: Spans) -> None:
    calls = [ToolCall(id="call_1", name="add", arguments={"a": 2, "b": 3})]
    (message,) = await aexecute_tool_calls(calls, [add])
    assert message.text == "5"
    span = spans.one("execute_tool add")
    assert span.kind is SpanKind.INTERNAL
    assert attrs(span) == {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": "add",
        "gen_ai.tool.call.id": "call_1",
        "gen_ai.tool.type": "function",
        "gen_ai.tool.description": attrs(span)["gen_ai.tool.description"],
        "hone.tool.attempts": 1,
    }
    assert attrs(span)["gen_ai.tool.description"].startswith("Add two numbers")
    assert span.status.status_code is StatusCode.UNSET


async def test_arguments_and_results_only_with_content_capture(spans: Spans) -> None:
    configure_tracing(tracer_provider=spans.provider, capture_content=True)
    await aexecute_tool_calls([ToolCall(id="c", name="add", arguments={"a": 1, "b": 1})], [add])
    span = spans.one("execute_tool add")
    assert json_attr(span, "gen_ai.tool.call.arguments") == {"a": 1, "b": 1}
    assert attrs(span)["gen_ai.tool.call.result"] == "2"


@pytest.mark.parametrize(
    ("call", "kind"),
    [
        (ToolCall(id="u", name="missing"), "unknown_tool"),
        (ToolCall(id="v", name="add", arguments={"a": "x"}), "invalid_arguments"),
        (ToolCall(id="w", name="explode"), "exception"),
    ],
)
async def test_a_failed_call_is_a_failed_span(spans: Spans, call: ToolCall, kind: str) -> None:
    (message,) = await aexecute_tool_calls([call], [add, explode])
    assert message.is_error  # still a value for the model
    span = spans.one(f"execute_tool {call.name}")
    assert attrs(span)["error.type"] == kind
    assert span.status.status_code is StatusCode.ERROR


def test_a_tool_node_nests_its_calls_under_the_node(spans: Spans) -> None:
    turn = AssistantMessage(
        tool_calls=(
            ToolCall(id="a", name="add", arguments={"a": 1, "b": 2}),
            ToolCall(id="b", name="add", arguments={"a": 3, "b": 4}),
        )
    )
    builder = StateGraph(MessagesState)
    builder.add_node("tools", ToolNode([add]))
    builder.add_edge(START, "tools")
    builder.add_edge("tools", END)
    out = builder.compile(name="g").invoke({"messages": [("user", "go"), turn]})
    assert [m.text for m in out["messages"][-2:]] == ["3", "7"]
    node = spans.one("tools")
    calls = spans.named("execute_tool add")
    assert sorted(attrs(c)["gen_ai.tool.call.id"] for c in calls) == ["a", "b"]
    assert all(spans.parent_of(c) is node for c in calls)


def test_an_interrupt_in_a_tool_pauses_its_span_without_failing_it(spans: Spans) -> None:
    @tool
    def ask(question: str) -> str:
        """Ask a person.

        Args:
            question: What to ask.
        """
        return str(interrupt(question))

    builder = StateGraph(MessagesState)
    builder.add_node("tools", ToolNode([ask]))
    builder.add_edge(START, "tools")
    builder.add_edge("tools", END)
    graph = builder.compile(InMemorySaver(), name="g")
    turn = AssistantMessage(
        tool_calls=(ToolCall(id="q", name="ask", arguments={"question": "ok?"}),)
    )
    config = {"configurable": {"thread_id": "t"}}
    graph.invoke({"messages": [("user", "go"), turn]}, config)
    paused = spans.one("execute_tool ask")
    assert paused.status.status_code is StatusCode.UNSET
    assert "error.type" not in attrs(paused)
    assert attrs(paused)["hone.graph.bubble_up"] == "GraphInterrupt"

    spans.exporter.clear()
    out = graph.invoke(Command(resume="yes"), config)
    assert out["messages"][-1].text == "yes"
    done = spans.one("execute_tool ask")
    assert done.status.status_code is StatusCode.UNSET and "hone.graph.bubble_up" not in attrs(done)


async def test_a_tool_that_raises_through_the_executor_fails_its_span(spans: Spans) -> None:
    """An exception the caller asked to propagate leaves the executor: the span records it."""
    with pytest.raises(RuntimeError, match="boom"):
        await aexecute_tool_calls(
            [ToolCall(id="x", name="explode")],
            [explode],
            execution=ExecutionOptions(propagate=(RuntimeError,)),
        )
    span = spans.one("execute_tool explode")
    assert span.status.status_code is StatusCode.ERROR
    assert attrs(span)["error.type"] == "RuntimeError"
