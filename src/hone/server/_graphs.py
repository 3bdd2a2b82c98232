"""The graphs a server runs: resolved once from their paths, bound to the server's
checkpointer and store, described as JSON (schemas, nodes and edges).

Each graph gets a default assistant whose id is the graph's UUID 5 in LangGraph's
namespace, so ``client.assistants.get(...)`` finds the same ids as against LangGraph's
server; the graph id itself is accepted wherever an assistant id is.
"""

from __future__ import annotations

import inspect
import logging
import os
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hone._imports import import_object
from hone.errors import ConfigError
from hone.graph import END, START, CompiledGraph, StateGraph
from hone.graph._schemas import (
    context_jsonschema,
    input_jsonschema,
    output_jsonschema,
    type_jsonschema,
)
from hone.graph._structure import structure

__all__ = ["GraphRegistry", "assistant_id_for", "graph_json", "graph_schemas"]

logger = logging.getLogger(__name__)

#: LangGraph's namespace for the default assistants' ids (``uuid5(NAMESPACE, graph_id)``).
_NAMESPACE_GRAPH = uuid.UUID("6ba7b821-9dad-11d1-80b4-00c04fd430c8")


def assistant_id_for(graph_id: str) -> str:
    """The id of a graph's default assistant (the same as LangGraph's server gives)."""
    return str(uuid.uuid5(_NAMESPACE_GRAPH, graph_id))


@dataclass(frozen=True, slots=True)
class _Entry:
    graph_id: str
    #: The graph, compiled; for a factory, the graph it returned at startup.
    graph: CompiledGraph
    #: A function returning the graph, called per run (None: one graph for all runs).
    factory: Any
    takes_config: bool


def _as_graph(obj: Any, where: str) -> CompiledGraph:
    if isinstance(obj, CompiledGraph):
        return obj
    if isinstance(obj, StateGraph):
        return obj.compile()
    module = type(obj).__module__
    if module.startswith("langgraph."):
        raise ConfigError(
            f"{where} is a LangGraph graph; hone server runs hone graphs: import StateGraph "
            "from hone.graph instead of langgraph.graph"
        )
    raise ConfigError(
        f"{where} is a {type(obj).__name__}; expected a compiled hone graph, a StateGraph, "
        "or a function returning one"
    )


