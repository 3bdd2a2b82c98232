"""hone objects returned by LangChain tools come through LangChain's output wrapping."""

from typing import Any

import pytest

pytest.importorskip("langchain_core")

from langchain_core.tools import BaseTool, tool

from hone.graph import Command
from hone.tools._carry import carrying, uncarried


def _call(name: str) -> dict[str, Any]:
    return {"type": "tool_call", "name": name, "args": {}, "id": "c1"}


def test_a_function_tool_returns_hone_objects_unchanged_and_is_not_modified() -> None:
    @tool
    def go() -> Command[Any]:
        """Go."""
        return Command(goto="b")

    original = go.func
    assert uncarried(carrying(go).invoke(_call("go"))) == Command(goto="b")
    assert go.func is original  # the tool itself is not changed
    # Without the carrier LangChain wraps the command's text in a message.
    assert go.invoke(_call("go")).type == "tool"


async def test_a_tool_class_with_run_methods_is_carried_too() -> None:
    class Go(BaseTool):
        name: str = "go"
        description: str = "Go."

        def _run(self) -> Any:
            return [Command(goto="b")]

    carried = carrying(Go())
    assert uncarried(carried.invoke(_call("go"))) == [Command(goto="b")]
    assert uncarried(await carried.ainvoke(_call("go"))) == [Command(goto="b")]


def test_other_values_are_left_to_langchain() -> None:
    @tool
    def text() -> str:
        """Text."""
        return "hi"

    answer = uncarried(carrying(text).invoke(_call("text")))
    assert answer.type == "tool" and answer.content == "hi"
