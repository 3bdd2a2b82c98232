import hone.graph
from hone.graph import END, START, StateGraph
from hone.graph._types import RunConfig


def test_public_surface_is_sorted_and_exported() -> None:
    names = hone.graph.__all__
    assert names == sorted(names, key=lambda n: (not n.isupper(), n))
    assert all(hasattr(hone.graph, n) for n in names)


def test_get_graph_exposes_edges_branches_and_subgraphs() -> None:
    from typing import TypedDict

    class T(TypedDict):
        n: int

    inner = StateGraph(T).add_node("x", lambda s: None).add_edge(START, "x").compile()
    g = StateGraph(T).add_node("a", lambda s: None).add_node("sub", inner).add_edge(START, "a")
    g.add_conditional_edges("a", lambda s: "go", {"go": "sub", "stop": END})
    shape = g.compile().get_graph(xray=True)
    edges = {(e.source, e.target, e.conditional, e.label) for e in shape.edges}
    assert (START, "a", False, None) in edges
    assert ("a", "sub", True, "go") in edges and ("a", END, True, "stop") in edges
    sub = next(n for n in shape.nodes if n.id == "sub")
    assert sub.subgraph is not None and "x" in [n.id for n in sub.subgraph.nodes]
    assert shape.to_dict()["name"] == "LangGraph"


def test_run_config_reads_like_langgraph_dict() -> None:
    cfg = RunConfig.of({"configurable": {"thread_id": 7, "user": "u"}, "recursion_limit": 3})
    assert (
        cfg.thread_id == "7" and cfg["configurable"]["user"] == "u" and cfg["recursion_limit"] == 3
    )
