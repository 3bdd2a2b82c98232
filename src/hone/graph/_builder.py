"""``StateGraph``: declare nodes and edges over a state schema, then ``compile()``."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hone.errors import GraphValidationError
from hone.graph._channels import Channel
from hone.graph._nodes import Branch, goto_targets, takes_config
from hone.graph._state import StateSpec, state_spec
from hone.graph._types import END, START, RetryPolicy

if TYPE_CHECKING:
    from hone.checkpoint import Checkpointer
    from hone.graph._compiled import CompiledGraph

__all__ = ["NodeDef", "StateGraph"]

_RESERVED = frozenset((START, END, "__interrupt__"))


@dataclass(slots=True)
class NodeDef:
    """A node as declared, before compile."""

    name: str
    fn: Any
    retry: RetryPolicy | None
    input_schema: type[Any] | None
    destinations: tuple[str, ...] | None
    may_goto: bool
    metadata: dict[str, Any] = field(default_factory=dict)


class StateGraph:
    """A graph whose nodes read a shared state and return updates to it.

    ``schema`` is a TypedDict, dataclass or pydantic model; a key annotated
    ``Annotated[T, reducer]`` combines updates with ``reducer(old, new)``, other keys keep the
    last value. ``input_schema``/``output_schema`` narrow what the graph takes and returns.
    """

    def __init__(
        self,
        schema: type[Any],
        *,
        input_schema: type[Any] | None = None,
        output_schema: type[Any] | None = None,
    ) -> None:
        self.schema = schema
        self.state: StateSpec = state_spec(schema)
        self.input: StateSpec = state_spec(input_schema) if input_schema else self.state
        self.output: StateSpec = state_spec(output_schema) if output_schema else self.state
        self.channels: dict[str, Channel] = {}
        for spec in (self.state, self.input, self.output):
            self._add_channels(spec)
        self.nodes: dict[str, NodeDef] = {}
        self.edges: set[tuple[str, str]] = set()
        self.joins: list[tuple[tuple[str, ...], str]] = []
        self.branches: dict[str, dict[str, Branch]] = {}

    def _add_channels(self, spec: StateSpec) -> None:
        for key, channel in spec.channels.items():
            self.channels.setdefault(key, channel)

    def add_node(
        self,
        node: str | Callable[..., Any] | Any,
        fn: Callable[..., Any] | Any | None = None,
        *,
        retry_policy: RetryPolicy | None = None,
        input_schema: type[Any] | None = None,
        destinations: Sequence[str] | Mapping[str, str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> StateGraph:
        """Add a node: ``add_node("name", fn)`` or ``add_node(fn)`` (named after the function).

        ``fn`` takes the state (and optionally ``config``), sync or async, and returns an update
        dict, a :class:`Command` or None; it may also be a compiled graph (a subgraph).
        ``destinations`` declares where a node returning ``Command(goto=...)`` may go.

        Raises:
            GraphValidationError: a duplicate or reserved name.
        """
        if fn is None:
            fn = node
            name = getattr(node, "name", None) or getattr(node, "__name__", None)
            if not isinstance(name, str):
                raise GraphValidationError(f"cannot name node {node!r}; use add_node('name', fn)")
        elif isinstance(node, str):
            name = node
        else:
            raise GraphValidationError(f"node name must be a string, got {node!r}")
        self._check_name(name)
        if input_schema is not None:
            self._add_channels(state_spec(input_schema))
        declared, may_goto = self._goto_of(fn, destinations)
        self.nodes[name] = NodeDef(
            name, fn, retry_policy, input_schema, declared, may_goto, dict(metadata or {})
        )
        return self

    @staticmethod
    def _goto_of(
        fn: Any, destinations: Sequence[str] | Mapping[str, str] | None
    ) -> tuple[tuple[str, ...] | None, bool]:
        if destinations is not None:
            return tuple(destinations), False
        from hone.graph._compiled import CompiledGraph

        if isinstance(fn, CompiledGraph):
            return None, fn.may_goto_parent
        return goto_targets(fn)

    def _check_name(self, name: str) -> None:
        if name in _RESERVED or ":" in name or "|" in name:
            raise GraphValidationError(
                f"node name {name!r} is reserved or contains ':' or '|'; choose another name"
            )
        if name in self.nodes:
            raise GraphValidationError(f"a node named {name!r} already exists")

    def add_edge(self, start: str | Sequence[str], end: str) -> StateGraph:
        """Go from ``start`` to ``end``. A list of starts is a join: ``end`` runs once all of
        them have run."""
        if isinstance(start, str):
            if start == END:
                raise GraphValidationError("END cannot be the start of an edge")
            if end == START:
                raise GraphValidationError("START cannot be the end of an edge")
            self.edges.add((start, end))
        else:
            self.joins.append((tuple(start), end))
        return self

    def add_conditional_edges(
        self,
        source: str,
        path: Callable[..., Any],
        path_map: Mapping[Hashable, str] | Sequence[str] | None = None,
    ) -> StateGraph:
        """After ``source``, call ``path(state)`` to choose the next node(s), END, or
        :class:`Send` s. ``path_map`` maps its answers to node names (a list maps names to
        themselves)."""
        mapping: dict[Hashable, str] | None
        if path_map is None:
            mapping = None
        elif isinstance(path_map, Mapping):
            mapping = dict(path_map)
        else:
            mapping = {name: name for name in path_map}
        name = getattr(path, "__name__", "condition")
        if name == "<lambda>":
            name = "condition"
        branches = self.branches.setdefault(source, {})
        if name in branches:
            name = f"{name}_{len(branches)}"
        branches[name] = Branch(source, name, path, mapping, takes_config(path))
        return self

    def add_sequence(self, nodes: Sequence[Callable[..., Any] | tuple[str, Any]]) -> StateGraph:
        """Add nodes that run one after another (functions, or ``(name, fn)`` pairs)."""
        previous: str | None = None
        for item in nodes:
            if isinstance(item, tuple):
                name, fn = item
                self.add_node(name, fn)
            else:
                name = getattr(item, "__name__", "")
                self.add_node(item)
            if previous is not None:
                self.add_edge(previous, name)
            previous = name
        return self

    def set_entry_point(self, node: str) -> StateGraph:
        """Start at ``node`` (same as ``add_edge(START, node)``)."""
        return self.add_edge(START, node)

    def set_conditional_entry_point(
        self,
        path: Callable[..., Any],
        path_map: Mapping[Hashable, str] | Sequence[str] | None = None,
    ) -> StateGraph:
        """Choose the first node(s) with a router."""
        return self.add_conditional_edges(START, path, path_map)

    def set_finish_point(self, node: str) -> StateGraph:
        """Finish after ``node`` (same as ``add_edge(node, END)``)."""
        return self.add_edge(node, END)

    def compile(
        self,
        checkpointer: Checkpointer | None = None,
        *,
        interrupt_before: Sequence[str] | str = (),
        interrupt_after: Sequence[str] | str = (),
        name: str | None = None,
    ) -> CompiledGraph:
        """Validate the graph and make it runnable.

        Raises:
            GraphValidationError: unknown nodes in edges, no entry point, unreachable nodes,
                nodes that can never reach END, unknown path_map targets or interrupt nodes.
        """
        from hone.graph._compiled import CompiledGraph
        from hone.graph._validate import validate

        validate(self, interrupt_before, interrupt_after)
        return CompiledGraph(
            self,
            checkpointer=checkpointer,
            interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
            name=name or "LangGraph",
        )
