"""Bad updates from nodes and routers. Where LangGraph raises, the error starts with
LangGraph's text and adds the node and thread, and the last good checkpoint survives it;
where LangGraph runs on (an unknown key or node), hone warns with ``GraphWarning``."""

import operator
from dataclasses import dataclass
from typing import Annotated, Any, TypedDict

import pytest
from pydantic import BaseModel, Field, ValidationError

from hone.checkpoint import InMemorySaver
from hone.errors import GraphWarning, InvalidUpdateError
from hone.graph import END, START, Command, Send, StateGraph


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
        ("text", r"^Expected dict, got 'text': node 'bad' \(thread 't9'\) returned str; return a"),
        ([1, 2], r"^Expected dict, got \[1, 2\]: node 'bad' \(thread 't9'\) returned list"),
    ],
)
def test_bad_node_output(driver: Any, output: Any, match: str) -> None:
    graph = _fails_after_first(lambda s: output)
    with pytest.raises(InvalidUpdateError, match=match):
        driver.invoke(graph, {"n": 0}, _cfg())
    _assert_kept(graph, {"n": 1, "log": []})
    # The saver keeps the failure (as its repr) on the task that raised it.
    assert "Expected dict" in str(graph.get_state(_cfg()).tasks[0].error)


def test_unknown_key_is_ignored_with_a_warning(driver: Any) -> None:
    graph = _fails_after_first(lambda s: {"zzz": 1, "log": ["bad"]})
    with pytest.warns(
        GraphWarning,
        match=r"node 'bad' \(thread 't9'\) wrote 'zzz', not in the state schema "
        r"\(keys: \['log', 'n'\]\); the write is ignored",
    ):
        out = driver.invoke(graph, {"n": 0}, _cfg())
    # The other keys of the update are applied; the run goes on to the end.
    assert out == {"n": 1, "log": ["bad"]}
    assert graph.get_state(_cfg()).next == ()


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
    seen: list[str] = []
    g = StateGraph(S).add_node("a", lambda s: {"n": 1}).add_edge(START, "a")
    g.add_node("b", lambda s: seen.append("b"))
    g.add_conditional_edges("a", lambda s: ["ghost", "b"])
    with pytest.warns(GraphWarning, match=r"Task a routed to unknown node 'ghost'; the write is"):
        out = driver.invoke(g.compile(), {"n": 0})
    # The route to the unknown node is dropped; the others are followed.
    assert out == {"n": 1, "log": []} and seen == ["b"]


def test_two_writes_to_a_plain_key_keep_the_checkpoint(driver: Any) -> None:
    g = StateGraph(S).add_node("x", lambda s: {"n": 1}).add_node("y", lambda s: {"n": 2})
    g.add_edge(START, "x").add_edge(START, "y")
    graph = g.compile(checkpointer=InMemorySaver())
    with pytest.raises(
        InvalidUpdateError,
        match=r"^At key 'n': Can receive only one value per step\..*"
        r"\(written in one step by 'x', 'y'\)$",
    ):
        driver.invoke(graph, {"n": 0}, _cfg())
    # The checkpoint before the step is kept, with both tasks still to run.
    [last, *_] = graph.get_state_history(_cfg())
    assert last.values == {"n": 0, "log": []} and last.next == ("x", "y")
    assert last.metadata["step"] == 0


def test_a_thread_stopped_by_conflicting_writes_can_be_read() -> None:
    g = StateGraph(S).add_node("x", lambda s: {"n": 1}).add_node("y", lambda s: {"n": 2})
    g.add_edge(START, "x").add_edge(START, "y")
    graph = g.compile(checkpointer=InMemorySaver())
    with pytest.raises(InvalidUpdateError):
        graph.invoke({"n": 0}, _cfg())
    snap = graph.get_state(_cfg())
    assert snap.values == {"n": 0, "log": []} and snap.next == ("x", "y")


class P(BaseModel):
    n: int = Field(default=0, ge=0)
    name: str = ""
    log: Annotated[list[str], operator.add] = []


def _pydantic_chain(bad: Any, seen: list[Any]) -> Any:
    """START -> first -> bad -> after, on the pydantic state P."""

    def after(state: P) -> dict[str, Any]:
        seen.append(state)
        return {"name": "after"}

    g = StateGraph(P).add_node("first", lambda s: {"n": 1}).add_node("bad", bad)
    g.add_node("after", after).add_edge(START, "first").add_edge("first", "bad")
    g.add_edge("bad", "after")
    return g.compile(checkpointer=InMemorySaver())


