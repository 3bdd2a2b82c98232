"""draw_mermaid: START/END, plain and conditional edges, subgraph blocks, escaping."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TypedDict

import pytest

from hone.graph import END, START, StateGraph, draw_mermaid


class S(TypedDict, total=False):
    n: int


def _noop(state: S) -> None:
    return None


def _inner() -> Any:
    inner = StateGraph(S).add_node("plan", _noop).add_node("act", _noop)
    return inner.add_edge(START, "plan").add_edge("plan", "act").add_edge("act", END).compile()


def _outer() -> Any:
    g = StateGraph(S).add_node("route", _noop).add_node("work", _inner())
    g.add_node('odd "name" <x>', _noop).add_node("end", _noop)
    g.add_edge(START, "route")
    g.add_conditional_edges("route", lambda s: "go", {"go": "work", "skip": 'odd "name" <x>'})
    g.add_edge("work", "end").add_edge('odd "name" <x>', "end").add_edge("end", END)
    return g.compile(name="demo")


def test_flowchart_with_start_end_and_edges() -> None:
    text = draw_mermaid(_outer(), expand_subgraphs=False)
    lines = [line.strip() for line in text.splitlines()]
    assert lines[0] == "flowchart TD"
    assert '__start__(["START"]):::first' in lines and '__end__(["END"]):::last' in lines
    assert "__start__ --> route" in lines
    assert 'route -.->|"go"| work' in lines
    # Names are escaped: quotes and angle brackets in labels, unsafe characters in ids.
    assert 'odd__name___x_["odd #quot;name#quot; #lt;x#gt;"]' in lines
    assert 'route -.->|"skip"| odd__name___x_' in lines
    # "end" is a Mermaid keyword, so its id changes; its label does not.
    assert 'n_end["end"]' in lines and "n_end --> __end__" in lines
    assert 'work["work"]' in lines and not any(line.startswith("subgraph") for line in lines)


def test_subgraphs_expand_into_blocks() -> None:
    text = draw_mermaid(_outer())
    lines = [line.strip() for line in text.splitlines()]
    start = lines.index('subgraph work["work"]')
    block = lines[start : lines.index("end", start)]
    assert 'work_plan["plan"]' in block and "work_plan --> work_act" in block
    assert "work___start__ --> work_plan" in block
    assert "work --> n_end" in lines  # edges into and out of the block use the block id
    assert text.count("subgraph") == 1


def test_structure_and_compiled_graph_draw_the_same() -> None:
    from hone.graph._structure import structure

    graph = _outer()
    assert draw_mermaid(structure(graph, xray=True)) == draw_mermaid(graph)
    assert draw_mermaid(structure(graph)) == draw_mermaid(graph, expand_subgraphs=False)
    assert structure(graph, xray=True).draw_mermaid() == draw_mermaid(graph)


def test_router_without_path_map_draws_its_literal_destinations() -> None:
    from typing import Literal

    def pick(state: S) -> Literal["a", "__end__"]:
        return "a"

    g = StateGraph(S).add_node("a", _noop).add_node("b", _noop)
    g.add_edge(START, "b").add_conditional_edges("b", pick).add_edge("a", END)
    lines = [line.strip() for line in draw_mermaid(g.compile()).splitlines()]
    assert "b -.-> a" in lines and "b -.-> __end__" in lines


def test_draw_mermaid_png_renders_the_mermaid_text_through_langchain(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """``get_graph().draw_mermaid_png()`` (a notebook's ``Image(...)``) hands the graph's
    Mermaid text to LangChain's renderer (mermaid.ink by default; here a stand-in, offline)."""
    graph_mermaid = pytest.importorskip("langchain_core.runnables.graph_mermaid")
    sent: list[str] = []

    def render(mermaid_syntax: str, *args: Any, **kwargs: Any) -> bytes:
        sent.append(mermaid_syntax)
        return b"\x89PNG fake"

    monkeypatch.setattr(graph_mermaid, "_render_mermaid_using_api", render)
    g = StateGraph(dict).add_node("a", lambda s: s).add_edge(START, "a").compile()
    out = tmp_path / "graph.png"
    png = g.get_graph().draw_mermaid_png(output_file_path=str(out))
    assert png == b"\x89PNG fake" and sent == [g.get_graph().draw_mermaid()]
