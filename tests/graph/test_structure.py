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
    from hone.graph._structure import structure

    shape = structure(g.compile(), xray=True)
    edges = {(e.source, e.target, e.conditional, e.label) for e in shape.edges}
    assert (START, "a", False, None) in edges
    assert ("a", "sub", True, "go") in edges and ("a", END, True, "stop") in edges
    sub = next(n for n in shape.nodes if n.id == "sub")
    assert sub.subgraph is not None and "x" in [n.id for n in sub.subgraph.nodes]
    assert shape.to_dict()["name"] == "LangGraph"


def test_run_config_reads_like_langgraph_dict() -> None:
    cfg = RunConfig(thread_id="7", configurable={"user": "u"}, recursion_limit=3, tags=("x",))
    assert cfg["configurable"] == {"user": "u", "thread_id": "7"}
    assert cfg["recursion_limit"] == 3 and cfg["tags"] == ["x"]
    assert (
        cfg.to_dict()
        == dict(cfg)
        == {
            "configurable": {"user": "u", "thread_id": "7"},
            "recursion_limit": 3,
            "tags": ["x"],
        }
    )
    assert "metadata" not in cfg and cfg.with_(thread_id="8")["configurable"]["thread_id"] == "8"


def test_run_config_is_accepted_and_returned_configs_are_dicts() -> None:
    from typing import TypedDict

    from hone.checkpoint import InMemorySaver

    class T(TypedDict):
        n: int

    g = StateGraph(T).add_node("a", lambda s: {"n": s["n"] + 1}).add_edge(START, "a")
    graph = g.compile(checkpointer=InMemorySaver())
    assert graph.invoke({"n": 1}, RunConfig(thread_id="t", recursion_limit=5)) == {"n": 2}
    snap = graph.get_state(RunConfig(thread_id="t"))
    assert type(snap.config) is dict and snap.values == {"n": 2}
    assert set(snap.config["configurable"]) == {"thread_id", "checkpoint_ns", "checkpoint_id"}
    same = graph.get_state(
        RunConfig(thread_id="t", checkpoint_id=snap.config["configurable"]["checkpoint_id"])
    )
    assert same.values == snap.values
    new = graph.update_state(RunConfig(thread_id="t"), {"n": 9})
    assert type(new) is dict and graph.get_state(new).values == {"n": 9}


def test_a_compiled_node_runs_alone_as_langgraphs_nodes_do() -> None:
    from typing import TypedDict

    import pytest

    from hone.errors import GraphError

    class T(TypedDict):
        n: int

    def double(state: T, config: RunConfig) -> dict[str, int]:
        return {"n": state["n"] * 2 + config.get("configurable", {}).get("extra", 0)}

    async def triple(state: T) -> dict[str, int]:
        return {"n": state["n"] * 3}

    inner = StateGraph(T).add_node("x", triple).add_edge(START, "x").compile()
    graph = (
        StateGraph(T)
        .add_node("double", double)
        .add_node("triple", triple)
        .add_node("sub", inner)
        .add_edge(START, "double")
        .compile()
    )
    nodes = graph.nodes
    assert nodes["double"].bound is double and nodes["sub"].bound is inner
    assert nodes["double"].invoke({"n": 2}) == {"n": 4}
    assert nodes["double"].invoke({"n": 2}, {"configurable": {"extra": 1}}) == {"n": 5}
    assert nodes["triple"].invoke({"n": 2}) == {"n": 6}
    assert nodes["sub"].invoke({"n": 2}) == {"n": 6}
    with pytest.raises(GraphError, match="entry marker"):
        nodes[START].invoke({"n": 1})


async def test_a_compiled_node_runs_alone_async() -> None:
    from typing import TypedDict

    class T(TypedDict):
        n: int

    def double(state: T) -> dict[str, int]:
        return {"n": state["n"] * 2}

    graph = StateGraph(T).add_node("double", double).add_edge(START, "double").compile()
    assert await graph.nodes["double"].ainvoke({"n": 4}) == {"n": 8}
