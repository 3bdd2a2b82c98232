"""Bad updates from nodes and routers: each error names the node, key and thread, and the
last good checkpoint survives it."""

import operator
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

import pytest
from pydantic import BaseModel, Field

from hone.checkpoint import InMemorySaver
from hone.errors import InvalidUpdateError
from hone.graph import END, START, StateGraph


class S(TypedDict):
    n: int
    log: Annotated[list[str], operator.add]


def _cfg() -> dict[str, Any]:
    return {"configurable": {"thread_id": "t9"}}


def _fails_after_first(bad: Any, schema: Any = S, first: Any = None) -> Any:
    """START -> first (fine) -> bad; returns the compiled graph."""
    g = StateGraph(schema).add_node("first", first or (lambda s: {"n": 1})).add_node("bad", bad)
    g.add_edge(START, "first").add_edge("first", "bad").add_edge("bad", END)
    return g.compile(checkpointer=InMemorySaver())


def _assert_kept(graph: Any, values: dict[str, Any]) -> None:
    snap = graph.get_state(_cfg())
    assert snap.values == values and snap.next == ("bad",)
    assert snap.tasks[0].error is not None


@pytest.mark.parametrize(
    ("output", "match"),
    [
        ({"zzz": 1}, r"node 'bad' wrote key 'zzz' \(thread 't9'\).*not in the state schema"),
        ("text", r"node 'bad' returned str 'text' \(thread 't9'\).*return a dict"),
        ([1, 2], r"node 'bad' returned list"),
    ],
)
def test_bad_node_output(driver: Any, output: Any, match: str) -> None:
    graph = _fails_after_first(lambda s: output)
    with pytest.raises(InvalidUpdateError, match=match):
        driver.invoke(graph, {"n": 0}, _cfg())
    _assert_kept(graph, {"n": 1, "log": []})


def test_router_value_outside_its_path_map(driver: Any) -> None:
    def pick(state: S) -> str:
        return "sideways"

    g = StateGraph(S).add_node("a", lambda s: {"n": 1}).add_node("b", lambda s: None)
    g.add_edge(START, "a").add_conditional_edges("a", pick, {"left": "b", "stop": END})
    with pytest.raises(
        InvalidUpdateError,
        match=r"router 'pick' of the conditional edge from 'a' returned 'sideways'.*"
        r"allowed: \['left', 'stop'\]",
    ):
        driver.invoke(g.compile(), {"n": 0})


def test_router_without_path_map_to_unknown_node(driver: Any) -> None:
    g = StateGraph(S).add_node("a", lambda s: {"n": 1}).add_edge(START, "a")
    g.add_conditional_edges("a", lambda s: "ghost")
    with pytest.raises(
        InvalidUpdateError, match=r"router 'condition' of node 'a' tried to go to unknown node"
    ):
        driver.invoke(g.compile(), {"n": 0})


def test_two_writes_to_a_plain_key_keep_the_checkpoint(driver: Any) -> None:
    g = StateGraph(S).add_node("x", lambda s: {"n": 1}).add_node("y", lambda s: {"n": 2})
    g.add_edge(START, "x").add_edge(START, "y")
    graph = g.compile(checkpointer=InMemorySaver())
    with pytest.raises(InvalidUpdateError, match=r"'n' was written by 2 nodes.*'x', 'y'"):
        driver.invoke(graph, {"n": 0}, _cfg())
    snap = graph.get_state(_cfg())
    assert snap.values == {"n": 0, "log": []} and snap.next == ("x", "y")


class P(BaseModel):
    n: int = Field(default=0, ge=0)
    name: str = ""
    log: Annotated[list[str], operator.add] = []


def test_pydantic_schema_validates_written_keys(driver: Any) -> None:
    graph = _fails_after_first(lambda s: {"n": -5}, schema=P)
    with pytest.raises(InvalidUpdateError, match=r"node 'bad' wrote 'n' = -5 \(thread 't9'\)"):
        driver.invoke(graph, {"n": 0}, _cfg())
    _assert_kept(graph, {"n": 1, "name": "", "log": []})
    # Lax coercion, as pydantic does for the model: "3" becomes 3.
    ok = _fails_after_first(lambda s: {"n": "3"}, schema=P).invoke({"n": 0}, _cfg())
    assert ok["n"] == 3


def test_pydantic_input_is_validated() -> None:
    graph = _fails_after_first(lambda s: None, schema=P)
    with pytest.raises(InvalidUpdateError, match=r"graph input does not match.*P"):
        graph.invoke({"n": "many"}, _cfg())
    with pytest.raises(InvalidUpdateError, match="the graph input wrote key 'zzz'"):
        _fails_after_first(lambda s: None).invoke({"zzz": 1}, _cfg())


@dataclass
class D:
    n: int = 0


def test_dataclass_schema_rejects_non_dict_updates() -> None:
    graph = _fails_after_first(lambda s: 42, schema=D)
    with pytest.raises(InvalidUpdateError, match="node 'bad' returned int 42"):
        graph.invoke({"n": 0}, _cfg())
    assert graph.get_state(_cfg()).values == {"n": 1}
