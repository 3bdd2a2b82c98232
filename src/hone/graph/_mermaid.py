"""Draw a graph as Mermaid ``flowchart`` text: START/END as stadiums, plain edges solid,
conditional edges dashed (labelled with the router's answer), subgraphs as nested blocks."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from hone.graph._compiled import CompiledGraph
    from hone.graph._structure import GraphEdge, GraphNode, GraphStructure

__all__ = ["draw_mermaid", "draw_structure"]

_UNSAFE = re.compile(r"[^A-Za-z0-9_]")
# Mermaid reads these (in any case) as keywords, not node ids.
_KEYWORDS = frozenset(("end", "graph", "subgraph", "flowchart", "style", "class", "click"))
_ESCAPES = {'"': "#quot;", "<": "#lt;", ">": "#gt;", "|": "#124;", "\n": " "}
_INDENT = "    "
_DEFAULT_NAME = "LangGraph"


def _label(text: str) -> str:
    """Text safe inside a quoted Mermaid label."""
    return "".join(_ESCAPES.get(ch, ch) for ch in text)


class _Ids:
    """Mermaid-safe, unique node ids for graph node names (which may hold any character)."""

    def __init__(self) -> None:
        self._taken: dict[str, str] = {}
        self._used: set[str] = set()

    def of(self, key: str) -> str:
        found = self._taken.get(key)
        if found is not None:
            return found
        base = _UNSAFE.sub("_", key) or "node"
        if base.lower() in _KEYWORDS or base[0].isdigit():
            base = f"n_{base}"
        candidate, n = base, 1
        while candidate in self._used:
            n += 1
            candidate = f"{base}_{n}"
        self._taken[key] = candidate
        self._used.add(candidate)
        return candidate


def _node_line(node: GraphNode, node_id: str, display: str) -> str:
    if node.kind == "start":
        return f'{node_id}(["START"]):::first'
    if node.kind == "end":
        return f'{node_id}(["END"]):::last'
    return f'{node_id}["{_label(display)}"]'


def _edge_line(edge: GraphEdge, source: str, target: str) -> str:
    if not edge.conditional:
        return f"{source} --> {target}"
    if edge.label:
        return f'{source} -.->|"{_label(edge.label)}"| {target}'
    return f"{source} -.-> {target}"


def _draw(
    graph: GraphStructure, ids: _Ids, prefix: str, depth: int, expand: bool, lines: list[str]
) -> None:
    pad = _INDENT * depth
    for node in graph.nodes:
        key = f"{prefix}{node.id}"
        if node.subgraph is not None and expand:
            lines.append(f'{pad}subgraph {ids.of(key)}["{_label(node.id)}"]')
            lines.append(f"{pad}{_INDENT}direction TB")
            _draw(node.subgraph, ids, f"{key}:", depth + 1, expand, lines)
            lines.append(f"{pad}end")
        else:
            lines.append(pad + _node_line(node, ids.of(key), node.id))
    for edge in graph.edges:
        source, target = ids.of(f"{prefix}{edge.source}"), ids.of(f"{prefix}{edge.target}")
        lines.append(pad + _edge_line(edge, source, target))


def _header(name: str) -> str:
    """The comment line naming the drawing (a graph compiled without ``name=`` is called
    "LangGraph", LangGraph's default, which says nothing about this graph)."""
    if name == _DEFAULT_NAME:
        return "graph drawn by hone"
    return f"graph {_label(name)!r} drawn by hone"


def draw_mermaid(graph: GraphStructure | CompiledGraph, *, expand_subgraphs: bool = True) -> str:
    """The graph as Mermaid ``flowchart TD`` text: paste it into https://mermaid.live, or a
    ```` ```mermaid ```` block of GitHub Markdown, to see it.

    ``graph`` is a compiled graph or its :meth:`~hone.graph.CompiledGraph.get_graph` structure.
    With ``expand_subgraphs``, a node that runs a compiled graph is drawn as a ``subgraph``
    block holding that graph's own nodes and edges (edges into the node point at the block);
    otherwise it is one box. Node names are escaped, so any name draws.
    """
    # A compiled graph draws its structure (the structure module imports this one).
    if hasattr(graph, "get_graph"):
        from hone.graph._structure import structure

        graph = structure(cast("CompiledGraph", graph), xray=expand_subgraphs)
    return draw_structure(graph, expand_subgraphs=expand_subgraphs)


def draw_structure(graph: GraphStructure, *, expand_subgraphs: bool = True) -> str:
    """:func:`draw_mermaid` of a graph's structure."""
    lines = ["flowchart TD", f"{_INDENT}%% {_header(graph.name)}"]
    _draw(graph, _Ids(), "", 1, expand_subgraphs, lines)
    lines.append(f"{_INDENT}classDef first fill-opacity:0")
    lines.append(f"{_INDENT}classDef last fill:#bfb6fc")
    return "\n".join(lines) + "\n"
