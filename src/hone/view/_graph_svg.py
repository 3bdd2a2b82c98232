"""A graph's picture as inline SVG: a small layered (top-to-bottom) drawing, no JavaScript
library and no network.

Layers are longest paths from START over the graph without its back edges (found by a depth
first search); nodes in a layer are ordered by the mean position of their parents, once.
That is enough for the graphs agents are made of (tens of nodes). Each node is a
``<g class="gnode" data-node="...">`` so the page can highlight the current one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from hone.graph import GraphEdge, GraphStructure

__all__ = ["GraphLayout", "graph_svg", "layout"]

_LAYER_GAP = 84
_NODE_GAP = 28
_NODE_HEIGHT = 36
_CHAR_WIDTH = 7.6
_MARGIN = 24


@dataclass(frozen=True, slots=True)
class GraphLayout:
    """Where each node goes: its layer (row) and its order within the layer."""

    layers: list[list[str]]
    back_edges: set[tuple[str, str]]


def _back_edges(nodes: Sequence[str], children: dict[str, list[str]]) -> set[tuple[str, str]]:
    back: set[tuple[str, str]] = set()
    state: dict[str, int] = {}  # 1: on the stack, 2: done
    for root in nodes:
        if root in state:
            continue
        stack = [(root, iter(children[root]))]
        state[root] = 1
        while stack:
            node, remaining = stack[-1]
            child = next(remaining, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state.get(child) == 1:
                back.add((node, child))
            elif child not in state:
                state[child] = 1
                stack.append((child, iter(children[child])))
    return back


def layout(structure: GraphStructure) -> GraphLayout:
    """Layers for ``structure``'s nodes (START first; END in the last layer)."""
    starts = [n.id for n in structure.nodes if n.kind == "start"]
    ends = [n.id for n in structure.nodes if n.kind == "end"]
    order = starts + [n.id for n in structure.nodes if n.kind == "node"] + ends
    children: dict[str, list[str]] = {n: [] for n in order}
    for edge in structure.edges:
        known = edge.source in children and edge.target in children
        if known and edge.target not in children[edge.source]:
            children[edge.source].append(edge.target)
    back = _back_edges(order, children)
    depth = dict.fromkeys(order, 0)
    # Longest path over the DAG left without back edges: relax in topological order.
    indegree = dict.fromkeys(order, 0)
    for source, targets in children.items():
        for target in targets:
            if (source, target) not in back:
                indegree[target] += 1
    ready = [n for n in order if indegree[n] == 0]
    while ready:
        node = ready.pop(0)
        for target in children[node]:
            if (node, target) in back:
                continue
            depth[target] = max(depth[target], depth[node] + 1)
            indegree[target] -= 1
            if indegree[target] == 0:
                ready.append(target)
    last = max(depth.values(), default=0)
    for end in ends:
        depth[end] = max(last, 1)
    layers: list[list[str]] = [[] for _ in range(max(depth.values(), default=0) + 1)]
    for node in order:
        layers[depth[node]].append(node)
    parents: dict[str, list[str]] = {n: [] for n in order}
    for source, targets in children.items():
        for target in targets:
            parents[target].append(source)
    position: dict[str, float] = {}
    for row in layers:
        seen = {n: [position[p] for p in parents[n] if p in position] for n in row}
        row.sort(key=lambda n: sum(seen[n]) / len(seen[n]) if seen[n] else 0.0)
        for i, node in enumerate(row):
            position[node] = i / max(len(row) - 1, 1)
    return GraphLayout(layers=[row for row in layers if row], back_edges=back)


def _label(node_id: str) -> str:
    return {"__start__": "start", "__end__": "end"}.get(node_id, node_id)


def _width(node_id: str) -> float:
    return max(64.0, len(_label(node_id)) * _CHAR_WIDTH + 28)


def graph_svg(structure: GraphStructure) -> str:
    """``structure`` drawn as one ``<svg>`` element (nodes, edges, arrowheads, labels)."""
    plan = layout(structure)
    widths = [sum(_width(n) for n in row) + _NODE_GAP * (len(row) - 1) for row in plan.layers]
    total = max(widths, default=0.0) + 2 * _MARGIN + 80  # room for back edges on the right
    centres: dict[str, tuple[float, float]] = {}
    for depth, (row, width) in enumerate(zip(plan.layers, widths, strict=True)):
        x = (total - 80 - width) / 2
        y = _MARGIN + depth * _LAYER_GAP + _NODE_HEIGHT / 2
        for node in row:
            centres[node] = (x + _width(node) / 2, y)
            x += _width(node) + _NODE_GAP
    height = _MARGIN * 2 + (len(plan.layers) - 1) * _LAYER_GAP + _NODE_HEIGHT
    parts = [
        f'<svg class="graph" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {total:.0f} '
        f'{height:.0f}" width="{total:.0f}" height="{height:.0f}" role="img" '
        f"aria-label={quoteattr('graph ' + structure.name)}>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" '
        'markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" '
        'class="arrowhead"/></marker></defs>',
    ]
    for edge in structure.edges:
        if edge.source in centres and edge.target in centres:
            back = (edge.source, edge.target) in plan.back_edges
            parts.append(_edge(centres[edge.source], centres[edge.target], back, edge))
    kinds = {n.id: n.kind for n in structure.nodes}
    for node, (cx, cy) in centres.items():
        w = _width(node)
        rx = _NODE_HEIGHT / 2 if kinds.get(node) != "node" else 8
        parts.append(
            f'<g class="gnode gnode-{kinds.get(node, "node")}" data-node={quoteattr(node)}>'
            f'<rect x="{cx - w / 2:.1f}" y="{cy - _NODE_HEIGHT / 2:.1f}" width="{w:.1f}" '
            f'height="{_NODE_HEIGHT}" rx="{rx:.0f}"/>'
            f'<text x="{cx:.1f}" y="{cy + 4.5:.1f}" text-anchor="middle">'
            f"{escape(_label(node))}</text></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _edge(
    source: tuple[float, float], target: tuple[float, float], back: bool, edge: GraphEdge
) -> str:
    label = edge.label
    style = "gedge dashed" if edge.conditional else "gedge"
    (sx, sy), (tx, ty) = source, target
    if back or ty <= sy:
        # Up (a loop back) or sideways: a curve out to the right of both nodes.
        bend = max(sx, tx) + 90
        path = f"M{sx + 20:.1f},{sy:.1f} C{bend:.1f},{sy:.1f} {bend:.1f},{ty:.1f} {tx + 20:.1f},{ty:.1f}"
        lx, ly = bend - 12, (sy + ty) / 2
    else:
        y1, y2 = sy + _NODE_HEIGHT / 2, ty - _NODE_HEIGHT / 2
        mid = (y1 + y2) / 2
        path = f"M{sx:.1f},{y1:.1f} C{sx:.1f},{mid:.1f} {tx:.1f},{mid:.1f} {tx:.1f},{y2:.1f}"
        lx, ly = (sx + tx) / 2, mid
    out = f'<path class="{style}" d="{path}" marker-end="url(#arrow)"/>'
    if label:
        out += (
            f'<text class="elabel" x="{lx:.1f}" y="{ly:.1f}" text-anchor="middle">'
            f"{escape(str(label))}</text>"
        )
    return out
