"""One call of a graph (``invoke``, ``stream`` and their async twins), in and out.

In: the call's arguments checked, and the :class:`~hone.graph._loop.Loop` it runs
(:func:`prepare_loop`): the merged config, the saver it uses, and its run settings: its own
at the root, or shared with the parent run when a node calls it (a subgraph, whose events
reach the parent's stream). Out: what ``invoke`` returns, from the loop or from streamed
chunks.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hone.graph._config import ensure_config
from hone.graph._constants import (
    CONFIG_KEY_STREAM_MESSAGES_V2,
    INTERRUPT,
    NS_SEP,
    TASK_ID_KEY,
)
from hone.graph._context import current_scope
from hone.graph._loop import Loop, recast_namespace
from hone.graph._runtime import RunControl, Runtime, build_server_info, coerce_context
from hone.graph._settings import RunSettings
from hone.graph._stream import check_modes

if TYPE_CHECKING:
    from hone.graph._compiled import CompiledGraph
    from hone.graph._context import TaskScope

__all__ = [
    "calling_scope",
    "check_durability",
    "invoke_result",
    "prepare_loop",
    "print_event",
    "streamed_result",
]

#: What a subgraph streams to its parent's stream when subgraphs are not streamed.
_NESTED = frozenset(("custom",))


def calling_scope(
    graph: CompiledGraph, config: Mapping[str, Any] | None
) -> tuple[TaskScope | None, dict[str, Any]]:
    """The task a call of ``graph`` runs under as its subgraph (None: a run of its own, at the
    root or because its config names another thread), and the call's merged config."""
    scope = current_scope()
    merged = ensure_config(graph.config, config, ambient=scope.config if scope else None)
    if scope is not None and TASK_ID_KEY not in merged["configurable"]:
        scope = None  # a run of its own (its config names its thread): not a subgraph
    return scope, merged


def prepare_loop(
    graph: CompiledGraph,
    input: Any,
    config: Mapping[str, Any] | None,
    *,
    stream_mode: str | Sequence[str],
    sink: Any,
    subgraphs: bool,
    context: Any,
    output_keys: Sequence[str] | str | None,
    interrupt_before: Sequence[str] | str | None,
    interrupt_after: Sequence[str] | str | None,
    durability: str | None,
    control: RunControl | None,
    extra_modes: Sequence[str] = (),
) -> Loop:
    """The loop of one call of ``graph`` (``sink`` None: nothing streamed of its own)."""
    scope, merged = calling_scope(graph, config)
    parent_loop = scope.loop if scope is not None else None
    if merged["recursion_limit"] < 1:
        raise ValueError("recursion_limit must be at least 1")
    modes = frozenset([*check_modes(stream_mode), *extra_modes])
    output_keys = _output_keys(graph, output_keys)
    saver = _saver_for(graph, merged, parent_loop)
    if saver is None and durability is not None and parent_loop is None:
        warnings.warn("`durability` has no effect when no checkpointer is present.", stacklevel=3)
    before = interrupt_before or graph.interrupt_before_nodes
    after = interrupt_after or graph.interrupt_after_nodes
    if parent_loop is not None and scope is not None:
        settings = _nested_settings(
            parent_loop.settings, sink=sink, modes=modes, subgraphs=subgraphs, durability=durability
        )
        return _subgraph_loop(
            graph,
            input,
            merged,
            scope=scope,
            settings=settings,
            saver=saver,
            interrupt_before=before,
            interrupt_after=after,
            output_keys=output_keys,
        )
    settings = _root_settings(
        graph,
        merged["configurable"],
        saver=saver,
        sink=sink,
        modes=modes,
        subgraphs=subgraphs,
        context=context,
        durability=durability,
        control=control,
    )
    return Loop(
        graph,
        input,
        merged,
        settings=settings,
        checkpointer=saver,
        interrupt_before=before,
        interrupt_after=after,
        output_keys=output_keys,
        parent=None,
    )


