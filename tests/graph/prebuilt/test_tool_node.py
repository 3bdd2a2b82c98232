"""ToolNode: concurrent calls in call order, errors as messages, idempotency keys, Commands,
and tools_condition."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, TypedDict

import pytest

from hone.checkpoint import InMemorySaver
from hone.errors import GraphError, InvalidUpdateError
from hone.graph import END, START, Command, MessagesState, StateGraph, add_messages, interrupt
from hone.graph.prebuilt import ToolNode, tools_condition
from hone.messages import AnyMessage, AssistantMessage, ToolCall, ToolMessage
from hone.tools import ToolContext, tool


def turn(*calls: tuple[str, dict[str, Any]]) -> AssistantMessage:
    return AssistantMessage(
        tool_calls=tuple(
            ToolCall(id=f"call_{i}", name=name, arguments=args)
            for i, (name, args) in enumerate(calls)
        )
    )


def cfg(thread: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


async def test_calls_run_concurrently_and_answer_in_call_order() -> None:
    barrier = asyncio.Barrier(2)

    @tool
    async def wait(tag: str) -> str:
        """Wait until both calls are running."""
        await asyncio.wait_for(barrier.wait(), timeout=5)
        return f"done {tag}"

    node = ToolNode([wait])
    out = await node.ainvoke({"messages": [turn(("wait", {"tag": "a"}), ("wait", {"tag": "b"}))]})
    messages = out["messages"]
    assert [m.tool_call_id for m in messages] == ["call_0", "call_1"]
    assert [m.text for m in messages] == ["done a", "done b"]


def test_failures_become_error_messages() -> None:
    @tool
    def boom(x: int) -> int:
        """Fail."""
        raise ValueError("bad input")

    out = ToolNode([boom]).invoke(
        {"messages": [turn(("boom", {"x": 1}), ("nope", {}), ("boom", {"x": "zz"}))]}
    )
    raised, unknown, invalid = out["messages"]
    assert raised.is_error and "ValueError: bad input" in raised.text
    assert unknown.is_error and "unknown tool 'nope'" in unknown.text
    assert invalid.is_error and "invalid arguments" in invalid.text


def test_handle_tool_errors_false_propagates_tool_exceptions() -> None:
    @tool
    def boom(x: int) -> int:
        """Fail."""
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        ToolNode([boom], handle_tool_errors=False).invoke({"messages": [turn(("boom", {"x": 1}))]})


def test_no_tool_calls_gives_no_messages_and_missing_key_is_explained() -> None:
    node = ToolNode([])
    assert node.invoke({"messages": [AssistantMessage(content="hi")]}) == {"messages": []}
    with pytest.raises(GraphError, match="messages_key"):
        node.invoke({"other": []})


def test_tools_see_state_and_a_deterministic_idempotency_key_across_resume() -> None:
    seen: list[tuple[str, str, Any]] = []

    @tool
    def pay(amount: int, ctx: ToolContext) -> str:
        """Pay after confirmation."""
        seen.append((ctx.metadata["idempotency_key"], ctx.metadata["task_id"], ctx.state))
        if interrupt(f"pay {amount}?") != "yes":
            return "cancelled"
        return f"paid {amount}"

    def model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [turn(("pay", {"amount": 5}))]}

    graph = StateGraph(MessagesState).add_node("model", model).add_node(ToolNode([pay]))
    graph.add_edge(START, "model").add_edge("model", "tools").add_edge("tools", END)
    app = graph.compile(checkpointer=InMemorySaver())
    paused = app.invoke({"messages": [("user", "go")]}, cfg())
    assert paused["__interrupt__"][0].value == "pay 5?"
    task_id = app.get_state(cfg()).tasks[0].id
    final = app.invoke(Command(resume="yes"), cfg())
    assert final["messages"][-1].text == "paid 5"
    keys = {key for key, _, _ in seen}
    assert len(seen) == 2 and keys == {f"{task_id}:call_0"}
    assert {tid for _, tid, _ in seen} == {task_id}
    assert seen[0][2]["messages"][0].text == "go"


class Flagged(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]
    flag: str


def _flag_graph(returns_message: bool) -> Any:
    @tool
    def set_flag(value: str, ctx: ToolContext) -> Command[Any]:
        """Set the flag."""
        update: dict[str, Any] = {"flag": value}
        if returns_message:
            update["messages"] = [ToolMessage(content="flag set", tool_call_id=ctx.call_id)]
        return Command(update=update)

    @tool
    def echo(text: str) -> str:
        """Echo."""
        return text

    def model(state: Flagged) -> dict[str, Any]:
        return {"messages": [turn(("set_flag", {"value": "on"}), ("echo", {"text": "hi"}))]}

    graph = StateGraph(Flagged).add_node("model", model).add_node(ToolNode([set_flag, echo]))
    graph.add_edge(START, "model").add_edge("model", "tools").add_edge("tools", END)
    return graph.compile()


def test_tool_returning_command_updates_the_graph_state() -> None:
    out = _flag_graph(True).invoke({"messages": [("user", "x")], "flag": "off"})
    assert out["flag"] == "on"
    assert sorted(m.text for m in out["messages"] if isinstance(m, ToolMessage)) == [
        "flag set",
        "hi",
    ]


def test_command_without_tool_message_is_a_developer_error() -> None:
    with pytest.raises(InvalidUpdateError, match="no ToolMessage answering"):
        _flag_graph(False).invoke({"messages": [("user", "x")], "flag": "off"})


async def test_tool_node_in_async_graph() -> None:
    @tool
    def double(x: int) -> int:
        """Double."""
        return 2 * x

    def model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [turn(("double", {"x": 21}))]}

    graph = StateGraph(MessagesState).add_node("model", model).add_node(ToolNode([double]))
    graph.add_edge(START, "model").add_edge("model", "tools").add_edge("tools", END)
    out = await graph.compile().ainvoke({"messages": [("user", "x")]})
    assert out["messages"][-1].text == "42"


def test_tools_condition_routes_on_the_last_turn() -> None:
    assert tools_condition({"messages": [turn(("a", {}))]}) == "tools"
    assert tools_condition({"messages": [AssistantMessage(content="bye")]}) == END
    assert tools_condition({"messages": [{"role": "user", "content": "hi"}]}) == END
    assert tools_condition({"history": [turn(("a", {}))]}, messages_key="history") == "tools"


def _one_turn_graph(calls: AssistantMessage, tools: list[Any], saver: Any = None) -> Any:
    def model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [calls]}

    graph = StateGraph(MessagesState).add_node("model", model).add_node(ToolNode(tools))
    graph.add_edge(START, "model").add_edge("model", "tools").add_edge("tools", END)
    return graph.compile(checkpointer=saver or InMemorySaver())


def test_concurrent_interrupts_are_keyed_by_call_and_finished_calls_run_once(
    driver: Any,
) -> None:
    from collections import Counter

    from hone.graph._interrupt import keyed_interrupt_id

    runs: Counter[str] = Counter()

    @tool
    async def confirm(what: str) -> str:
        """Ask a human, twice for 'big'."""
        runs[what] += 1
        # The calls finish in an order unrelated to their call order.
        await asyncio.sleep(0.02 if what == "a" else 0)
        answer = interrupt(f"{what}?")
        if what == "big":
            answer += "/" + interrupt(f"{what} really?")
        return f"{what}: {answer}"

    @tool
    def quick(x: int) -> int:
        """Finish at once."""
        runs["quick"] += 1
        return x + 1

    calls = turn(("confirm", {"what": "a"}), ("quick", {"x": 1}), ("confirm", {"what": "big"}))
    app = _one_turn_graph(calls, [confirm, quick])
    paused = driver.invoke(app, {"messages": [("user", "go")]}, cfg())
    state = app.get_state(cfg())
    # The node is still to run, though it kept the finished call's result.
    assert state.next == ("tools",)
    task = state.tasks[0]
    ns = f"{task.name}:{task.id}"
    # One interrupt per waiting call, in call order, with ids from (task, call id, index).
    assert [i.value for i in paused["__interrupt__"]] == ["a?", "big?"]
    assert [i.id for i in paused["__interrupt__"]] == [
        keyed_interrupt_id(ns, "call_0", 0),
        keyed_interrupt_id(ns, "call_2", 0),
    ]
    ids = [i.id for i in paused["__interrupt__"]]
    again = driver.invoke(app, Command(resume=dict(zip(ids, ["yes", "ok"], strict=True))), cfg())
    [follow_up] = again["__interrupt__"]
    assert follow_up.id == keyed_interrupt_id(ns, "call_2", 1)
    out = driver.invoke(app, Command(resume="sure"), cfg())
    texts = [m.text for m in out["messages"] if isinstance(m, ToolMessage)]
    assert texts == ["a: yes", "2", "big: ok/sure"]
    # quick ran once; 'a' finished on the first resume and was not run again after it.
    assert runs == {"quick": 1, "a": 2, "big": 3}


def test_tool_command_to_parent_from_a_subgraph(driver: Any) -> None:
    @tool
    def handoff(to: str, ctx: ToolContext) -> Command[Any]:
        """Hand the conversation to another agent."""
        answer = ToolMessage(content=f"handed to {to}", tool_call_id=ctx.call_id)
        return Command(graph=Command.PARENT, goto=to, update={"messages": [answer]})

    @tool
    def echo(text: str) -> str:
        """Echo."""
        return text

    calls = turn(("echo", {"text": "hi"}), ("handoff", {"to": "billing"}))
    saver = InMemorySaver()

    def model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [calls]}

    inner = StateGraph(MessagesState).add_node("model", model).add_node(ToolNode([handoff, echo]))
    inner.add_edge(START, "model").add_edge("model", "tools").add_edge("tools", END)
    outer = StateGraph(MessagesState).add_node("agent", inner.compile())
    outer.add_node("billing", lambda s: {"messages": [AssistantMessage(content="billing here")]})
    outer.add_edge(START, "agent")
    app = outer.compile(checkpointer=saver)
    out = driver.invoke(app, {"messages": [("user", "x")]}, cfg())
    assert [m.text for m in out["messages"]][-2:] == ["handed to billing", "billing here"]
    # The parent command is not recorded as a failure of the subgraph's tools task.
    history = list(app.get_state_history(cfg()))
    sub_config = next(t.state for s in history for t in s.tasks if t.name == "agent")
    for snap in app.get_state_history(sub_config):
        assert all(t.error is None for t in snap.tasks)
