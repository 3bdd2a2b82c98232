"""From a ``StateGraph`` to the runtime's tables: channels, and nodes with the writes they
make after running.

Every node ``X`` is triggered by an internal channel ``branch:to:X``; an edge ``A -> X`` makes
``A`` write that channel after it runs, a join ``[A, B] -> X`` makes each write a barrier
channel ``join:A+B:X``, a router writes the channels of the nodes it picks, and a
``Command(goto=...)`` does the same from the node's return value. START is a hidden node
triggered by the graph input.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hone.errors import GraphError
from hone.graph._channels import Channel, EphemeralValue, LastValueAfterFinish
from hone.graph._channels_barrier import NamedBarrierValue, NamedBarrierValueAfterFinish
from hone.graph._channels_reduce import Topic
from hone.graph._constants import END, START, TASKS
from hone.graph._interrupt import ParentCommand
from hone.graph._lint import warn_unreachable
from hone.graph._nodes import Branch, Callee
from hone.graph._state import ROOT, ManagedValue, mapper_for, updates_of
from hone.graph._types import (
    CachePolicy,
    Command,
    RetryPolicy,
    Send,
    TimeoutPolicy,
    TracePolicy,
    merge_parent_commands,
)

if TYPE_CHECKING:
    from hone.graph._builder import NodeDef, StateGraph
    from hone.graph._compiled import CompiledGraph

__all__ = ["Node", "branch_channel", "compile_graph", "control_writes"]


def branch_channel(node: str) -> str:
    """The channel that triggers ``node``."""
    return f"branch:to:{node}"


@dataclass(slots=True, eq=False)
class Node:
    """A compiled node: what triggers it, what it reads, and how its output becomes writes."""

    name: str
    triggers: list[str]
    #: Keys it reads (a list), or the single channel it reads as its whole input.
    reads: list[str] | str
    #: Builds its input from the read values (a schema class), or None for the dict itself.
    mapper: Callable[[dict[str, Any]], Any] | None
    #: The user callable (None for START).
    callee: Callee | None
    #: The compiled graph when the node is a subgraph.
    subgraph: CompiledGraph | None
    #: The state keys it may write.
    keys: list[str]
    root: bool
    #: Static writes after it runs: its edges.
    edges: list[tuple[str, Any]] = field(default_factory=list)
    branches: list[Branch] = field(default_factory=list)
    #: Per branch: (keys the router reads, mapper).
    branch_reads: dict[str, tuple[list[str] | str, Any]] = field(default_factory=dict)
    #: Declared Command destinations (for drawing).
    ends: tuple[str, ...] | dict[str, str] = ()
    metadata: dict[str, Any] = field(default_factory=dict)
    retry_policy: tuple[RetryPolicy, ...] = ()
    cache_policy: CachePolicy | None = None
    trace_policy: TracePolicy | None = None
    timeout: TimeoutPolicy | None = None
    error_handler: str | None = None
    is_error_handler: bool = False
    #: Hidden from ``updates`` streams and breakpoints (START).
    hidden: bool = False
    defer: bool = False
    #: A graph the node's function runs (found in its closure or globals): its state shows
    #: as the task's subgraph state.
    calls: CompiledGraph | None = None
    #: Writes of the output, replacing state updates and gotos (an entrypoint's).
    writer: Callable[[Any], list[tuple[str, Any]]] | None = None

    @property
    def cache_fn(self) -> Any:
        """The function whose module and name key this node's cache entries."""
        if self.callee is not None:
            return self.callee.fn
        return self.subgraph

    @property
    def child_graph(self) -> CompiledGraph | None:
        """The graph this node runs as a subgraph, if any."""
        return self.subgraph if self.subgraph is not None else self.calls

    @property
    def bound(self) -> Any:
        """What the node runs: the callable (or runnable) it was added with, or its
        compiled subgraph (LangGraph's ``PregelNode.bound``)."""
        return self.callee.fn if self.callee is not None else self.subgraph

    def invoke(self, input: Any, config: dict[str, Any] | None = None) -> Any:
        """Run what the node runs on ``input``, outside any run, and return what it returns
        (LangGraph's ``graph.nodes[name].invoke``): no state update, no checkpoint."""
        if self.callee is not None:
            return self.callee.call_alone(input, config or {})
        if self.subgraph is not None:
            return self.subgraph.invoke(input, config)
        raise GraphError(f"node {self.name!r} runs nothing: it is the graph's entry marker")

    def copy(self, update: Mapping[str, Any] | None = None) -> Node:
        """A copy with some fields replaced (LangGraph's ``PregelNode.copy``); the graph
        keeps running its own node."""
        return dataclasses.replace(self, **dict(update or {}))

    async def ainvoke(self, input: Any, config: dict[str, Any] | None = None) -> Any:
        """Async :meth:`invoke`."""
        if self.callee is not None:
            return await self.callee.acall_alone(input, config or {})
        if self.subgraph is not None:
            return await self.subgraph.ainvoke(input, config)
        raise GraphError(f"node {self.name!r} runs nothing: it is the graph's entry marker")

    @property
    def subgraphs(self) -> list[CompiledGraph]:
        """The graphs this node runs (LangGraph's ``PregelNode.subgraphs``)."""
        child = self.child_graph
        return [] if child is None else [child]

    def update_writes(
        self, output: Any, thread: Any = None, *, nested: bool = False
    ) -> list[tuple[str, Any]]:
        """The state writes of the node's output (``thread`` names the run in errors).

        The input of a nested graph is its parent's state, and a subgraph node's output its
        own state: keys outside the receiving schema are expected there and dropped without a
        warning.
        """
        if self.writer is not None:
            return self.writer(output)
        if (nested and self.name == START) or self.subgraph is not None:
            # A subgraph returns its whole state: keys the parent lacks are expected there.
            return updates_of(_known(output, self.keys), self.keys, "", root=self.root)
        who = "the graph input" if self.name == START else f"node {self.name!r}"
        return updates_of(output, self.keys, who, thread=thread, root=self.root)


