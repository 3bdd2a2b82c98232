"""ToolNode details LangChain's agents rely on: the sync interceptor in a sync run, a call
edited in place, LangChain tools whose injected parameters a dict schema leaves out or only
their name marks, and untracked state read live by tools run through ``Send``."""

from __future__ import annotations

from typing import Annotated, Any, NotRequired, TypedDict

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import tool as lc_tool

from hone.checkpoint import InMemorySaver
from hone.graph import START, MessagesState, Send, StateGraph, UntrackedValue
from hone.graph.prebuilt import InjectedState, InjectedStore, ToolNode, ToolRuntime
from hone.graph.prebuilt._tool_request import ToolCallWithContext
from hone.store import InMemoryStore


@lc_tool
def echo(text: str) -> str:
    """Echo the text."""
    return text


def _run(node: ToolNode, *calls: dict[str, Any], store: Any = None) -> list[Any]:
    graph = StateGraph(MessagesState).add_node("tools", node).add_edge(START, "tools")
    turn = AIMessage(content="", tool_calls=list(calls))
    out = graph.compile(store=store).invoke({"messages": [HumanMessage("go"), turn]})
    return list(out["messages"][2:])


def test_a_sync_run_calls_the_sync_interceptor() -> None:
    used: list[str] = []

    def wrap(request: Any, execute: Any) -> Any:
        used.append("sync")
        return execute(request)

    async def awrap(request: Any, execute: Any) -> Any:
        used.append("async")
        return await execute(request)

    node = ToolNode([echo], wrap_tool_call=wrap, awrap_tool_call=awrap)
    _run(node, {"name": "echo", "args": {"text": "a"}, "id": "1"})
    assert used == ["sync"]


def test_a_call_edited_in_place_runs_as_edited() -> None:
    def wrap(request: Any, execute: Any) -> Any:
        request.tool_call["args"]["text"] = "edited"
        return execute(request)

    [answer] = _run(
        ToolNode([echo], wrap_tool_call=wrap), {"name": "echo", "args": {"text": "a"}, "id": "1"}
    )
    assert answer.content == "edited"


def test_injected_parameters_beside_a_dict_schema_and_by_name() -> None:
    schema = {"type": "object", "properties": {"where": {"type": "string"}}, "required": ["where"]}

    @lc_tool(args_schema=schema)
    def weather(
        where: str,
        state: Annotated[Any, InjectedState],
        runtime: ToolRuntime,
        store: Annotated[Any, InjectedStore()],
    ) -> str:
        """The weather."""
        return f"{where}:{len(state['messages'])}:{runtime.tool_call_id}:{store is not None}"

    @lc_tool
    def named(x: int, runtime: Any) -> str:
        """Its runtime is injected by name."""
        return f"{x}:{type(runtime).__name__}:{runtime.tool_call_id}"

    node = ToolNode([weather, named])
    assert "runtime" not in node.tools.get("named").spec()["function"]["parameters"]["properties"]
    answers = _run(
        node,
        {"name": "weather", "args": {"where": "Oslo"}, "id": "w"},
        {"name": "named", "args": {"x": 3}, "id": "n"},
        store=InMemoryStore(),
    )
    assert [a.content for a in answers] == ["Oslo:2:w:True", "3:ToolRuntime:n"]


class _Live:
    """Something that must never be checkpointed."""

    def __reduce__(self) -> Any:
        raise TypeError("not serializable")


class _State(MessagesState):
    live: NotRequired[Annotated[Any, UntrackedValue]]


def test_tools_sent_the_state_read_untracked_values_live() -> None:
    seen: list[Any] = []

    @lc_tool
    def peek(state: Annotated[Any, InjectedState]) -> str:
        """Look at the live value."""
        seen.append(state.get("live"))
        return "ok"

    live = _Live()

    def setup(state: Any) -> dict[str, Any]:
        return {"live": live}

    def route(state: Any) -> list[Send]:
        turn = state["messages"][-1]
        sent = {k: v for k, v in state.items() if k != "live"}
        return [
            Send(
                "tools",
                ToolCallWithContext(__type="tool_call_with_context", tool_call=c, state=sent),
            )
            for c in turn.tool_calls
        ]

    graph = StateGraph(_State).add_node("setup", setup).add_node("tools", ToolNode([peek]))
    graph.add_edge(START, "setup").add_conditional_edges("setup", route, ["tools"])
    app = graph.compile(checkpointer=InMemorySaver())
    turn = AIMessage(content="", tool_calls=[{"name": "peek", "args": {}, "id": "p"}])
    out = app.invoke({"messages": [HumanMessage("go"), turn]}, {"configurable": {"thread_id": "t"}})
    assert seen == [live]
    assert out["messages"][-1].content == "ok"


@pytest.mark.parametrize("sync", [True, False])
def test_untracked_writes_are_not_saved(sync: bool) -> None:
    class S(TypedDict):
        live: NotRequired[Annotated[Any, UntrackedValue]]
        n: int

    graph = StateGraph(S).add_node("a", lambda s: {"live": _Live(), "n": 1}).add_edge(START, "a")
    app = graph.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    if sync:
        assert app.invoke({"n": 0}, config)["n"] == 1
    else:
        import asyncio

        assert asyncio.run(app.ainvoke({"n": 0}, config))["n"] == 1
