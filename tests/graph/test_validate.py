import operator
from typing import Annotated, Literal, TypedDict

import pytest

from hone.errors import GraphValidationError
from hone.graph import END, START, Command, StateGraph


class Counter(TypedDict):
    n: int
    log: Annotated[list[str], operator.add]


def _noop(state: Counter) -> dict[str, int]:
    return {}


def test_unknown_edge_target() -> None:
    g = StateGraph(Counter).add_node("a", _noop).add_edge(START, "a").add_edge("a", "b")
    with pytest.raises(GraphValidationError, match="'b'"):
        g.compile()


def test_no_entry_point() -> None:
    g = StateGraph(Counter).add_node("a", _noop).add_edge("a", END)
    with pytest.raises(GraphValidationError, match="entry point"):
        g.compile()


def test_duplicate_and_reserved_names() -> None:
    g = StateGraph(Counter).add_node("a", _noop)
    with pytest.raises(GraphValidationError, match="already exists"):
        g.add_node("a", _noop)
    with pytest.raises(GraphValidationError, match="reserved"):
        g.add_node(END, _noop)
    with pytest.raises(GraphValidationError, match="reserved"):
        g.add_node("x:y", _noop)


def test_unreachable_node() -> None:
    g = StateGraph(Counter).add_node("a", _noop).add_node("lost", _noop)
    g.add_edge(START, "a").add_edge("a", END)
    with pytest.raises(GraphValidationError, match="'lost' is not reachable"):
        g.compile()


def test_node_reached_by_declared_command_is_fine() -> None:
    def a(state: Counter) -> Command[Literal["b"]]:
        return Command(goto="b")

    g = StateGraph(Counter).add_node("a", a).add_node("b", _noop).add_edge(START, "a")
    g.compile()


def test_loop_without_exit() -> None:
    g = StateGraph(Counter).add_node("a", _noop).add_node("b", _noop)
    g.add_edge(START, "a").add_edge("a", "b").add_edge("b", "a")
    with pytest.raises(GraphValidationError, match="no path to END"):
        g.compile()


def test_unknown_path_map_value() -> None:
    g = StateGraph(Counter).add_node("a", _noop).add_edge(START, "a")
    g.add_conditional_edges("a", lambda s: "x", {"x": "ghost"})
    with pytest.raises(GraphValidationError, match="'ghost'"):
        g.compile()


def test_unknown_interrupt_node() -> None:
    g = StateGraph(Counter).add_node("a", _noop).add_edge(START, "a")
    with pytest.raises(GraphValidationError, match="interrupt_before"):
        g.compile(interrupt_before=["zz"])


def test_unknown_edge_source_join_and_branch_source() -> None:
    g = StateGraph(Counter).add_node("a", _noop).add_edge(START, "a").add_edge("ghost", "a")
    with pytest.raises(GraphValidationError, match="starts at unknown node 'ghost'"):
        g.compile()
    g = StateGraph(Counter).add_node("a", _noop).add_edge(START, "a").add_edge(["a", "zz"], END)
    with pytest.raises(GraphValidationError, match=r"join edge.*unknown node 'zz'"):
        g.compile()
    g = StateGraph(Counter).add_node("a", _noop).add_edge(START, "a")
    g.add_conditional_edges("nowhere", lambda s: END)
    with pytest.raises(GraphValidationError, match="unknown node 'nowhere'"):
        g.compile()


def test_router_loop_without_end_has_no_path_to_end() -> None:
    g = StateGraph(Counter).add_node("a", _noop).add_node("b", _noop).add_edge(START, "a")
    g.add_conditional_edges("a", lambda s: "b", {"b": "b"}).add_edge("b", "a")
    with pytest.raises(GraphValidationError, match="'a' has no path to END"):
        g.compile()