def _known(output: Any, keys: Sequence[str]) -> Any:
    return {k: v for k, v in output.items() if k in keys} if isinstance(output, dict) else output


def control_writes(output: Any) -> list[tuple[str, Any]]:
    """The writes a node's ``Command(goto=...)`` (or returned :class:`Send`) makes.

    Raises:
        ParentCommand: a ``Command(graph=Command.PARENT)``, to be handled by the parent.
        TypeError: a goto that is neither a node name nor a Send.
    """
    if isinstance(output, Send):
        return [(TASKS, output)]
    if isinstance(output, Command):
        commands: list[Command[Any]] = [output]
    elif isinstance(output, list | tuple):
        commands = [c for c in output if isinstance(c, Command)]
    else:
        return []  # a plain update (a dict, a schema instance, None) routes nowhere
    parent = [c for c in commands if c.graph == Command.PARENT]
    if parent:
        # Several commands for the parent (a ToolNode's calls, say) reach it as one.
        raise ParentCommand(merge_parent_commands(parent))
    out: list[tuple[str, Any]] = []
    for command in commands:
        for target in command.goto_items():
            if isinstance(target, Send):
                out.append((TASKS, target))
            elif isinstance(target, str):
                if target != END:
                    out.append((branch_channel(target), None))
            else:
                raise TypeError(f"In Command.goto, expected Send/str, got {type(target).__name__}")
    return out


