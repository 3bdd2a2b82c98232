"""ToolNode's LangGraph surface: handle_tool_errors, tool-call interceptors, input shapes.

Programs written for LangGraph's ``ToolNode`` (LangChain messages) run on hone's and give
the same answers; the side-by-side tests run each program on both.
"""

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from langchain_core.messages import AIMessage
from langchain_core.messages import ToolMessage as LCToolMessage
from langchain_core.tools import tool as lc_tool

from hone.errors import ConfigError, InvalidUpdateError, ToolAnswerError, ToolInvocationError
from hone.graph import Command, MessagesState, StateGraph
from hone.graph.prebuilt import ToolCallRequest, ToolNode
from hone.messages import AssistantMessage, ToolCall, ToolMessage
from hone.tools import ToolContext

langgraph_prebuilt = pytest.importorskip("langgraph.prebuilt")


def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def fail(a: int) -> int:
    """Always fails."""
    raise ValueError(f"bad {a}")


def lc_turn(*calls: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    tool_calls = [{"name": n, "args": a, "id": f"c{i}"} for i, (n, a) in enumerate(calls)]
    return {"messages": [AIMessage("", tool_calls=tool_calls)]}


def hone_turn(*calls: tuple[str, dict[str, Any]]) -> dict[str, Any]:
    tool_calls = [ToolCall(id=f"c{i}", name=n, arguments=a) for i, (n, a) in enumerate(calls)]
    return {"messages": [AssistantMessage(content="", tool_calls=tool_calls)]}


def langgraph_node(tools: list[Any], **kwargs: Any) -> Any:
    """LangGraph's ToolNode, run inside a one-node graph (it needs the graph's runtime)."""
    from langgraph.graph import MessagesState as LGState
    from langgraph.graph import StateGraph as LGStateGraph

    graph = LGStateGraph(LGState)
    graph.add_node("tools", langgraph_prebuilt.ToolNode(tools, **kwargs))
    graph.set_entry_point("tools")
    return graph.compile()


def hone_node(tools: list[Any], **kwargs: Any) -> Any:
    graph = StateGraph(MessagesState)
    graph.add_node("tools", ToolNode(tools, **kwargs))
    graph.set_entry_point("tools")
    return graph.compile()


def answers(result: dict[str, Any]) -> list[tuple[str, Any, str]]:
    return [(m.tool_call_id, m.content, m.status) for m in result["messages"][1:]]


@pytest.mark.parametrize(
    "flag",
    [True, "oops", ValueError, (ValueError, KeyError)],
    ids=["true", "message", "type", "types"],
)
def test_handled_errors_read_as_langgraph_writes_them(flag: Any) -> None:
    state = lc_turn(("add", {"a": 1, "b": 2}), ("fail", {"a": 1}), ("nope", {}))
    expected = answers(langgraph_node([add, fail], handle_tool_errors=flag).invoke(state))
    assert answers(hone_node([add, fail], handle_tool_errors=flag).invoke(state)) == expected


def test_a_typed_handler_gets_only_the_exceptions_it_names() -> None:
    def on_value_error(error: ValueError) -> str:
        return f"handled {error}"

    def on_key_error(error: KeyError) -> str:
        return "never"

    state = lc_turn(("fail", {"a": 3}))
    out = hone_node([fail], handle_tool_errors=on_value_error).invoke(state)
    assert answers(out) == [("c0", "handled bad 3", "error")]
    with pytest.raises(ValueError, match="bad 3"):
        hone_node([fail], handle_tool_errors=on_key_error).invoke(state)


def test_a_handler_annotated_with_something_else_is_refused() -> None:
    def wrong(error: int) -> str:
        return ""

    with pytest.raises(ConfigError, match="annotate it with an exception type"):
        ToolNode([fail], handle_tool_errors=wrong)
    with pytest.raises(ConfigError, match="handle_tool_errors must be"):
        ToolNode([fail], handle_tool_errors=3)  # type: ignore[arg-type]


def test_langchain_default_is_langgraphs_bad_arguments_answered_exceptions_raised() -> None:
    bad_args = lc_turn(("add", {"a": 1}))
    ours = hone_node([add]).invoke(bad_args)["messages"][-1]
    theirs = langgraph_node([add]).invoke(bad_args)["messages"][-1]
    prefix = "Error invoking tool 'add' with kwargs {'a': 1} with error:\n"
    assert ours.content.startswith(prefix) and theirs.content.startswith(prefix)
    assert ours.status == theirs.status == "error"
    assert ours.content.endswith("Please fix the error and try again.")
    with pytest.raises(ValueError, match="bad 1"):
        hone_node([fail]).invoke(lc_turn(("fail", {"a": 1})))


def test_hone_default_keeps_every_failure_a_message() -> None:
    out = ToolNode([add, fail]).invoke(hone_turn(("fail", {"a": 1}), ("add", {"a": 1})))
    raised, bad_args = out["messages"]
    assert raised.is_error and "ValueError: bad 1" in raised.text
    assert bad_args.is_error and "invalid arguments" in bad_args.text


def test_false_raises_tool_invocation_error_for_bad_arguments() -> None:
    with pytest.raises(ToolInvocationError) as caught:
        ToolNode([add], handle_tool_errors=False).invoke(hone_turn(("add", {"a": 1})))
    assert caught.value.tool_kwargs == {"a": 1}
    assert "b: required field is missing" in caught.value.message
    assert caught.value.filtered_errors == [{"loc": ("b",), "msg": "required field is missing"}]


def test_unknown_tool_in_a_langchain_conversation_reads_as_langgraph_says() -> None:
    out = ToolNode([add]).invoke(lc_turn(("nope", {})))
    (message,) = out["messages"]
    assert message.content == "Error: nope is not a valid tool, try one of [add]."
    assert message.status == "error" and message.name == "nope"


def test_interceptor_can_modify_retry_and_short_circuit() -> None:
    seen: list[dict[str, Any]] = []

    def wrap(request: ToolCallRequest, execute: Callable[[ToolCallRequest], Any]) -> Any:
        seen.append(request.tool_call)
        if request.tool_call["name"] == "cached":
            return LCToolMessage("from cache", tool_call_id=request.tool_call["id"])
        doubled = {**request.tool_call["args"], "a": request.tool_call["args"]["a"] * 2}
        first = execute(request.override(tool_call={**request.tool_call, "args": doubled}))
        again = execute(request)  # execute may run any number of times
        assert isinstance(first, LCToolMessage) and isinstance(again, LCToolMessage)
        return first

    state = lc_turn(("add", {"a": 1, "b": 2}), ("cached", {}))
    program = [add]
    expected = answers(langgraph_node(program, wrap_tool_call=wrap).invoke(state))
    assert answers(hone_node(program, wrap_tool_call=wrap).invoke(state)) == expected
    assert expected == [("c0", "4", "success"), ("c1", "from cache", "success")]
    assert all(call["type"] == "tool_call" for call in seen)


async def test_async_interceptor_and_its_exceptions() -> None:
    async def wrap(
        request: ToolCallRequest, execute: Callable[[ToolCallRequest], Awaitable[Any]]
    ) -> Any:
        answer = await execute(request)
        if answer.content == "3":
            raise RuntimeError("rejected")
        return answer

    state = lc_turn(("add", {"a": 1, "b": 2}), ("add", {"a": 2, "b": 2}))
    out = await ToolNode([add], awrap_tool_call=wrap, handle_tool_errors=True).ainvoke(state)
    assert [m.content for m in out["messages"]] == [
        f"Error: {RuntimeError('rejected')!r}\n Please fix your mistakes.",
        "4",
    ]
    with pytest.raises(RuntimeError, match="rejected"):
        await ToolNode([add], awrap_tool_call=wrap).ainvoke(state)


def test_interceptor_returning_nothing_is_a_clear_error() -> None:
    def wrap(request: ToolCallRequest, execute: Callable[[ToolCallRequest], Any]) -> Any:
        return None

    with pytest.raises(InvalidUpdateError, match="returned None"):
        ToolNode([add], wrap_tool_call=wrap).invoke(lc_turn(("add", {"a": 1, "b": 1})))


def test_interceptor_can_answer_a_call_for_a_tool_the_node_lacks() -> None:
    @lc_tool
    def hidden(x: int) -> str:
        """Registered at call time."""
        return f"hidden {x}"

    def wrap(request: ToolCallRequest, execute: Callable[[ToolCallRequest], Any]) -> Any:
        if request.tool is None:
            return execute(request.override(tool=hidden))
        return execute(request)

    out = ToolNode([add], wrap_tool_call=wrap).invoke(lc_turn(("hidden", {"x": 5})))
    assert [m.content for m in out["messages"]] == ["hidden 5"]


def test_request_changes_warn_and_override_copies() -> None:
    request = ToolCallRequest(tool_call={"name": "a", "args": {}, "id": "1"}, tool=None, state={})
    changed = request.override(state={"x": 1})
    assert changed.state == {"x": 1} and request.state == {}
    with pytest.deprecated_call(match="override"):
        request.state = {"y": 2}
    assert request.state == {"y": 2}


def test_input_shapes_answer_as_langgraphs_do() -> None:
    node = ToolNode([add])
    turn = AIMessage("", tool_calls=[{"name": "add", "args": {"a": 1, "b": 1}, "id": "x"}])
    as_list = node.invoke([turn])
    assert isinstance(as_list, list) and as_list[0].content == "2"
    calls = [{"name": "add", "args": {"a": 2, "b": 2}, "id": "y", "type": "tool_call"}]
    assert node.invoke(calls)["messages"][0].content == "4"
    one = {
        "__type": "tool_call_with_context",
        "tool_call": calls[0],
        "state": {"messages": [turn]},
    }
    assert node.invoke(one)["messages"][0].content == "4"
    # Calls with one id answered in order, not merged.
    twice = node.invoke([calls[0], {**calls[0], "name": "nope"}])["messages"]
    assert [m.status for m in twice] == ["success", "error"]


def test_commands_and_messages_come_back_one_per_call_in_order() -> None:
    def go(target: str, ctx: ToolContext) -> Command[Any]:
        """Go somewhere."""
        return Command(
            goto=target,
            update={"messages": [ToolMessage(content="ok", tool_call_id=ctx.call_id)]},
        )

    out = ToolNode([add, go]).invoke(hone_turn(("add", {"a": 1, "b": 1}), ("go", {"target": "b"})))
    first, second = out
    assert first["messages"][0].text == "2"
    assert isinstance(second, Command) and second.goto == "b"


def _handoff_tools() -> list[Any]:
    from typing import Annotated

    from langchain_core.tools import InjectedToolCallId

    from hone.graph import Send

    @lc_tool
    def transfer(tool_call_id: Annotated[str, InjectedToolCallId]) -> Command[Any]:
        """Hand over to bob."""
        answer = LCToolMessage("Transferred", tool_call_id=tool_call_id)
        return Command(goto="bob", update={"messages": [answer]}, graph=Command.PARENT)

    @lc_tool
    def fan_out(tool_call_id: Annotated[str, InjectedToolCallId]) -> Command[Any]:
        """Send to alice."""
        answer = LCToolMessage("Sent", tool_call_id=tool_call_id)
        return Command(graph=Command.PARENT, goto=[Send("alice", {"messages": [answer]})])

    return [transfer, fan_out]


def test_langchain_tools_may_return_commands_named_after_the_tool() -> None:
    transfer, fan_out = _handoff_tools()
    out = ToolNode([transfer, fan_out]).invoke(
        lc_turn(("transfer", {}), ("fan_out", {}), ("fan_out", {}))
    )
    handoff, merged = out
    assert isinstance(handoff, Command) and handoff.goto == "bob"
    (answer,) = handoff.update["messages"]
    assert answer.name == "transfer" and answer.tool_call_id == "c0"
    # Commands to the parent that only send are merged into one, last (LangGraph's rule).
    assert merged.graph == Command.PARENT and [s.node for s in merged.goto] == ["alice", "alice"]


def test_a_tool_may_answer_with_a_list_of_commands_and_messages() -> None:
    def both(ctx: ToolContext) -> list[Any]:
        """Update and answer."""
        return [Command(update={"n": 1}), ToolMessage(content="done", tool_call_id=ctx.call_id)]

    def twice(ctx: ToolContext) -> list[Any]:
        """Answer twice."""
        answer = ToolMessage(content="done", tool_call_id=ctx.call_id)
        return [answer, Command(update={"messages": [answer]})]

    command, update = ToolNode([both]).invoke(hone_turn(("both", {})))
    assert command.update == {"n": 1} and update["messages"][0].text == "done"
    with pytest.raises(ToolAnswerError, match="2 messages bound to tool_call_id 'c0'"):
        ToolNode([twice]).invoke(hone_turn(("twice", {})))
    handled = ToolNode([twice], handle_tool_errors=True).invoke(hone_turn(("twice", {})))
    assert handled["messages"][0].is_error and "2 messages bound" in handled["messages"][0].text


def test_command_updates_must_have_the_shape_of_the_input() -> None:
    def listed(ctx: ToolContext) -> Command[Any]:
        """A list update."""
        return Command(update=[ToolMessage(content="x", tool_call_id=ctx.call_id)])

    with pytest.raises(ToolAnswerError, match="needs a dict update") as caught:
        ToolNode([listed]).invoke(hone_turn(("listed", {})))
    assert isinstance(caught.value, ValueError)  # as LangGraph raises it
    turn = hone_turn(("listed", {}))["messages"]
    (command,) = ToolNode([listed]).invoke(turn)
    assert command.update[0].name == "listed"


def test_a_command_clearing_the_history_needs_no_answer() -> None:
    from hone.graph import REMOVE_ALL_MESSAGES, RemoveMessage

    def clear() -> Command[Any]:
        """Forget everything."""
        return Command(update={"messages": [RemoveMessage(id=REMOVE_ALL_MESSAGES)]})

    (command,) = ToolNode([clear]).invoke(hone_turn(("clear", {})))
    assert command.update["messages"][0].id == REMOVE_ALL_MESSAGES


def test_a_langchain_tools_own_error_handling_and_wording_apply() -> None:
    from langchain_core.tools import ToolException

    @lc_tool
    def careful(x: int) -> list[str]:
        """Fails softly."""
        if x == 0:
            raise ToolException("zero")
        return ["星期一", "Friday"]

    careful.handle_tool_error = "handled by the tool"
    state = lc_turn(("careful", {"x": 0}), ("careful", {"x": 1}))
    expected = answers(langgraph_node([careful]).invoke(state))
    assert answers(hone_node([careful]).invoke(state)) == expected
    assert expected == [
        ("c0", "handled by the tool", "error"),
        ("c1", '["星期一", "Friday"]', "success"),
    ]