def test_pydantic_state_is_validated_as_the_next_node_input(driver: Any) -> None:
    """As in LangGraph: a write is not validated by itself; the next node's input is
    ``P(**values)``, so an invalid value fails there."""
    seen: list[Any] = []
    graph = _pydantic_chain(lambda s: {"n": -5}, seen)
    with pytest.raises(ValidationError, match=r"greater than or equal to 0") as caught:
        driver.invoke(graph, {"n": 0}, _cfg())
    assert "after" in "".join(getattr(caught.value, "__notes__", [])) + str(caught.value)
    assert seen == []
    # Lax coercion, as pydantic does for the model: the next node sees 3 for "3" (the state
    # keeps the value written, as LangGraph's does).
    ok = _pydantic_chain(lambda s: {"n": "3"}, seen).invoke({"n": 0}, _cfg())
    assert seen == [P(n=3)] and ok == {"n": "3", "name": "after", "log": []}


def test_a_thread_stopped_by_an_invalid_pydantic_value_can_be_read_and_fixed() -> None:
    seen: list[Any] = []
    graph = _pydantic_chain(lambda s: {"n": -5}, seen)
    with pytest.raises(ValidationError):
        graph.invoke({"n": 0}, _cfg())
    assert [h.metadata["step"] for h in graph.get_state_history(_cfg())] == [2, 1, 0, -1]
    assert graph.get_state(_cfg()).values == {
        "n": -5,
        "log": [],
    }  # as LangGraph: defaults are not state
    graph.update_state(_cfg(), {"n": 5}, as_node="bad")
    assert graph.invoke(None, _cfg()) == {"n": 5, "name": "after", "log": []}


def test_pydantic_input_is_validated() -> None:
    graph = _fails_after_first(lambda s: None, schema=P)
    with pytest.raises(ValidationError, match=r"n\n.*valid integer"):
        graph.invoke({"n": "many"}, _cfg())
    with pytest.warns(
        GraphWarning, match=r"the graph input \(thread 't9'\) wrote 'zzz', not in the state schema"
    ):
        out = _fails_after_first(lambda s: None).invoke({"zzz": 1}, _cfg())
    assert out == {"n": 1, "log": []}


@dataclass
class D:
    n: int = 0


def test_dataclass_schema_rejects_non_dict_updates() -> None:
    graph = _fails_after_first(lambda s: 42, schema=D)
    with pytest.raises(
        InvalidUpdateError, match=r"^Expected dict, got 42: node 'bad' \(thread 't9'\) returned int"
    ):
        graph.invoke({"n": 0}, _cfg())
    assert graph.get_state(_cfg()).values == {"n": 1}


def test_command_to_unknown_node_is_ignored_with_a_warning(driver: Any) -> None:
    def go(state: S) -> Command[Any]:
        return Command(goto=["ghost", "b"], update={"n": 1})

    g = StateGraph(S).add_node("a", go).add_node("b", lambda s: {"log": ["b"]})
    g.add_edge(START, "a")
    with pytest.warns(GraphWarning, match=r"Task a routed to unknown node 'ghost'"):
        assert driver.invoke(g.compile(), {"n": 0}) == {"n": 1, "log": ["b"]}


def test_command_update_of_unknown_key_is_ignored_with_a_warning() -> None:
    def go(state: S) -> Command[Any]:
        return Command(update={"zzz": 1, "n": 2})

    g = StateGraph(S).add_node("a", go).add_edge(START, "a")
    with pytest.warns(GraphWarning, match=r"node 'a' wrote 'zzz', not in the state schema"):
        assert g.compile().invoke({"n": 0}) == {"n": 2, "log": []}


@pytest.mark.parametrize("via", ["router", "command"])
def test_send_to_unknown_node_is_ignored_with_a_warning(via: str) -> None:
    g = StateGraph(S).add_node("b", lambda s: {"log": [f"b{s}"]})
    if via == "router":
        g.add_node("a", lambda s: {"n": 1})
        g.add_conditional_edges("a", lambda s: [Send("ghost", 1), Send("b", 2)])
    else:
        g.add_node("a", lambda s: Command(update={"n": 1}, goto=[Send("ghost", 1), Send("b", 2)]))
    g.add_edge(START, "a")
    with pytest.warns(GraphWarning, match="'ghost'"):
        assert g.compile().invoke({"n": 0}) == {"n": 1, "log": ["b2"]}