def _takes_config(fn: Any) -> bool:
    try:
        params = [
            p
            for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        return False
    return bool(params)


async def _call_factory(entry: _Entry, config: Mapping[str, Any]) -> Any:
    result = entry.factory(dict(config)) if entry.takes_config else entry.factory()
    if inspect.isawaitable(result):
        result = await result
    return result


class GraphRegistry:
    """The server's graphs by id, each bound to one checkpointer and store."""

    def __init__(
        self,
        specs: Mapping[str, Any],
        *,
        base_dir: str | os.PathLike[str],
        checkpointer: Any,
        store: Any,
    ) -> None:
        self._checkpointer = checkpointer
        self._store = store
        self._entries: dict[str, _Entry] = {}
        for graph_id, spec in specs.items():
            self._entries[graph_id] = self._load(graph_id, spec, base_dir)

    def _load(self, graph_id: str, spec: Any, base_dir: str | os.PathLike[str]) -> _Entry:
        where = f"graph {graph_id!r}"
        obj = spec
        if isinstance(spec, str):
            try:
                obj = import_object(spec, base_dir=base_dir)
            except ConfigError as exc:
                raise ConfigError(f"{where} ({spec}): {exc}") from exc
            where = f"graph {graph_id!r} ({spec})"
        if isinstance(obj, CompiledGraph | StateGraph) or not callable(obj):
            return _Entry(graph_id, self._bind(_as_graph(obj, where)), None, False)
        takes_config = _takes_config(obj)
        try:
            built = obj({}) if takes_config else obj()
        except Exception as exc:
            raise ConfigError(f"{where}: its factory failed: {type(exc).__name__}: {exc}") from exc
        if inspect.isawaitable(built):
            close = getattr(built, "close", None)
            if close is not None:
                close()
            raise ConfigError(f"{where}: async graph factories are not supported; make it sync")
        return _Entry(graph_id, self._bind(_as_graph(built, where)), obj, takes_config)

    def _bind(self, graph: CompiledGraph) -> CompiledGraph:
        if graph.checkpointer not in (None, False, True):
            logger.info(
                "graph %r brought its own checkpointer; the server's replaces it", graph.name
            )
        return graph.copy({"checkpointer": self._checkpointer, "store": self._store})

    @property
    def ids(self) -> list[str]:
        """The graph ids, in config order."""
        return list(self._entries)

    def __contains__(self, graph_id: object) -> bool:
        return graph_id in self._entries

    def graph(self, graph_id: str) -> CompiledGraph:
        """The graph (a factory's startup graph) for inspection: schemas, drawing, state.

        Raises:
            KeyError: no such graph.
        """
        return self._entries[graph_id].graph

    async def for_run(self, graph_id: str, config: Mapping[str, Any]) -> CompiledGraph:
        """The graph a run executes (a factory is called with the run's config).

        Raises:
            KeyError: no such graph.
            ConfigError: the factory did not return a graph.
        """
        entry = self._entries[graph_id]
        if entry.factory is None:
            return entry.graph
        built = await _call_factory(entry, config)
        return self._bind(_as_graph(built, f"graph {graph_id!r}'s factory result"))


def _described(derive: Callable[[Any], dict[str, Any] | None], source: Any) -> Any:
    """A JSON schema, or None for a type pydantic cannot describe (what the API says then)."""
    try:
        return derive(source)
    except Exception:
        return None


def graph_schemas(graph_id: str, graph: CompiledGraph) -> dict[str, Any]:
    """The API's ``GraphSchema``: JSON schemas of the graph's input, output, state and
    context, derived as LangGraph derives them (None where a type has no JSON schema)."""
    builder = graph.builder
    state = builder.state_schema if builder is not None else None
    return {
        "graph_id": graph_id,
        "input_schema": _described(input_jsonschema, graph),
        "output_schema": _described(output_jsonschema, graph),
        "state_schema": None if state is None else _described(type_jsonschema, state),
        "config_schema": None,
        "context_schema": _described(context_jsonschema, graph),
    }


def graph_json(graph: CompiledGraph, *, xray: bool) -> dict[str, Any]:
    """The API's drawable graph: ``{"nodes": [...], "edges": [...]}`` (with ``xray``,
    subgraphs' nodes inline as ``parent:child``)."""
    nodes: list[dict[str, Any]] = []
    edges: list[dict[str, Any]] = []
    _flatten(structure(graph, xray=xray).to_dict(), "", nodes, edges)
    return {"nodes": nodes, "edges": edges}


def _flatten(
    data: dict[str, Any], prefix: str, nodes: list[dict[str, Any]], edges: list[dict[str, Any]]
) -> None:
    inner: set[str] = set()
    for node in data["nodes"]:
        sub = node.get("subgraph")
        if sub is not None:
            inner.add(node["id"])
            _flatten(sub, f"{prefix}{node['id']}:", nodes, edges)
            continue
        ident = f"{prefix}{node['id']}"
        if node["id"] in (START, END):
            nodes.append({"id": ident, "type": "schema", "data": node["id"]})
        else:
            nodes.append(
                {
                    "id": ident,
                    "type": "runnable",
                    "data": {"id": ["hone", "graph", node["id"]], "name": node["id"]},
                    "metadata": node.get("metadata") or {},
                }
            )

    def endpoint(name: str, *, as_source: bool) -> str:
        if name in inner:
            return f"{prefix}{name}:{END if as_source else START}"
        return f"{prefix}{name}"

    for edge in data["edges"]:
        out: dict[str, Any] = {
            "source": endpoint(edge["source"], as_source=True),
            "target": endpoint(edge["target"], as_source=False),
        }
        if edge.get("conditional"):
            out["conditional"] = True
        if edge.get("label"):
            out["data"] = edge["label"]
        edges.append(out)