def find_subgraph(fn: Any) -> CompiledGraph | None:
    """A compiled graph (with checkpointing not disabled) that a node's function reaches by a
    chain of references its code spells out, as LangGraph detects subgraphs: a value it closes
    over, a global its own code names, or an attribute path from either (``HOLDER.a.b``), also
    from nested functions for captured values; ``__wrapped__`` is followed. Subscripts,
    attributes of ``self`` and globals named only in nested functions are not."""
    import inspect

    from hone.graph._compiled import CompiledGraph

    def usable(value: Any) -> bool:
        return isinstance(value, CompiledGraph) and value.checkpointer is not False

    seen: set[int] = set()
    while fn is not None and id(fn) not in seen:
        seen.add(id(fn))
        if usable(fn):
            return typing.cast(CompiledGraph, fn)
        target = fn.__func__ if inspect.ismethod(fn) else fn
        if not inspect.isfunction(target):
            call = getattr(fn, "__call__", None)  # noqa: B004
            target = call.__func__ if inspect.ismethod(call) else None
        if target is not None:
            found = _graph_in_code(target, usable)
            if found is not None:
                return typing.cast(CompiledGraph, found)
        fn = getattr(fn, "__wrapped__", None)
    return None


_MISSING = object()


def _graph_in_code(target: Any, usable: Callable[[Any], bool]) -> Any:
    """The first usable graph along the reference chains in ``target``'s bytecode."""
    import dis
    import inspect

    closure: dict[str, Any] = {}
    for name, cell in zip(target.__code__.co_freevars, target.__closure__ or (), strict=False):
        try:
            closure[name] = cell.cell_contents
        except ValueError:  # an empty cell
            continue
    for value in closure.values():
        if usable(value):
            return value
    scope = target.__globals__
    stack: list[tuple[Any, bool]] = [(target.__code__, True)]
    while stack:
        code, top = stack.pop()
        stack.extend((k, False) for k in code.co_consts if inspect.iscode(k))
        chain: list[str] = []
        root: Any = _MISSING
        for ins in [*dis.get_instructions(code), None]:
            if (
                ins is not None
                and root is not _MISSING
                and ins.opname in ("LOAD_ATTR", "LOAD_METHOD")
            ):
                chain.append(str(ins.argval))
                continue
            if root is not _MISSING:
                found = _follow(root, chain, usable)
                if found is not None:
                    return found
            root, chain = _MISSING, []
            if ins is None:
                break
            if ins.opname == "LOAD_GLOBAL" and top:
                root = scope.get(str(ins.argval), _MISSING)
            elif ins.opname == "LOAD_DEREF" and ins.argval in closure:
                root = closure[str(ins.argval)]
    return None


def _follow(value: Any, chain: Sequence[str], usable: Callable[[Any], bool]) -> Any:
    import inspect

    for attr in (None, *chain):
        if attr is not None:
            try:
                value = inspect.getattr_static(value, attr)
            except AttributeError:
                return None
            if hasattr(type(value), "__get__") and not usable(value):
                return None  # a descriptor (property, method): not followed without running it
        if usable(value):
            return value
    return None


def _retry(policy: RetryPolicy | Sequence[RetryPolicy] | None) -> tuple[RetryPolicy, ...]:
    if policy is None:
        return ()
    if isinstance(policy, RetryPolicy):
        return (policy,)
    return tuple(policy)


def _reads(builder: StateGraph, schema: Any) -> tuple[list[str] | str, Any]:
    keys = builder.schemas[schema]
    if keys == [ROOT]:
        return ROOT, None
    return keys, mapper_for(schema, keys)


def _node(builder: StateGraph, spec: NodeDef, keys: list[str], root: bool) -> Node:
    from hone.graph._compiled import CompiledGraph

    reads, mapper = _reads(builder, spec.input_schema)
    action = spec.action
    subgraph = action if isinstance(action, CompiledGraph) else None
    calls = None if subgraph is not None else find_subgraph(action)
    node = Node(
        name=spec.name,
        calls=calls,
        triggers=[branch_channel(spec.name)],
        reads=reads,
        mapper=mapper,
        callee=None if subgraph is not None else (spec.callee or Callee.of(action, spec.name)),
        subgraph=subgraph,
        keys=keys,
        root=root,
        ends=spec.ends,
        metadata=dict(spec.metadata or {}),
        retry_policy=_retry(spec.retry_policy),
        cache_policy=spec.cache_policy,
        trace_policy=spec.trace_policy,
        timeout=spec.timeout,
        error_handler=spec.error_handler,
        is_error_handler=spec.is_error_handler,
        defer=spec.defer,
    )
    return node


