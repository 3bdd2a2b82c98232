"""``get_graph()`` with langchain-core installed: LangChain's ``Graph``, drawn exactly as
LangGraph's for the same program (Mermaid in every style, ASCII, JSON up to the node data's
class path), built side by side with ``hone.graph`` and ``langgraph.graph``."""

from __future__ import annotations

import operator
from collections.abc import Callable
from types import ModuleType
from typing import Annotated, Any, Literal

import pytest
from typing_extensions import TypedDict

import hone.graph as hg
from hone.graph._draw_walk import DrawnEdge, WalkNode, channel_kinds, walk
from hone.graph._structure import GraphStructure, structure

lc_graph = pytest.importorskip("langchain_core.runnables.graph")
lg_graph = pytest.importorskip("langgraph.graph")
lg_types = pytest.importorskip("langgraph.types")


class S(TypedDict):
    items: Annotated[list[str], operator.add]


def _noop(state: Any) -> dict[str, Any]:
    return {}


def _branches(g: ModuleType) -> Any:
    def route(state: S) -> Literal["b", "c", "__end__"]:
        return "b"

    b = g.StateGraph(S).add_node("a", _noop).add_node("b", _noop).add_node("c", _noop)
    b.add_edge(g.START, "a").add_conditional_edges("a", route).add_edge("b", "c")
    b.add_conditional_edges("c", lambda s: "x", {"x": "a", "done": g.END})
    return b.compile(interrupt_before=["b"])


def _fan_in_defer(g: ModuleType) -> Any:
    b = g.StateGraph(S)
    for name in ("a", "b", "c"):
        b.add_node(name, _noop)
    b.add_node("d", _noop, defer=True)
    b.add_edge(g.START, "a").add_edge("a", "b").add_edge("a", "c").add_edge(["b", "c"], "d")
    b.add_edge("d", g.END)
    return b.compile()


def _loop(g: ModuleType) -> Any:
    b = g.StateGraph(S).add_node("human", _noop).add_node("agent", _noop)
    b.add_edge(g.START, "human").add_edge("human", "agent").add_edge("agent", "human")
    return b.compile()


def _commands(g: ModuleType, types: ModuleType) -> Any:
    def worker(state: S) -> Any:
        return types.Command(goto="worker")

    def boss(state: S) -> Any:
        return types.Command(goto="worker")

    b = g.StateGraph(S)
    b.add_node("boss", boss, destinations={"worker": "delegate", "__end__": "finish"})
    b.add_node("worker", worker, destinations=("worker", "__end__"))
    return b.add_edge(g.START, "boss").compile()


def _nested(g: ModuleType) -> Any:
    inner = g.StateGraph(S).add_node("p", _noop).add_node("q", _noop)
    inner = inner.add_edge(g.START, "p").add_edge("p", "q").compile()
    b = g.StateGraph(S).add_node("first", _noop).add_node("sub", inner)
    b.add_node("last", _noop, metadata={"role": "judge"})
    b.add_edge(g.START, "first").add_edge("first", "sub").add_edge("sub", "last")
    return b.compile()


PROGRAMS: dict[str, Callable[[ModuleType, ModuleType], Any]] = {
    "branches": lambda g, t: _branches(g),
    "fan_in_defer": lambda g, t: _fan_in_defer(g),
    "loop": lambda g, t: _loop(g),
    "commands": _commands,
    "nested": lambda g, t: _nested(g),
}


def _pair(name: str) -> tuple[Any, Any]:
    return PROGRAMS[name](hg, hg), PROGRAMS[name](lg_graph, lg_types)


def _json(graph: Any) -> dict[str, Any]:
    """``to_json()`` without the node data's class path (hone's classes are not LangGraph's)."""
    out: dict[str, Any] = graph.to_json()
    for node in out["nodes"]:
        if isinstance(node.get("data"), dict):
            node["data"] = {k: v for k, v in node["data"].items() if k != "id"}
    return out


@pytest.mark.parametrize("name", sorted(PROGRAMS))
@pytest.mark.parametrize("xray", [False, True, 1])
def test_drawings_equal_langgraphs(name: str, xray: int | bool) -> None:
    ours, theirs = (g.get_graph(xray=xray) for g in _pair(name))
    assert isinstance(ours, lc_graph.Graph)
    assert ours.draw_mermaid() == theirs.draw_mermaid()
    assert ours.draw_mermaid(with_styles=False) == theirs.draw_mermaid(with_styles=False)
    styled = {
        "curve_style": lc_graph.CurveStyle.BASIS,
        "node_colors": lc_graph.NodeStyles(first="#fff"),
        "wrap_label_n_words": 2,
    }
    assert ours.draw_mermaid(**styled) == theirs.draw_mermaid(**styled)
    assert _json(ours) == _json(theirs)
    assert [n.metadata for n in ours.nodes.values()] == [n.metadata for n in theirs.nodes.values()]


def test_ascii_drawing_equals_langgraphs() -> None:
    pytest.importorskip("grandalf")
    for name in ("branches", "fan_in_defer", "nested"):
        ours, theirs = _pair(name)
        assert ours.get_graph(xray=True).draw_ascii() == theirs.get_graph(xray=True).draw_ascii()


def test_an_entrypoint_draws_as_langgraphs() -> None:
    from langgraph.func import entrypoint as lg_entrypoint

    def work(x: int) -> int:
        return x

    ours, theirs = hg.entrypoint()(work), lg_entrypoint()(work)
    assert ours.get_graph().draw_mermaid() == theirs.get_graph().draw_mermaid()


def test_a_langchain_runnable_node_is_its_own_data() -> None:
    from langchain_core.runnables import RunnableLambda

    step = RunnableLambda(lambda s: {})
    graph = hg.StateGraph(S).add_node("step", step).add_edge(hg.START, "step").compile()
    assert graph.get_graph().nodes["step"].data is step


def test_hones_own_structure_still_draws_without_langchain() -> None:
    """``structure()`` is what ``get_graph()`` returns without langchain-core; hone's
    ``draw_mermaid`` renders it."""
    shape = structure(_nested(hg), xray=True)
    assert isinstance(shape, GraphStructure)
    text = shape.draw_mermaid()
    assert text.startswith("flowchart TD") and "subgraph sub" in text
    assert text == hg.draw_mermaid(_nested(hg))


def test_the_walk_marks_a_loop_end_as_langgraph_does() -> None:
    """A graph that never reaches END still gets one dashed edge to it, from the node the
    walk stopped at."""
    nodes = [
        WalkNode(hg.START, (hg.START,), (("branch:to:a", None),)),
        WalkNode("a", ("branch:to:a",), (("branch:to:a", None),)),
    ]
    result = walk(nodes, channel_kinds(["a"], [], set()))
    assert result.edges == {
        DrawnEdge(hg.START, "a", False, None),
        DrawnEdge("a", "a", False, None),
    }
    assert result.last_step == ("a",)