def _subgraph_loop(
    graph: CompiledGraph,
    input: Any,
    merged: dict[str, Any],
    *,
    scope: TaskScope,
    settings: RunSettings,
    saver: Any,
    interrupt_before: Sequence[str] | str,
    interrupt_after: Sequence[str] | str,
    output_keys: Sequence[str] | str,
) -> Loop:
    """The loop of a graph a running node calls: in the calling task's namespace, resuming
    and replaying as its parent run does."""
    parent_loop = scope.loop
    conf = merged["configurable"]
    conf["checkpoint_ns"] = _subgraph_namespace(graph, scope)
    conf.setdefault("checkpoint_id", None)
    task = scope.task
    resuming = True if getattr(task, "resuming", False) else parent_loop.child_resuming
    return Loop(
        graph,
        input,
        merged,
        settings=settings,
        checkpointer=saver,
        interrupt_before=interrupt_before,
        interrupt_after=interrupt_after,
        output_keys=output_keys,
        parent=scope,
        resume_map=parent_loop.resume_map,
        resuming=resuming,
        replay=parent_loop.replay,
    )


def _output_keys(
    graph: CompiledGraph, output_keys: Sequence[str] | str | None
) -> Sequence[str] | str:
    """The keys a run outputs: the graph's stream keys by default.

    Raises:
        ValueError: a key that is not a channel of the graph.
    """
    if output_keys is None:
        return graph.stream_keys
    unknown = [
        k
        for k in ([output_keys] if isinstance(output_keys, str) else output_keys)
        if k not in graph.channels
    ]
    if unknown:
        raise ValueError(f"output_keys {unknown} are not channels of the graph")
    return output_keys


def _saver_for(graph: CompiledGraph, config: dict[str, Any], parent_loop: Loop | None) -> Any:
    """The saver of a run: the graph's own; a subgraph's parent's unless it has its own
    (none with ``checkpointer=False``). A root run with one needs a thread in ``config``."""
    if graph.checkpointer is False:
        return None
    if parent_loop is not None:
        if graph.checkpointer not in (None, True):
            return graph.checkpointer
        return parent_loop.checkpointer
    if graph.checkpointer is True:
        raise RuntimeError("checkpointer=True cannot be used for root graphs.")
    if graph.checkpointer is not None and not config.get("configurable"):
        raise ValueError(
            "Checkpointer requires one or more of the following 'configurable' keys: "
            "thread_id, checkpoint_ns, checkpoint_id"
        )
    return graph.checkpointer


def _root_settings(
    graph: CompiledGraph,
    configurable: dict[str, Any],
    *,
    saver: Any,
    sink: Any,
    modes: frozenset[str],
    subgraphs: bool,
    context: Any,
    durability: str | None,
    control: RunControl | None,
) -> RunSettings:
    """The settings of a run at the root: its own runtime, store, cache and durability."""
    store = graph.store
    runtime = Runtime(
        context=coerce_context(graph.context_schema, context),
        store=store,
        server_info=build_server_info(configurable),
        control=control or RunControl(),
    )
    settings = RunSettings(
        sink=sink,
        modes=modes,
        subgraphs=subgraphs,
        durability=durability or configurable.get("__pregel_durability") or "async",
        runtime=runtime,
        store=store,
        cache=graph.cache,
        messages_v2=bool(configurable.get(CONFIG_KEY_STREAM_MESSAGES_V2)),
    )
    if saver is None:
        settings.durability = durability or "async"
    return settings


def _nested_settings(
    parent: RunSettings,
    *,
    sink: Any,
    modes: frozenset[str],
    subgraphs: bool,
    durability: str | None,
) -> RunSettings:
    """The settings of a subgraph run: the parent's runtime, store, cache and streamed
    messages. Its events reach the parent's stream in the modes the parent streams from
    subgraphs (all of them with ``subgraphs=True``, else custom chunks); a stream opened
    inside the node (``sink``) gets its own modes too."""
    parent_modes = parent.modes if parent.subgraphs else parent.modes & _NESTED
    if sink is not None:
        sink = _Duplex(sink, modes, parent.sink, parent_modes)
        modes = modes | parent_modes
        subgraphs = subgraphs or parent.subgraphs
    else:
        sink, modes, subgraphs = parent.sink, parent_modes, parent.subgraphs
    return RunSettings(
        sink=sink,
        modes=modes,
        subgraphs=subgraphs,
        durability=durability or parent.durability,
        runtime=parent.runtime,
        store=parent.store,
        cache=parent.cache,
        streamed=parent.streamed,
        streamed_lock=parent.streamed_lock,
        messages_v2=parent.messages_v2,
    )