def compile_graph(
    builder: StateGraph,
    *,
    checkpointer: Any,
    cache: Any,
    store: Any,
    interrupt_before: Sequence[str] | str | None,
    interrupt_after: Sequence[str] | str | None,
    debug: bool,
    name: str | None,
    transformers: Sequence[Any] | None = None,
) -> CompiledGraph:
    """Build the runtime tables of ``builder`` (see the module docstring)."""
    from hone.graph._compiled import CompiledGraph, check_checkpointer
    from hone.graph.streaming._entry import stream_factories

    check_checkpointer(checkpointer)
    stream_transformers = tuple(stream_factories(transformers))
    before = interrupt_before or []
    after = interrupt_after or []
    named = [*([] if before == "*" else before), *([] if after == "*" else after)]
    builder.validate(interrupt=named)
    warn_unreachable(builder)
    builder._apply_defaults()

    channels: dict[str, Channel] = {key: ch.copy() for key, ch in builder.channels.items()}
    root = list(builder.channels) == [ROOT]
    state_keys = list(builder.channels) + list(builder.managed)
    input_keys = [k for k in builder.schemas[builder.input_schema] if k not in builder.managed]
    output_keys: list[str] | str = (
        ROOT
        if builder.schemas[builder.output_schema] == [ROOT]
        else [k for k in builder.schemas[builder.output_schema] if k not in builder.managed]
    )
    stream_keys: list[str] | str = ROOT if root else list(builder.channels)
    channels[START] = EphemeralValue(builder.input_schema, key=START)
    channels[TASKS] = Topic(Send, accumulate=False, key=TASKS)

    nodes: dict[str, Node] = {
        START: Node(
            name=START,
            triggers=[START],
            reads=START,
            mapper=None,
            callee=None,
            subgraph=None,
            keys=input_keys,
            root=input_keys == [ROOT],
            hidden=True,
        )
    }
    for spec in builder.nodes.values():
        nodes[spec.name] = _node(builder, spec, state_keys, root)
        channels[branch_channel(spec.name)] = (
            LastValueAfterFinish(Any, key=branch_channel(spec.name))
            if spec.defer
            else EphemeralValue(Any, guard=False, key=branch_channel(spec.name))
        )
    for start, end in sorted(builder.edges):
        if end != END:
            nodes[start].edges.append((branch_channel(end), None))
    for starts, end in sorted(builder.waiting_edges):
        if end == END:
            continue
        join = f"join:{'+'.join(starts)}:{end}"
        barrier = NamedBarrierValueAfterFinish if builder.nodes[end].defer else NamedBarrierValue
        channels[join] = barrier(str, set(starts), key=join)
        nodes[end].triggers.append(join)
        for start in starts:
            nodes[start].edges.append((join, start))
    for start, branches in builder.branches.items():
        for branch in branches.values():
            node = nodes[start]
            node.branches.append(branch)
            schema = branch.input_schema or (
                builder.nodes[start].input_schema
                if start in builder.nodes
                else builder.state_schema
            )
            node.branch_reads[branch.name] = _reads(builder, schema)

    managed: dict[str, type[ManagedValue]] = dict(builder.managed)
    return CompiledGraph(
        builder=builder,
        channels=channels,
        managed=managed,
        nodes=nodes,
        output_keys=output_keys,
        stream_keys=stream_keys,
        checkpointer=checkpointer,
        store=store,
        cache=cache,
        interrupt_before=before,
        interrupt_after=after,
        debug=debug,
        name=name or "LangGraph",
        stream_transformers=stream_transformers,
    )
