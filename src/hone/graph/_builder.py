"""``StateGraph``: declare nodes and edges over a state schema, then ``compile()``."""

from __future__ import annotations

import logging
import warnings
from collections import defaultdict
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from hone.errors import GraphValidationError
from hone.graph._channels import Channel, LastValue
from hone.graph._constants import END, NS_END, NS_SEP, START
from hone.graph._nodes import Branch, Callee, destinations_of
from hone.graph._state import ManagedValue, input_schema_of, schema_info
from hone.graph._types import CachePolicy, RetryPolicy, TimeoutPolicy, TracePolicy

if TYPE_CHECKING:
    from hone.graph._compiled import CompiledGraph

__all__ = ["NodeDef", "StateGraph"]

logger = logging.getLogger(__name__)

#: The auto-generated node of ``set_node_defaults(error_handler=...)``.
DEFAULT_ERROR_HANDLER = "__default_error_handler__"


@dataclass(slots=True)
class NodeDef:
    """A node as declared, before compile."""

    name: str
    action: Any
    input_schema: Any
    metadata: dict[str, Any] | None = None
    retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None
    cache_policy: CachePolicy | None = None
    trace_policy: TracePolicy | None = None
    #: Declared destinations of ``Command(goto=...)`` (names, or {name: label}).
    ends: tuple[str, ...] | dict[str, str] = ()
    #: Run only when the graph is about to finish (after all other pending work).
    defer: bool = False
    timeout: TimeoutPolicy | None = None
    #: The node that handles this node's failures.
    error_handler: str | None = None
    is_error_handler: bool = False
    extra: dict[str, Any] = field(default_factory=dict)
    #: The action's calling convention, read when the node is added.
    callee: Callee | None = None

    @property
    def runnable(self) -> _Action:
        """The node's action as LangGraph's ``StateNodeSpec.runnable`` shows it (``.func``,
        ``.name``)."""
        return _Action(self.action, self.name)


@dataclass(frozen=True, slots=True)
class _Action:
    func: Any
    name: str


def _node_name(action: Any) -> str:
    name = getattr(action, "name", None)
    if isinstance(name, str) and name:
        return name
    name = getattr(action, "__name__", None)
    if isinstance(name, str):
        return name
    return type(action).__name__


