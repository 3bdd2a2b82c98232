"""``CompiledGraph``: a validated graph, runnable with invoke/stream (sync) and
ainvoke/astream (async), with checkpoint inspection and editing."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hone.errors import InvalidUpdateError
from hone.graph._context import TaskScope, current_scope
from hone.graph._interrupt import GraphInterrupt, ParentCommand
from hone.graph._loop import Run
from hone.graph._nodes import NodeSpec, is_async_callable, takes_config
from hone.graph._state import state_spec, update_validators
from hone.graph._stream import (
    AsyncEvents,
    SyncEvents,
    drive_async,
    drive_sync,
    format_event,
    stream_modes,
)
from hone.graph._types import END, START, RunConfig, StateSnapshot

if TYPE_CHECKING:
    from hone.checkpoint import Checkpointer
    from hone.graph._builder import NodeDef, StateGraph
    from hone.graph._structure import GraphStructure

__all__ = ["CompiledGraph"]

_LIVE_MODES = frozenset(("custom", "messages"))
_CHILD_MODES = frozenset(("custom", "messages"))


def _names(value: Sequence[str] | str | None) -> frozenset[str] | str:
    if value == "*":
        return "*"
    return frozenset(value or ())


class CompiledGraph:
    """A runnable graph. Build one with ``StateGraph(...).compile()``."""

    def __init__(
        self,
        builder: StateGraph,
        *,
        checkpointer: Checkpointer | None,
        interrupt_before: Sequence[str] | str,
        interrupt_after: Sequence[str] | str,
        name: str,
    ) -> None:
        self.builder = builder
        self.name = name
        self.checkpointer = checkpointer
        self.channels = builder.channels
        self.state_spec = builder.state
        self.input_spec = builder.input
        self.output_keys = builder.output.keys
        self.validators = update_validators((builder.state, builder.input))
        self.ephemeral_keys = tuple(k for k, c in self.channels.items() if c.ephemeral)
        self.interrupt_before = _names(interrupt_before)
        self.interrupt_after = _names(interrupt_after)
        self.trigger_of: dict[str, tuple[str, frozenset[str] | None]] = {}
        for node in builder.nodes:
            self.trigger_of[f"branch:to:{node}"] = (node, None)
        for sources, dst in builder.joins:
            if dst != END:
                self.trigger_of[_join_channel(sources, dst)] = (dst, frozenset(sources))
        self.nodes: dict[str, NodeSpec] = {n.name: self._node(n) for n in builder.nodes.values()}
        self.start_node = self._spec(START, None, None, None)
        self.may_goto_parent = any(n.may_goto for n in builder.nodes.values())

    # ---------------------------------------------------------------- build

    def _edge_writes(self, name: str) -> tuple[tuple[str, Any], ...]:
        writes: list[tuple[str, Any]] = [
            (f"branch:to:{dst}", True)
            for src, dst in sorted(self.builder.edges)
            if src == name and dst != END
        ]
        for sources, dst in self.builder.joins:
            if name in sources and dst != END:
                writes.append((_join_channel(sources, dst), name))
        return tuple(writes)

    def _spec(self, name: str, fn: Any, definition: NodeDef | None, subgraph: Any) -> NodeSpec:
        make_input = self.state_spec.make
        if definition is not None and definition.input_schema is not None:
            spec = state_spec(definition.input_schema)
            keys = spec.keys

            def make_input(values: dict[str, Any]) -> Any:
                return spec.make({k: values[k] for k in keys if k in values})

        elif subgraph is not None:
            # LangGraph passes a subgraph only the keys of its input schema.
            sub_keys = subgraph.input_spec.keys

            def make_input(values: dict[str, Any]) -> Any:
                return {k: values[k] for k in sub_keys if k in values}

        return NodeSpec(
            name=name,
            fn=fn,
            is_async=fn is not None and subgraph is None and is_async_callable(fn),
            takes_config=fn is not None and subgraph is None and takes_config(fn),
            retry=definition.retry if definition else None,
            make_input=make_input,
            edge_writes=self._edge_writes(name),
            branches=tuple(self.builder.branches.get(name, {}).values()),
            destinations=definition.destinations if definition else None,
            may_goto=definition.may_goto if definition else False,
            metadata=definition.metadata if definition else {},
            subgraph=subgraph,
        )

    def _node(self, definition: NodeDef) -> NodeSpec:
        fn = definition.fn
        subgraph = fn if isinstance(fn, CompiledGraph) else None
        return self._spec(definition.name, fn, definition, subgraph)

    # ------------------------------------------------------------------ runs

    def _run(
        self,
        config: RunConfig | Mapping[str, Any] | None,
        *,
        interrupt_before: Sequence[str] | str | None,
        interrupt_after: Sequence[str] | str | None,
        modes: frozenset[str] = frozenset(),
        events: Any = None,
        subgraphs: bool = False,
    ) -> Run:
        cfg = RunConfig.of(config)
        scope = current_scope()
        # A graph invoked inside a running node (without a thread of its own) is a subgraph.
        parent = scope if scope is not None and cfg.thread_id is None else None
        if parent is not None:
            cfg = parent.run.config.with_(checkpoint_id=None, task_id=None)
        run = Run(
            self,
            cfg,
            modes=modes,
            events=events,
            interrupt_before=self.interrupt_before
            if interrupt_before is None
            else _names(interrupt_before),
            interrupt_after=self.interrupt_after
            if interrupt_after is None
            else _names(interrupt_after),
            parent=parent,
        )
        run.stream_subgraphs = subgraphs
        return run

    def _child(self, scope: TaskScope) -> Run:
        prun = scope.run
        modes = prun.modes if prun.stream_subgraphs else prun.modes & _CHILD_MODES
        run = Run(
            self,
            prun.config.with_(checkpoint_id=None, task_id=None),
            modes=modes,
            events=prun.events,
            interrupt_before=self.interrupt_before,
            interrupt_after=self.interrupt_after,
            parent=scope,
        )
        run.stream_subgraphs = prun.stream_subgraphs
        return run

    @staticmethod
    def _child_result(run: Run, scope: TaskScope) -> dict[str, Any]:
        if run.status != "done":
            raise GraphInterrupt(tuple(run.interrupts))
        channels = scope.run.channels
        return {k: v for k, v in run.output_values().items() if k in channels}

    def invoke_child(self, value: Any, scope: TaskScope) -> dict[str, Any]:
        """Run as a node of a parent graph (sync); returns the update for the parent."""
        run = self._child(scope)
        run.start(value)
        for _ in drive_sync(run, None, live=False):
            pass
        return self._child_result(run, scope)

    async def ainvoke_child(self, value: Any, scope: TaskScope) -> dict[str, Any]:
        """Run as a node of a parent graph (async); returns the update for the parent."""
        run = self._child(scope)
        run.start(value)
        async for _ in drive_async(run, None, live=False):
            pass
        return self._child_result(run, scope)

    @staticmethod
    def _finish(run: Run) -> dict[str, Any]:
        if run.parent is not None and run.status != "done":
            raise GraphInterrupt(tuple(run.interrupts))
        return run.result()

    def invoke(
        self,
        input: Any,
        config: RunConfig | Mapping[str, Any] | None = None,
        *,
        interrupt_before: Sequence[str] | str | None = None,
        interrupt_after: Sequence[str] | str | None = None,
    ) -> dict[str, Any]:
        """Run to the end (or an interrupt) and return the output values; a dynamic interrupt
        adds ``__interrupt__``. ``input`` None resumes the thread; ``Command(resume=...)``
        answers pending interrupts."""
        run = self._run(config, interrupt_before=interrupt_before, interrupt_after=interrupt_after)
        with _root_guard(run):
            run.start(input)
            for _ in drive_sync(run, None, live=False):
                pass
        return self._finish(run)

    async def ainvoke(
        self,
        input: Any,
        config: RunConfig | Mapping[str, Any] | None = None,
        *,
        interrupt_before: Sequence[str] | str | None = None,
        interrupt_after: Sequence[str] | str | None = None,
    ) -> dict[str, Any]:
        """Async :meth:`invoke`."""
        run = self._run(config, interrupt_before=interrupt_before, interrupt_after=interrupt_after)
        with _root_guard(run):
            run.start(input)
            async for _ in drive_async(run, None, live=False):
                pass
        return self._finish(run)

    def _stream_run(
        self,
        config: RunConfig | Mapping[str, Any] | None,
        stream_mode: str | Sequence[str],
        events: Any,
        subgraphs: bool,
        interrupt_before: Sequence[str] | str | None,
        interrupt_after: Sequence[str] | str | None,
    ) -> tuple[Run, bool, bool]:
        """The run behind ``stream``/``astream``, whether chunks are tagged with their mode,
        and whether events must be delivered live (as they happen, not per step)."""
        modes, multi = stream_modes(stream_mode)
        run = self._run(
            config,
            modes=frozenset(modes),
            events=events,
            subgraphs=subgraphs,
            interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
        )
        return run, multi, subgraphs or not _LIVE_MODES.isdisjoint(modes)

    def stream(
        self,
        input: Any,
        config: RunConfig | Mapping[str, Any] | None = None,
        *,
        stream_mode: str | Sequence[str] = "values",
        subgraphs: bool = False,
        interrupt_before: Sequence[str] | str | None = None,
        interrupt_after: Sequence[str] | str | None = None,
    ) -> Iterator[Any]:
        """Run and yield chunks: per mode ``values`` (the state after each step), ``updates``
        (``{node: update}``), ``messages`` (``(message_chunk, metadata)``), ``custom`` (from
        ``get_stream_writer()``), ``debug``. Several modes yield ``(mode, chunk)``;
        ``subgraphs=True`` prefixes the namespace tuple."""
        events = SyncEvents()
        run, multi, live = self._stream_run(
            config, stream_mode, events, subgraphs, interrupt_before, interrupt_after
        )
        with _root_guard(run):
            run.start(input)
            for event in drive_sync(run, events, live):
                yield format_event(event, multi, subgraphs)

    async def astream(
        self,
        input: Any,
        config: RunConfig | Mapping[str, Any] | None = None,
        *,
        stream_mode: str | Sequence[str] = "values",
        subgraphs: bool = False,
        interrupt_before: Sequence[str] | str | None = None,
        interrupt_after: Sequence[str] | str | None = None,
    ) -> AsyncIterator[Any]:
        """Async :meth:`stream`."""
        events = AsyncEvents()
        run, multi, live = self._stream_run(
            config, stream_mode, events, subgraphs, interrupt_before, interrupt_after
        )
        with _root_guard(run):
            run.start(input)
            async for event in drive_async(run, events, live):
                yield format_event(event, multi, subgraphs)

    # ---------------------------------------------------------- inspection

    def get_state(
        self, config: RunConfig | Mapping[str, Any], *, subgraphs: bool = False
    ) -> StateSnapshot:
        """The thread's state at its latest (or the given) checkpoint. A config naming a
        subgraph's namespace (``snapshot.tasks[i].state``) gives that subgraph's state; with
        ``subgraphs=True`` each pending subgraph task's ``state`` is its own snapshot."""
        from hone.graph._history import get_state

        return get_state(self, RunConfig.of(config), subgraphs=subgraphs)

    def get_state_history(
        self,
        config: RunConfig | Mapping[str, Any],
        *,
        limit: int | None = None,
        before: RunConfig | Mapping[str, Any] | None = None,
    ) -> Iterator[StateSnapshot]:
        """The thread's checkpoints as snapshots, newest first."""
        from hone.graph._history import get_state_history

        return get_state_history(self, RunConfig.of(config), limit=limit, before=before)

    def update_state(
        self,
        config: RunConfig | Mapping[str, Any],
        values: Any,
        as_node: str | None = None,
    ) -> RunConfig:
        """Write ``values`` as if node ``as_node`` returned them (its edges decide what runs
        next); saves a new checkpoint (a fork when ``config`` names an older one) and returns
        its config."""
        from hone.graph._history import update_state

        return update_state(self, RunConfig.of(config), values, as_node)

    async def aget_state(
        self, config: RunConfig | Mapping[str, Any], *, subgraphs: bool = False
    ) -> StateSnapshot:
        """Async :meth:`get_state`."""
        return self.get_state(config, subgraphs=subgraphs)

    async def aupdate_state(
        self, config: RunConfig | Mapping[str, Any], values: Any, as_node: str | None = None
    ) -> RunConfig:
        """Async :meth:`update_state`."""
        return self.update_state(config, values, as_node)

    def get_graph(self, *, xray: bool = False) -> GraphStructure:
        """The graph's structure as data (nodes, edges, branches, subgraphs) for drawing."""
        from hone.graph._structure import structure

        return structure(self, xray=xray)


class _root_guard:
    """At the root, a ``Command(graph=Command.PARENT)`` has no parent to go to."""

    def __init__(self, run: Run) -> None:
        self.run = run

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: Any, exc: BaseException | None, tb: Any) -> None:
        if isinstance(exc, ParentCommand) and self.run.parent is None:
            raise InvalidUpdateError(
                "a node returned Command(graph=Command.PARENT), but this graph is not running "
                "as a subgraph; drop graph=Command.PARENT"
            ) from exc


def _join_channel(sources: Sequence[str], dst: str) -> str:
    return f"join:{'+'.join(sources)}:{dst}"
