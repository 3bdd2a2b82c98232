"""A compiled graph as LangChain's drawable ``Graph``, node for node and edge for edge what
LangGraph's ``get_graph()`` returns for the same program.

Every drawing LangChain offers then works unchanged: ``draw_mermaid(with_styles=...,
curve_style=..., node_colors=..., wrap_label_n_words=...)``, ``draw_ascii()``,
``to_json()``, ``draw_mermaid_png()``, ``draw_png()``. The edges come from
:mod:`hone.graph._draw_walk`; this module adds LangGraph's node metadata (``defer``,
``__interrupt``, ``__tools``), its END edges and its xray subgraph expansion.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hone.graph._draw_walk import (
    DrawnEdge,
    WalkNode,
    WalkResult,
    branch_channel,
    channel_kinds,
    edge_sort_key,
    join_channel,
    walk,
)
from hone.graph._runnable import as_runnable
from hone.graph._types import END, START

if TYPE_CHECKING:
    from langchain_core.runnables.graph import Graph

    from hone.graph._builder import StateGraph
    from hone.graph._compiled import CompiledGraph

__all__ = ["langchain_available", "langchain_graph"]


@functools.cache
def langchain_available() -> bool:
    """Whether langchain-core is installed (then ``get_graph()`` returns its ``Graph``)."""
    try:
        import langchain_core.runnables.graph  # noqa: F401
    except ImportError:
        return False
    return True


@functools.cache
def _node_data_class() -> type[Any]:
    from langchain_core.runnables import Runnable

    class DrawnNode(Runnable[Any, Any]):
        """A node in a drawing: it carries the node's name (``to_json`` shows it); run the
        graph, not the drawing."""

        def __init__(self, name: str) -> None:
            self.name = name

        def invoke(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
            raise NotImplementedError(
                f"node {self.name!r} of a drawing cannot run; invoke the compiled graph"
            )

    return DrawnNode


def langchain_graph(graph: CompiledGraph, *, xray: int | bool = False) -> Graph:
    """LangChain's ``Graph`` of ``graph`` as LangGraph draws it; with ``xray``, subgraph nodes
    are replaced by their own nodes (``parent:child`` ids), ``xray`` levels deep (all
    levels with ``True``)."""
    from langchain_core.runnables.graph import Graph

    nodes = _walk_nodes(graph)
    builder = graph.builder
    deferred = {n for n, d in builder.nodes.items() if d.defer} if builder is not None else set()
    joins = _joins(builder) if builder is not None else []
    result = walk(nodes, channel_kinds((n.name for n in nodes), joins, deferred))
    drawn = Graph()
    for node in nodes:
        metadata = _metadata(graph, node.name, result)
        spec = graph.nodes.get(node.name)
        # A subgraph node's data is the subgraph (as LangGraph's), as a runnable.
        subgraph = spec.subgraph if spec is not None else None
        payload = as_runnable(subgraph) if subgraph is not None else _node_data(graph, node.name)
        drawn.add_node(payload, node.name, metadata=metadata or None)
    if all(node.name != START for node in nodes):  # an entrypoint: START is no node
        drawn.add_node(None, START)
        for task in result.start:
            _add_edge(drawn, START, task)
    _add_edges(drawn, result)
    if xray:
        deeper = xray if isinstance(xray, bool) else xray - 1
        for name, sub in graph.get_subgraphs():
            _inline(drawn, name, langchain_graph(sub, xray=deeper))
    return drawn


def _node_data(graph: CompiledGraph, name: str) -> Any:
    """A node's data: its action when that is a LangChain runnable (as LangGraph's), else a
    placeholder runnable named after the node."""
    from langchain_core.runnables import Runnable

    definition = graph.builder.nodes.get(name) if graph.builder is not None else None
    if definition is not None and isinstance(definition.action, Runnable):
        return definition.action
    return _node_data_class()(name)


def _walk_nodes(graph: CompiledGraph) -> list[WalkNode]:
    builder = graph.builder
    if builder is None:  # an entrypoint: one node run by the input
        return [WalkNode(name, (START,)) for name in graph.nodes if name != START]
    joins = _joins(builder)
    nodes = [WalkNode(START, (START,), _plain(builder, START, joins), _declared(builder, START))]
    for name in builder.nodes:
        joined = [join_channel(sources, target) for sources, target in joins if target == name]
        triggers = (branch_channel(name), *joined)
        nodes.append(
            WalkNode(name, triggers, _plain(builder, name, joins), _declared(builder, name))
        )
    return nodes


def _joins(builder: StateGraph) -> list[tuple[tuple[str, ...], str]]:
    return [(s, t) for s, t in sorted(builder.waiting_edges) if t != END]


def _plain(
    builder: StateGraph, name: str, joins: list[tuple[tuple[str, ...], str]]
) -> tuple[tuple[str, str | None], ...]:
    writes: list[tuple[str, str | None]] = [
        (branch_channel(t), None) for s, t in sorted(builder.edges) if s == name and t != END
    ]
    writes.extend((join_channel(s, t), name) for s, t in joins if name in s)
    return tuple(writes)


def _declared(builder: StateGraph, name: str) -> tuple[tuple[tuple[str, str | None], ...], ...]:
    """Each router's declared answers, then the node's ``Command`` destinations."""

    def channel(target: str) -> str:
        return target if target == END else branch_channel(target)

    groups: list[tuple[tuple[str, str | None], ...]] = []
    definition = builder.nodes.get(name)
    if definition is not None and definition.ends:
        ends = definition.ends
        if isinstance(ends, Mapping):
            groups.append(tuple((channel(t), label) for t, label in ends.items()))
        else:
            groups.append(tuple((channel(t), None) for t in ends))
    for branch in builder.branches.get(name, {}).values():
        if branch.ends:
            groups.append(tuple((channel(t), str(key)) for key, t in branch.ends.items()))
    return tuple(groups)


def _interrupts(value: Sequence[str] | str) -> Sequence[str]:
    if isinstance(value, str):
        return () if value == "*" else (value,)
    return value


def _metadata(graph: CompiledGraph, name: str, result: WalkResult) -> dict[str, Any]:
    spec = graph.nodes.get(name)
    metadata: dict[str, Any] = dict(spec.metadata or {}) if spec is not None else {}
    if name in result.deferred:
        metadata["defer"] = True
    before = name in _interrupts(graph.interrupt_before_nodes)
    after = name in _interrupts(graph.interrupt_after_nodes)
    if before or after:
        metadata["__interrupt"] = ",".join(
            w for w, on in (("before", before), ("after", after)) if on
        )
    definition = graph.builder.nodes.get(name) if graph.builder is not None else None
    tools = getattr(definition.action, "tools_by_name", None) if definition else None
    if isinstance(tools, Mapping) and tools:
        metadata["__tools"] = list(tools)
    return metadata


def _add_edge(
    drawn: Graph, source: str, target: str, *, label: str | None = None, conditional: bool = False
) -> None:
    """One edge per (source, target), the first kept; END joins the nodes on first use."""
    if any(e.source == source and e.target == target for e in drawn.edges):
        return
    if target == END and END not in drawn.nodes:
        drawn.add_node(None, END)
    drawn.add_edge(drawn.nodes[source], drawn.nodes[target], label, conditional)


def _add_edges(drawn: Graph, result: WalkResult) -> None:
    """The walk's edges in LangGraph's order, then the edges to END: from every node that
    leads nowhere, or (when none does and nothing reached END) a dashed one from the last
    step's only node."""
    edges: list[DrawnEdge] = sorted(result.edges, key=edge_sort_key)
    for e in edges:
        label = e.label if e.label != e.target else None
        _add_edge(drawn, e.source, e.target, label=label, conditional=e.conditional)
    termini = {e.target for e in edges if e.target != END} - {e.source for e in edges}
    if termini:
        for source in sorted(termini):
            _add_edge(drawn, source, END)
    elif len(result.last_step) == 1 and not any(e.target == END for e in edges):
        _add_edge(drawn, result.last_step[0], END, conditional=True)


def _inline(drawn: Graph, name: str, sub: Graph) -> None:
    """Replace node ``name`` with ``sub``'s nodes (ids ``name:child``), without its START and
    END where they have one edge; edges into the node go to its first node, edges out leave
    from its last."""
    if len(sub.nodes) <= 1 or name not in drawn.nodes:
        return
    if sub.first_node() is None or sub.last_node() is None:
        return
    sub.trim_first_node()
    sub.trim_last_node()
    drawn.nodes.pop(name)
    first, last = drawn.extend(sub, prefix=name)
    for index, edge in enumerate(drawn.edges):
        if edge.source == name and last is not None:
            edge = edge.copy(source=last.id)
        if edge.target == name and first is not None:
            edge = edge.copy(target=first.id)
        drawn.edges[index] = edge
