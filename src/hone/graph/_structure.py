"""A compiled graph's structure as plain data, for drawing (Mermaid) and inspection."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from hone.graph._mermaid import draw_structure
from hone.graph._types import END, START

if TYPE_CHECKING:
    from hone.graph._compiled import CompiledGraph

__all__ = ["GraphEdge", "GraphNode", "GraphStructure", "structure"]


@dataclass(frozen=True, slots=True)
class GraphNode:
    """A node; ``kind`` tells the START/END markers apart."""

    id: str
    kind: Literal["start", "end", "node"] = "node"
    #: The subgraph's structure when the node is a compiled graph (always set with xray).
    subgraph: GraphStructure | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class GraphEdge:
    """An edge. Conditional edges come from routers or Command destinations; ``label`` is
    the router's answer (path_map key) when it differs from the target."""

    source: str
    target: str
    conditional: bool = False
    label: str | None = None


@dataclass(frozen=True, slots=True)
class GraphStructure:
    """Nodes and edges of a graph."""

    name: str
    nodes: tuple[GraphNode, ...]
    edges: tuple[GraphEdge, ...]

    def draw_mermaid(self) -> str:
        """The graph as Mermaid text (:func:`~hone.graph.draw_mermaid`), as LangGraph's
        ``get_graph().draw_mermaid()``."""
        return draw_structure(self)

    def draw_mermaid_png(
        self,
        *,
        output_file_path: str | None = None,
        draw_method: Any = None,
        background_color: str | None = "white",
        padding: int = 10,
        max_retries: int = 1,
        retry_delay: float = 1.0,
        base_url: str | None = None,
    ) -> bytes:
        """The graph as a PNG image, as LangGraph's ``get_graph().draw_mermaid_png()`` (for a
        notebook's ``Image(...)``): :meth:`draw_mermaid`'s text rendered by LangChain's
        Mermaid renderer — by default through the mermaid.ink web service (network needed),
        or a local browser with ``draw_method=MermaidDrawMethod.PYPPETEER``. Needs
        langchain-core; ``output_file_path`` also writes the image there."""
        from langchain_core.runnables.graph import MermaidDrawMethod
        from langchain_core.runnables.graph_mermaid import draw_mermaid_png

        return draw_mermaid_png(
            mermaid_syntax=self.draw_mermaid(),
            output_file_path=output_file_path,
            draw_method=draw_method or MermaidDrawMethod.API,
            background_color=background_color,
            padding=padding,
            max_retries=max_retries,
            retry_delay=retry_delay,
            base_url=base_url,
        )

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly dict."""
        return {
            "name": self.name,
            "nodes": [
                {
                    "id": n.id,
                    "kind": n.kind,
                    "metadata": n.metadata,
                    "subgraph": n.subgraph.to_dict() if n.subgraph else None,
                }
                for n in self.nodes
            ],
            "edges": [
                {
                    "source": e.source,
                    "target": e.target,
                    "conditional": e.conditional,
                    "label": e.label,
                }
                for e in self.edges
            ],
        }


def _branch_edges(graph: CompiledGraph) -> list[GraphEdge]:
    edges: list[GraphEdge] = []
    everything = [*graph.nodes, END]
    assert graph.builder is not None
    for source, branches in graph.builder.branches.items():
        for branch in branches.values():
            if branch.ends is not None:
                for key, target in branch.ends.items():
                    label = None if str(key) == target else str(key)
                    edges.append(GraphEdge(source, target, True, label))
                continue
            for target in everything:
                if target not in (source, START):
                    edges.append(GraphEdge(source, target, True))
    return edges


def structure(graph: CompiledGraph, *, xray: bool = False) -> GraphStructure:
    """The structure of ``graph``; ``xray`` includes subgraphs' structures."""
    builder = graph.builder
    if builder is None:  # an entrypoint: START -> its function -> END
        name = next(n for n in graph.nodes)
        return GraphStructure(
            graph.name,
            (GraphNode(START, "start"), GraphNode(name, "node"), GraphNode(END, "end")),
            (GraphEdge(START, name), GraphEdge(name, END)),
        )
    nodes = [GraphNode(START, "start")]
    for name, spec in graph.nodes.items():
        if name == START:
            continue
        sub = structure(spec.subgraph, xray=True) if (xray and spec.subgraph is not None) else None
        nodes.append(GraphNode(name, "node", sub, dict(spec.metadata)))
    nodes.append(GraphNode(END, "end"))
    edges = [GraphEdge(s, t) for s, t in sorted(builder.edges)]
    for sources, target in sorted(builder.waiting_edges):
        edges.extend(GraphEdge(s, target) for s in sources)
    edges.extend(_branch_edges(graph))
    for name, definition in builder.nodes.items():
        ends = definition.ends
        if isinstance(ends, dict):
            edges.extend(GraphEdge(name, t, True, label) for t, label in ends.items())
        else:
            edges.extend(GraphEdge(name, t, True) for t in ends)
    return GraphStructure(graph.name, tuple(nodes), _one_per_pair(edges))


def _one_per_pair(edges: list[GraphEdge]) -> tuple[GraphEdge, ...]:
    """One edge per (source, target), in order of first appearance.

    The same pair can be declared several ways at once: a plain edge and a ``Command``
    annotation (a supervisor's workers that both ``add_edge`` back to it and return
    ``Command[Literal["supervisor"]]``), or several router answers leading to one node. A
    plain edge always fires, so it wins; otherwise the conditional edge carries every router
    answer that differs from the target's name.
    """
    groups: dict[tuple[str, str], list[GraphEdge]] = {}
    for edge in edges:
        groups.setdefault((edge.source, edge.target), []).append(edge)
    merged: list[GraphEdge] = []
    for (source, target), group in groups.items():
        if any(not edge.conditional for edge in group):
            merged.append(GraphEdge(source, target))
            continue
        answers = [edge.label for edge in group]
        label = None
        if any(answer is not None for answer in answers):
            label = ", ".join(dict.fromkeys(answer or target for answer in answers))
        merged.append(GraphEdge(source, target, True, label))
    return tuple(merged)