class StateGraph:
    """A graph whose nodes read a shared state and return updates to it.

    ``state_schema`` is a TypedDict, dataclass, pydantic model or annotated class; a key
    annotated ``Annotated[T, reducer]`` combines updates with ``reducer(old, new)``, other
    keys keep the last value. A schema without keys (``Annotated[list, operator.add]``) makes
    the whole state one value. ``input_schema``/``output_schema`` narrow what the graph takes
    and returns; ``context_schema`` types the run context nodes read from ``runtime.context``.
    """

    def __init__(
        self,
        state_schema: Any = None,
        context_schema: Any = None,
        *,
        input_schema: Any = None,
        output_schema: Any = None,
        **deprecated: Any,
    ) -> None:
        for old, new in (("input", "input_schema"), ("output", "output_schema")):
            if old in deprecated:
                warnings.warn(
                    f"`{old}` is deprecated; use `{new}`", DeprecationWarning, stacklevel=2
                )
        input_schema = input_schema or deprecated.pop("input", None)
        output_schema = output_schema or deprecated.pop("output", None)
        if "config_schema" in deprecated:
            warnings.warn(
                "`config_schema` is deprecated; use `context_schema`",
                DeprecationWarning,
                stacklevel=2,
            )
            context_schema = context_schema or deprecated.pop("config_schema")
        if deprecated:
            raise TypeError(f"StateGraph() got unexpected arguments: {sorted(deprecated)}")
        if state_schema is None:
            if input_schema is None or output_schema is None:
                raise GraphValidationError(
                    "StateGraph needs a state_schema (or both input_schema and output_schema)"
                )
            state_schema = input_schema
        self.state_schema = state_schema
        self.input_schema = input_schema or state_schema
        self.output_schema = output_schema or state_schema
        self.context_schema = context_schema
        self.nodes: dict[str, NodeDef] = {}
        self.edges: set[tuple[str, str]] = set()
        self.waiting_edges: set[tuple[tuple[str, ...], str]] = set()
        self.branches: defaultdict[str, dict[str, Branch]] = defaultdict(dict)
        self.channels: dict[str, Channel] = {}
        self.managed: dict[str, type[ManagedValue]] = {}
        #: Schema -> its keys (channels and managed values).
        self.schemas: dict[Any, list[str]] = {}
        self.compiled = False
        self._defaults: dict[str, Any] = {}
        self._add_schema(self.state_schema)
        self._add_schema(self.input_schema, allow_managed=False)
        self._add_schema(self.output_schema, allow_managed=False)

    # ------------------------------------------------------------------ schemas

    def _add_schema(self, schema: Any, *, allow_managed: bool = True) -> None:
        if schema in self.schemas:
            return
        info = schema_info(schema)
        if info.managed and not allow_managed:
            raise GraphValidationError(
                f"Invalid managed channels detected in {getattr(schema, '__name__', schema)}: "
                f"{', '.join(info.managed)}. Managed channels are not permitted in "
                f"Input/Output schema."
            )
        self.schemas[schema] = info.keys
        for key, channel in info.channels.items():
            known = self.channels.get(key)
            if known is None:
                self.channels[key] = channel
            elif known != channel and not isinstance(channel, LastValue):
                if isinstance(known, LastValue):
                    self.channels[key] = channel
                else:
                    raise GraphValidationError(
                        f"Channel '{key}' already exists with a different type"
                    )
        for key, managed in info.managed.items():
            if key in self.managed and self.managed[key] is not managed:
                raise GraphValidationError(
                    f"Managed value '{key}' already exists with a different type"
                )
            self.managed[key] = managed

    @property
    def _all_edges(self) -> set[tuple[str, str]]:
        return self.edges | {(s, e) for starts, e in self.waiting_edges for s in starts}

    # ------------------------------------------------------------------ nodes

    def set_node_defaults(
        self,
        *,
        retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
        cache_policy: CachePolicy | None = None,
        error_handler: Any = None,
        timeout: float | timedelta | TimeoutPolicy | None = None,
    ) -> StateGraph:
        """Policies for every node that does not set its own (applied at compile).

        ``retry_policy`` and ``timeout`` also apply to error-handler nodes; ``cache_policy``
        and ``error_handler`` only to regular nodes.
        """
        if retry_policy is not None:
            self._defaults["retry_policy"] = retry_policy
        if cache_policy is not None:
            self._defaults["cache_policy"] = cache_policy
        if error_handler is not None:
            self._defaults["error_handler"] = error_handler
        if timeout is not None:
            self._defaults["timeout"] = TimeoutPolicy.coerce(timeout)
        return self

    def add_node(
        self,
        node: str | Any,
        action: Any = None,
        *,
        defer: bool = False,
        metadata: dict[str, Any] | None = None,
        input_schema: Any = None,
        retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
        cache_policy: CachePolicy | None = None,
        destinations: dict[str, str] | tuple[str, ...] | Sequence[str] | None = None,
        error_handler: Any = None,
        timeout: float | timedelta | TimeoutPolicy | None = None,
        trace_policy: TracePolicy | None = None,
        **deprecated: Any,
    ) -> StateGraph:
        """Add a node: ``add_node("name", fn)`` or ``add_node(fn)`` (named after it).

        ``fn`` takes the state (or its ``input_schema``; by default the annotation of its
        first parameter when that is a schema class), sync or async, and returns an update,
        a :class:`Command` or None; it may also be a compiled graph (a subgraph).
        ``destinations`` declares where a node returning ``Command(goto=...)`` may go;
        ``defer`` runs it only when the graph is about to finish; ``error_handler`` is
        called with the failed node's input and ``error`` when it fails;
        ``trace_policy`` shapes what the node's callback run records (:class:`TracePolicy`).

        Raises:
            GraphValidationError: a duplicate or reserved name.
        """
        if "retry" in deprecated:
            warnings.warn("`retry` is deprecated; use `retry_policy`", DeprecationWarning, 2)
            retry_policy = retry_policy or deprecated.pop("retry")
        if "input" in deprecated:
            warnings.warn("`input` is deprecated; use `input_schema`", DeprecationWarning, 2)
            input_schema = input_schema or deprecated.pop("input")
        if deprecated:
            raise TypeError(f"add_node() got unexpected arguments: {sorted(deprecated)}")
        if not isinstance(node, str):
            action, node = node, _node_name(node)
        if action is None:
            raise GraphValidationError(f"node {node!r} needs an action (a function or graph)")
        if self.compiled:
            logger.warning(
                "Adding a node to a graph that has already been compiled. This will not be "
                "reflected in the compiled graph."
            )
        if node in self.nodes:
            raise GraphValidationError(f"Node `{node}` already present.")
        if node in (START, END):
            raise GraphValidationError(f"Node `{node}` is reserved.")
        for char in (NS_SEP, NS_END):
            if char in node:
                raise GraphValidationError(
                    f"'{char}' is a reserved character and is not allowed in the node names."
                )
        from hone.graph._compiled import CompiledGraph

        callee = None if isinstance(action, CompiledGraph) else Callee.of(action, node)
        inferred = None if input_schema is not None else input_schema_of(action)
        ends: tuple[str, ...] | dict[str, str] = destinations_of(action)
        if destinations is not None:
            ends = dict(destinations) if isinstance(destinations, Mapping) else tuple(destinations)
        schema = input_schema or inferred or self.state_schema
        handler = None
        if error_handler is not None:
            handler = f"__error_handler__{node}"
            if handler in self.nodes:
                raise GraphValidationError(f"Error handler node `{handler}` already exists.")
            self.nodes[handler] = NodeDef(handler, error_handler, schema, is_error_handler=True)
        self.nodes[node] = NodeDef(
            name=node,
            action=action,
            input_schema=schema,
            metadata=metadata,
            retry_policy=retry_policy,
            cache_policy=cache_policy,
            trace_policy=trace_policy,
            ends=ends,
            defer=defer,
            timeout=TimeoutPolicy.coerce(timeout),
            error_handler=handler,
            callee=callee,
        )
        if input_schema is not None or inferred is not None:
            self._add_schema(schema)
        return self

    # ------------------------------------------------------------------ edges

    def add_edge(self, start_key: str | Sequence[str], end_key: str) -> StateGraph:
        """Go from ``start_key`` to ``end_key``. A list of starts is a join: ``end_key``
        runs once all of them have run.

        Raises:
            GraphValidationError: START as an end, END as a start, unknown join nodes.
        """
        if self.compiled:
            logger.warning(
                "Adding an edge to a graph that has already been compiled. This will not be "
                "reflected in the compiled graph."
            )
        if isinstance(start_key, str):
            if start_key == END:
                raise GraphValidationError("END cannot be a start node")
            if end_key == START:
                raise GraphValidationError("START cannot be an end node")
            self.edges.add((start_key, end_key))
            return self
        for start in start_key:
            if start == END:
                raise GraphValidationError("END cannot be a start node")
            if start not in self.nodes:
                raise GraphValidationError(f"Need to add_node `{start}` first")
        if end_key == START:
            raise GraphValidationError("START cannot be an end node")
        if end_key != END and end_key not in self.nodes:
            raise GraphValidationError(f"Need to add_node `{end_key}` first")
        self.waiting_edges.add((tuple(start_key), end_key))
        return self

    def add_conditional_edges(
        self,
        source: str,
        path: Callable[..., Any] | Any,
        path_map: Mapping[Hashable, str] | Sequence[str] | None = None,
    ) -> StateGraph:
        """After ``source``, call ``path(state)`` to choose the next node(s), END, or
        :class:`Send` packets. ``path_map`` maps its answers to node names (a list maps
        names to themselves); without it, a ``Literal`` return annotation declares them.

        Raises:
            GraphValidationError: a second router with the same name on ``source``.
        """
        if self.compiled:
            logger.warning(
                "Adding an edge to a graph that has already been compiled. This will not be "
                "reflected in the compiled graph."
            )
        name = getattr(path, "name", None) or getattr(path, "__name__", None) or "condition"
        if name == "<lambda>":
            name = "condition"
        if name in self.branches[source]:
            raise GraphValidationError(
                f"Branch with name `{name}` already exists for node `{source}`"
            )
        schema = input_schema_of(path)
        self.branches[source][name] = Branch.of(source, name, path, path_map, schema)
        if schema is not None:
            self._add_schema(schema)
        return self

    def add_sequence(self, nodes: Sequence[Any]) -> StateGraph:
        """Add nodes that run one after another (functions, or ``(name, fn)`` pairs).

        Raises:
            GraphValidationError: an empty sequence or duplicate names.
        """
        if len(nodes) < 1:
            raise GraphValidationError("Sequence requires at least one node.")
        previous: str | None = None
        for item in nodes:
            if isinstance(item, tuple) and len(item) == 2:
                name, action = item
            else:
                name, action = _node_name(item), item
            if name in self.nodes:
                raise GraphValidationError(
                    f"Node names must be unique: node with the name '{name}' already exists. "
                    f"If you need to use two different callables with the same name (for "
                    f"example, using `lambda`), please provide them as tuples (name, callable)."
                )
            self.add_node(name, action)
            if previous is not None:
                self.add_edge(previous, name)
            previous = name
        return self

    def set_entry_point(self, key: str) -> StateGraph:
        """Start at ``key`` (same as ``add_edge(START, key)``)."""
        return self.add_edge(START, key)

    def set_conditional_entry_point(
        self, path: Any, path_map: Mapping[Hashable, str] | Sequence[str] | None = None
    ) -> StateGraph:
        """Choose the first node(s) with a router."""
        return self.add_conditional_edges(START, path, path_map)

    def set_finish_point(self, key: str) -> StateGraph:
        """Finish after ``key`` (same as ``add_edge(key, END)``)."""
        return self.add_edge(key, END)

    # ------------------------------------------------------------------ compile

    def validate(self, interrupt: Sequence[str] | None = None) -> StateGraph:
        """Check the graph's structure (what ``compile()`` checks).

        Raises:
            GraphValidationError: an edge from or to an unknown node, no entry point, an
                unknown router destination, an unknown interrupt node.
        """
        sources = {src for src, _ in self._all_edges} | set(self.branches)
        sources |= {name for name, spec in self.nodes.items() if spec.ends}
        for source in sources:
            if source not in self.nodes and source != START:
                raise GraphValidationError(f"Found edge starting at unknown node '{source}'")
        if START not in sources:
            raise GraphValidationError(
                "Graph must have an entrypoint: add at least one edge from START to another node"
            )
        targets = {end for _, end in self._all_edges}
        for start, branches in self.branches.items():
            for cond, branch in branches.items():
                if branch.ends is not None:
                    for end in branch.ends.values():
                        if end not in self.nodes and end != END:
                            raise GraphValidationError(
                                f"At '{start}' node, '{cond}' branch found unknown target '{end}'"
                            )
                        targets.add(end)
                else:
                    targets.add(END)
                    targets.update(n for n in self.nodes if n != start)
        for spec in self.nodes.values():
            targets.update(spec.ends)
        for target in targets:
            if target not in self.nodes and target != END:
                raise GraphValidationError(f"Found edge ending at unknown node `{target}`")
        for node in interrupt or ():
            if node not in self.nodes:
                raise GraphValidationError(f"Interrupt node `{node}` not found")
        self.compiled = True
        return self

    def compile(
        self,
        checkpointer: Any = None,
        *,
        cache: Any = None,
        store: Any = None,
        interrupt_before: Sequence[str] | str | None = None,
        interrupt_after: Sequence[str] | str | None = None,
        debug: bool = False,
        name: str | None = None,
        transformers: Sequence[Callable[[tuple[str, ...]], Any]] | None = None,
    ) -> CompiledGraph:
        """Validate the graph and make it runnable.

        ``checkpointer`` is a saver; ``None`` (a subgraph inherits its parent's saver),
        ``True`` (a subgraph keeps its own state across calls) or ``False`` (no
        checkpoints, even under a parent that has them). ``transformers``: stream
        transformer classes or ``scope -> transformer`` factories every
        ``stream_events(version="v3")`` run of the graph adds after the built-in ones
        (:mod:`hone.graph.streaming`).

        Raises:
            TypeError: a checkpointer that is none of these, or a transformer that is an
                instance rather than a class or factory.
            GraphValidationError: see :meth:`validate`.
        """
        from hone.graph._compile import compile_graph

        return compile_graph(
            self,
            checkpointer=checkpointer,
            cache=cache,
            store=store,
            interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
            debug=debug,
            name=name,
            transformers=transformers,
        )

    def _apply_defaults(self) -> None:
        defaults = self._defaults
        handler_name: str | None = None
        if defaults.get("error_handler") is not None:
            if DEFAULT_ERROR_HANDLER in self.nodes:
                raise GraphValidationError(
                    f"Auto-generated default error handler node `{DEFAULT_ERROR_HANDLER}` "
                    f"already exists."
                )
            handler_name = DEFAULT_ERROR_HANDLER
            self.nodes[handler_name] = NodeDef(
                handler_name,
                defaults["error_handler"],
                self.state_schema,
                is_error_handler=True,
            )
        for spec in self.nodes.values():
            if not spec.is_error_handler and handler_name and spec.error_handler is None:
                spec.error_handler = handler_name
            if defaults.get("retry_policy") is not None and spec.retry_policy is None:
                spec.retry_policy = defaults["retry_policy"]
            if (
                not spec.is_error_handler
                and defaults.get("cache_policy") is not None
                and spec.cache_policy is None
            ):
                spec.cache_policy = defaults["cache_policy"]
            if defaults.get("timeout") is not None and spec.timeout is None:
                spec.timeout = defaults["timeout"]
