"""Channel semantics seen from a program: ``Overwrite`` replaces a reduced value instead of
reducing into it."""

from __future__ import annotations

import operator
from typing import Annotated, Any, TypedDict

import pytest

from hone.checkpoint import InMemorySaver
from hone.errors import InvalidUpdateError
from hone.graph import START, Command, Overwrite, StateGraph


class S(TypedDict):
    n: int
    log: Annotated[list[str], operator.add]


def _two(first: Any, second: Any, *, parallel: bool = False) -> Any:
    g = StateGraph(S).add_node("a", first).add_node("b", second).add_edge(START, "a")
    g.add_edge(START, "b") if parallel else g.add_edge("a", "b")
    return g.compile(checkpointer=InMemorySaver())


def _cfg() -> dict[str, Any]:
    return {"configurable": {"thread_id": "t"}}


def test_overwrite_replaces_the_reduced_value(driver: Any) -> None:
    graph = _two(lambda s: {"log": ["a"]}, lambda s: {"log": Overwrite(["only"])})
    assert driver.invoke(graph, {"n": 0, "log": ["x"]}, _cfg()) == {"n": 0, "log": ["only"]}
    # The next run reduces into the overwritten value again, until b overwrites it.
    assert graph.invoke({"n": 0, "log": ["y"]}, _cfg())["log"] == ["only"]
    _, after_a, *_ = graph.get_state_history(_cfg())
    assert after_a.next == ("b",) and after_a.values["log"] == ["only", "y", "a"]


def test_overwrite_in_a_command_and_in_dict_form() -> None:
    def reset(state: S) -> Command[Any]:
        return Command(update={"log": Overwrite([])})

    assert _two(lambda s: {"log": ["a"]}, reset).invoke({"n": 0}, _cfg())["log"] == []
    # LangGraph's serialised form {"__overwrite__": value} is understood too.
    graph = _two(lambda s: {"log": ["a"]}, lambda s: {"log": {"__overwrite__": ["d"]}})
    assert graph.invoke({"n": 0, "log": ["x"]}, _cfg())["log"] == ["d"]


def test_overwrite_wins_over_other_writes_of_its_step() -> None:
    graph = _two(lambda s: {"log": Overwrite(["a"])}, lambda s: {"log": ["b"]}, parallel=True)
    assert graph.invoke({"n": 0, "log": ["x"]}, _cfg())["log"] == ["a"]


def test_two_overwrites_in_one_step_are_an_error_naming_the_writers() -> None:
    graph = _two(
        lambda s: {"log": Overwrite(["a"])}, lambda s: {"log": Overwrite(["b"])}, parallel=True
    )
    with pytest.raises(
        InvalidUpdateError,
        match=r"^At key 'log': Can receive only one Overwrite value per super-step\. "
        r"\(written in one step by 'a', 'b'\)",
    ):
        graph.invoke({"n": 0, "log": ["x"]}, _cfg())
    [last, *_] = graph.get_state_history(_cfg())
    assert last.values == {"n": 0, "log": ["x"]} and last.next == ("a", "b")


def test_overwrite_in_the_input() -> None:
    graph = _two(lambda s: {"log": ["a"]}, lambda s: {"log": ["b"]})
    graph.invoke({"n": 0, "log": ["first"]}, _cfg())
    out = graph.invoke({"n": 0, "log": Overwrite(["fresh"])}, _cfg())
    assert out["log"] == ["fresh", "a", "b"]
