"""LangChain tools in hone (registry, executor, ToolNode) and hone tools read like LangChain's
(invoke with a dict or a tool call, args_schema)."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

import pytest
from langchain_core import messages as lc
from langchain_core.tools import InjectedToolCallId, ToolException
from langchain_core.tools import tool as lc_tool
from pydantic import ValidationError

from hone.errors import ToolArgumentsError
from hone.graph.prebuilt import ToolNode, tools_condition, with_review
from hone.messages import AssistantMessage, ToolCall, ToolMessage
from hone.tools import ToolRegistry, execute_tool_calls, tool


@lc_tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


@lc_tool(response_format="content_and_artifact")
def fetch(url: str) -> tuple[str, dict[str, Any]]:
    """Fetch a page."""
    return f"page {url}", {"bytes": 3}


@lc_tool
def whoami(note: str, tool_call_id: Annotated[str, InjectedToolCallId]) -> str:
    """Say which call this is."""
    return f"{note} from {tool_call_id}"


@lc_tool
def fails(x: int) -> int:
    """Always fails."""
    raise ToolException("no luck")


@tool
def add(a: int, b: int = 2) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


def _turn(*calls: tuple[str, dict[str, Any], str]) -> lc.AIMessage:
    return lc.AIMessage(
        content="", tool_calls=[{"name": n, "args": a, "id": i} for n, a, i in calls]
    )


def test_langchain_tools_join_a_registry_with_their_schema() -> None:
    registry = ToolRegistry([multiply, whoami, add, multiply])
    assert registry.names() == ["multiply", "whoami", "add"]  # the same tool twice: once
    spec = registry["whoami"].spec()["function"]
    assert spec["description"] == "Say which call this is."
    assert list(spec["parameters"]["properties"]) == ["note"]  # the injected id is hidden


def test_executor_runs_langchain_tools_with_errors_as_values() -> None:
    calls = [
        ToolCall(id="c1", name="multiply", arguments={"a": 6, "b": 7}),
        ToolCall(id="c2", name="whoami", arguments={"note": "hi"}),
        ToolCall(id="c3", name="multiply", arguments={"a": "six"}),
        ToolCall(id="c4", name="fails", arguments={"x": 1}),
    ]
    out = execute_tool_calls(calls, [multiply, whoami, fails])
    assert [m.content for m in out[:2]] == ["42", "hi from c2"]
    assert out[2].is_error and "b: required field is missing" in str(out[2].content)
    assert out[3].is_error and "no luck" in str(out[3].content)


def test_executor_takes_langchain_tool_call_dicts() -> None:
    turn = _turn(("multiply", {"a": 3, "b": 3}, "c1"))
    turn.invalid_tool_calls = [
        {
            "name": "multiply",
            "args": "{oops",
            "id": "c2",
            "error": "bad",
            "type": "invalid_tool_call",
        }
    ]
    out = execute_tool_calls([*turn.tool_calls, *turn.invalid_tool_calls], [multiply])
    assert out[0] == ToolMessage(content="9", tool_call_id="c1")
    assert out[1].is_error and "could not be decoded" in str(out[1].content)


def test_tool_node_answers_a_langchain_turn_with_langchain_tool_messages() -> None:
    node = ToolNode([multiply, fetch, add])
    turn = _turn(
        ("multiply", {"a": 2, "b": 3}, "c1"), ("fetch", {"url": "u"}, "c2"), ("add", {"a": 1}, "c3")
    )
    out = node.invoke({"messages": [lc.HumanMessage("go"), turn]})["messages"]
    assert all(type(m) is lc.ToolMessage for m in out)
    assert [(m.name, m.content, m.tool_call_id) for m in out] == [
        ("multiply", "6", "c1"),
        ("fetch", "page u", "c2"),
        ("add", "3", "c3"),
    ]
    assert out[1].artifact == {"bytes": 3}  # the LangChain tool's own message, kept
    assert tools_condition({"messages": [turn]}) == "tools"
    assert tools_condition({"messages": [lc.AIMessage("done")]}) == "__end__"


def test_tool_node_answers_a_hone_turn_with_hone_tool_messages() -> None:
    node = ToolNode([multiply])
    turn = AssistantMessage(
        tool_calls=(ToolCall(id="c1", name="multiply", arguments={"a": 2, "b": 2}),)
    )
    out = node.invoke({"messages": [turn]})["messages"]
    # The LangChain tool's own answer, read as hone's (it names its tool).
    assert out == [ToolMessage(content="4", tool_call_id="c1", name="multiply")]


def test_langchain_tools_can_be_reviewed() -> None:
    reviewed = with_review(multiply)
    assert (
        reviewed.name == "multiply"
        and reviewed.target.spec() == ToolRegistry([multiply])["multiply"].spec()
    )


def test_hone_tools_invoke_like_langchain_tools() -> None:
    assert add.invoke({"a": 1}) == 3
    assert asyncio.run(add.ainvoke({"a": 1, "b": 5})) == 6

    @tool
    def shout(text: str) -> str:
        """Shout."""
        return text.upper()

    assert shout.invoke("hey") == "HEY"  # a tool with one parameter takes a string
    answer = add.invoke({"name": "add", "args": {"a": 4}, "id": "c9", "type": "tool_call"})
    assert answer == lc.ToolMessage(content="6", tool_call_id="c9", name="add")
    hone_answer = add.invoke(ToolCall(id="c8", name="add", arguments={"a": 1}))
    assert hone_answer == ToolMessage(content="3", tool_call_id="c8", name="add")
    with pytest.raises(ToolArgumentsError, match="one parameter"):
        add.invoke("x")
    with pytest.raises(ToolArgumentsError, match="a: "):
        add.invoke({"a": "x"})


def test_hone_tools_have_an_args_schema() -> None:
    schema = add.args_schema
    assert schema.model_json_schema() == add.parameters
    assert schema.model_validate({"a": 1}).model_dump() == {"a": 1, "b": 2}
    with pytest.raises(ValidationError, match="a: Input should be a valid integer"):
        schema.model_validate({"a": "x"})
    assert add.args_schema is schema  # built once