def _subgraph_namespace(graph: CompiledGraph, scope: TaskScope) -> str:
    """A subgraph's checkpoint namespace: the calling task's (without task ids with
    ``checkpointer=True``), numbered from the second call in one task."""
    ns = str(scope.config["configurable"].get("checkpoint_ns", ""))
    if graph.checkpointer is True:
        ns = recast_namespace(ns)
    count = scope.scratchpad.subgraph_counter()
    if count:
        ns = f"{ns}{NS_SEP}{count}"
    return ns


class _Duplex:
    """A sink that forwards each event to the sinks that stream its mode (a stream inside a
    node, and its parent's)."""

    def __init__(
        self, first: Any, first_modes: frozenset[str], second: Any, second_modes: frozenset[str]
    ) -> None:
        self.targets = [(first, first_modes), (second, second_modes)]

    def put(self, event: Any) -> None:
        mode = event[1]
        for sink, modes in self.targets:
            if sink is not None and mode in modes:
                sink.put(event)


def invoke_result(loop: Loop, version: str) -> Any:
    """What invoke returns: the output (None when no output value was ever produced), with
    the interrupts the run stopped at."""
    latest = loop.output if loop.values_seen else None
    interrupts = list(loop.interrupts_seen)
    if version == "v2":
        from hone.graph._types import GraphOutput

        return GraphOutput(value=latest, interrupts=tuple(interrupts))
    if interrupts:
        base = latest if isinstance(latest, dict) else {}
        return {**base, INTERRUPT: interrupts}
    return latest


def streamed_result(chunks: list[Any], version: str) -> Any:
    """What invoke returns from streamed ``(mode, payload)`` chunks of updates and values."""
    latest: Any = None
    interrupts: list[Any] = []
    for chunk in chunks:
        mode, payload = chunk if len(chunk) == 2 else chunk[1:]
        if mode == "updates" and isinstance(payload, dict) and INTERRUPT in payload:
            interrupts.extend(payload[INTERRUPT])
        elif mode == "values":
            latest = payload
    if version == "v2":
        from hone.graph._types import GraphOutput

        return GraphOutput(value=latest, interrupts=tuple(interrupts))
    if interrupts:
        return {**(latest if isinstance(latest, dict) else {}), INTERRUPT: interrupts}
    return latest


def check_durability(durability: str | None, kwargs: dict[str, Any]) -> str | None:
    """The call's ``durability`` (or the deprecated ``checkpoint_during``), checked."""
    checkpoint_during = kwargs.pop("checkpoint_during", None)
    if kwargs:
        raise TypeError(f"unexpected arguments: {sorted(kwargs)}")
    if checkpoint_during is not None:
        warnings.warn(
            "`checkpoint_during` is deprecated and will be removed. Please use `durability` "
            "instead.",
            DeprecationWarning,
            stacklevel=3,
        )
        if durability is not None:
            raise ValueError(
                "Cannot use both `checkpoint_during` and `durability` parameters. Please use "
                "`durability` instead."
            )
        return "async" if checkpoint_during else "exit"
    if durability is not None and durability not in ("sync", "async", "exit"):
        raise ValueError(f"durability must be 'sync', 'async' or 'exit', got {durability!r}")
    return durability


def print_event(event: Any, subgraphs: bool) -> None:
    """Print an event of a ``print_mode`` (or ``debug=True``) run."""
    ns, mode, payload = event
    if subgraphs and ns:
        print(f"[{mode}] [graph={ns}] {payload!r}")
    else:
        print(f"[{mode}] {payload!r}")
