"""compile() raises ``GraphValidationError`` (a ``ValueError``) with LangGraph's message
exactly where LangGraph raises, and warns with ``GraphWarning`` where LangGraph compiles a
graph that looks mistaken."""

import operator
import warnings
from typing import Annotated, Literal, TypedDict

import pytest

from hone.errors import GraphRecursionError, GraphValidationError, GraphWarning
from hone.graph import END, START, Command, StateGraph


class Counter(TypedDict):
    n: int
    log: Annotated[list[str], operator.add]


def _noop(state: Counter) -> dict[str, int]:
    return {}


def test_unknown_edge_target() -> None:
    g = StateGraph(Counter).add_node("a", _noop).add_edge(START, "a").add_edge("a", "b")
    with pytest.raises(GraphValidationError, match=r"^Found edge ending at unknown node `b`$"):
        g.compile()
    with pytest.raises(ValueError):  # LangGraph raises ValueError: so does hone's error
        g.compile()


def test_no_entry_point() -> None:
    g = StateGraph(Counter).add_node("a", _noop).add_edge("a", END)
    with pytest.raises(GraphValidationError, match=r"^Graph must have an entrypoint"):
        g.compile()


def test_duplicate_and_reserved_names() -> None:
    g = StateGraph(Counter).add_node("a", _noop)
    with pytest.raises(GraphValidationError, match=r"^Node `a` already present\.$"):
        g.add_node("a", _noop)
    with pytest.raises(GraphValidationError, match=r"^Node `__end__` is reserved\.$"):
        g.add_node(END, _noop)
    with pytest.raises(GraphValidationError, match=r"^Node `__start__` is reserved\.$"):
        g.add_node(START, _noop)
    with pytest.raises(GraphValidationError, match=r"^':' is a reserved character"):
        g.add_node("x:y", _noop)
    with pytest.raises(GraphValidationError, match=r"^'\|' is a reserved character"):
        g.add_node("x|y", _noop)


def test_edges_to_start_and_from_end() -> None:
    g = StateGraph(Counter).add_node("a", _noop).add_edge(START, "a")
    with pytest.raises(GraphValidationError, match="START cannot be an end node"):
        g.add_edge("a", START).compile()
    g = StateGraph(Counter).add_node("a", _noop).add_edge(START, "a")
    with pytest.raises(GraphValidationError, match="END cannot be a start node"):
        g.add_edge(END, "a").compile()


def test_unreachable_node_is_a_warning() -> None:
    seen: list[str] = []
    g = StateGraph(Counter).add_node("a", lambda s: {"n": 1})
    g.add_node("lost", lambda s: seen.append("lost"))
    g.add_edge(START, "a").add_edge("a", END)
    with pytest.warns(GraphWarning, match="node 'lost' is not reachable from START"):
        graph = g.compile()
    assert graph.invoke({"n": 0}) == {"n": 1, "log": []} and seen == []


def test_node_reached_by_declared_command_is_fine() -> None:
    def a(state: Counter) -> Command[Literal["b"]]:
        return Command(goto="b", update={"log": ["a"]})

    g = StateGraph(Counter).add_node("a", a).add_node("b", lambda s: {"log": ["b"]})
    g.add_edge(START, "a")
    with warnings.catch_warnings():
        warnings.simplefilter("error", GraphWarning)
        graph = g.compile()
    assert graph.invoke({"n": 0})["log"] == ["a", "b"]


def test_node_reached_by_destinations_is_fine() -> None:
    def a(state: Counter) -> Command[str]:
        return Command(goto="b")

    g = StateGraph(Counter).add_node("a", a, destinations=("b",)).add_node("b", _noop)
    with warnings.catch_warnings():
        warnings.simplefilter("error", GraphWarning)
        g.add_edge(START, "a").compile()


def test_loop_without_exit_compiles_and_stops_at_the_recursion_limit() -> None:
    """LangGraph compiles a loop with no way out; it stops at the recursion limit."""
    g = StateGraph(Counter).add_node("a", lambda s: {"log": ["a"]})
    g.add_node("b", lambda s: {"log": ["b"]})
    g.add_edge(START, "a").add_edge("a", "b").add_edge("b", "a")
    graph = g.compile()
    with pytest.raises(GraphRecursionError, match=r"^Recursion limit of 6 reached"):
        graph.invoke({"n": 0}, {"recursion_limit": 6})


def test_router_loop_without_end_stops_at_the_recursion_limit() -> None:
    g = StateGraph(Counter).add_node("a", _noop).add_node("b", _noop).add_edge(START, "a")
    g.add_conditional_edges("a", lambda s: "b", {"b": "b"}).add_edge("b", "a")
    with pytest.raises(GraphRecursionError, match=r"^Recursion limit of 4 reached"):
        g.compile().invoke({"n": 0}, {"recursion_limit": 4})


def test_unknown_path_map_value() -> None:
    g = StateGraph(Counter).add_node("a", _noop).add_edge(START, "a")
    g.add_conditional_edges("a", lambda s: "x", {"x": "ghost"})
    with pytest.raises(
        GraphValidationError, match=r"^At 'a' node, 'condition' branch found unknown target 'ghost'"
    ):
        g.compile()


@pytest.mark.parametrize("where", ["interrupt_before", "interrupt_after"])
def test_unknown_interrupt_node(where: str) -> None:
    g = StateGraph(Counter).add_node("a", _noop).add_edge(START, "a")
    with pytest.raises(GraphValidationError, match=r"^Interrupt node `zz` not found$"):
        g.compile(**{where: ["zz"]})


def test_unknown_edge_source_join_and_branch_source() -> None:
    g = StateGraph(Counter).add_node("a", _noop).add_edge(START, "a").add_edge("ghost", "a")
    with pytest.raises(GraphValidationError, match=r"^Found edge starting at unknown node 'ghost'"):
        g.compile()
    g = StateGraph(Counter).add_node("a", _noop).add_edge(START, "a")
    with pytest.raises(GraphValidationError, match=r"^Need to add_node `zz` first"):
        g.add_edge(["a", "zz"], END).compile()
    g = StateGraph(Counter).add_node("a", _noop).add_edge(START, "a")
    g.add_conditional_edges("nowhere", lambda s: END)
    with pytest.raises(GraphValidationError, match="unknown node 'nowhere'"):
        g.compile()
