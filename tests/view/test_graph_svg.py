"""The graph picture: layers, back edges, escaped labels."""

from __future__ import annotations

import runpy
import xml.etree.ElementTree as ET
from pathlib import Path

from hone.graph import END, START, GraphEdge, GraphNode, GraphStructure
from hone.graph._structure import structure
from hone.view import graph_svg
from hone.view._graph_svg import layout

graph = runpy.run_path(str(Path(__file__).with_name("graph_app.py")))["graph"]


def test_a_loop_is_layered_top_to_bottom_with_its_back_edge() -> None:
    plan = layout(structure(graph))
    assert plan.layers == [[START], ["plan"], ["act"], [END]]
    assert plan.back_edges == {("act", "plan")}


def test_the_svg_is_well_formed_and_names_every_node() -> None:
    root = ET.fromstring(graph_svg(structure(graph)))
    nodes = {g.get("data-node") for g in root.iter("{http://www.w3.org/2000/svg}g")}
    assert nodes == {START, "plan", "act", END}
    labels = {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
    assert {"start", "plan", "act", "end"} <= labels


def test_labels_are_escaped_and_branches_share_a_layer() -> None:
    structure = GraphStructure(
        name="odd",
        nodes=(
            GraphNode(START, kind="start"),
            GraphNode("<b>&x"),
            GraphNode('say "hi"'),
            GraphNode(END, kind="end"),
        ),
        edges=(
            GraphEdge(START, "<b>&x", conditional=True, label="</svg>"),
            GraphEdge(START, 'say "hi"', conditional=True),
            GraphEdge("<b>&x", END),
            GraphEdge('say "hi"', END),
        ),
    )
    assert sorted(layout(structure).layers[1]) == ["<b>&x", 'say "hi"']
    root = ET.fromstring(graph_svg(structure))  # would fail on an unescaped label
    nodes = {g.get("data-node") for g in root.iter("{http://www.w3.org/2000/svg}g")}
    assert {"<b>&x", 'say "hi"'} <= nodes
    assert "</svg>" in {t.text for t in root.iter("{http://www.w3.org/2000/svg}text")}
