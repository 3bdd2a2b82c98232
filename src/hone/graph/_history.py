"""Reading and editing a thread's checkpoints: ``get_state``, ``get_state_history`` and
``update_state``/``bulk_update_state``, with LangGraph's semantics (an update is a new
checkpoint one step on, written as if a node returned the values; each super-step of updates
is :func:`~hone.graph._update.apply_superstep`). A config naming a subgraph's namespace
reads or edits that subgraph's checkpoints.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hone.errors import InvalidUpdateError
from hone.graph._algo import PlanContext, Task, apply_writes, prepare_tasks
from hone.graph._channels import Channel
from hone.graph._checkpoint import channels_from_checkpoint, copy_checkpoint, patch_checkpoint_map
from hone.graph._constants import INPUT, NULL_TASK_ID
from hone.graph._loop import Writes, recast_namespace
from hone.graph._stream import read_values, subgraph_task_ns, tasks_with_writes
from hone.graph._types import StateSnapshot, StateUpdate
from hone.graph._update import apply_superstep, attach_pending

if TYPE_CHECKING:
    from hone.graph._compiled import CompiledGraph

__all__ = ["bulk_update_state", "get_state", "get_state_history", "patch_checkpoint_map"]


def _saver(graph: CompiledGraph, config: Mapping[str, Any], saver: Any) -> Any:
    if saver is not None:
        return saver
    if graph.checkpointer in (None, True, False):
        raise ValueError("No checkpointer set")
    return graph.checkpointer


def _delegate(graph: CompiledGraph, config: Mapping[str, Any]) -> CompiledGraph | None:
    ns = config["configurable"].get("checkpoint_ns", "")
    if not ns:
        return None
    recast = recast_namespace(ns)
    for _, sub in graph.get_subgraphs(namespace=recast, recurse=True):
        return sub
    raise ValueError(f"Subgraph {recast} not found")


def _normalise(graph: CompiledGraph, config: dict[str, Any]) -> dict[str, Any]:
    conf = dict(config["configurable"])
    conf.setdefault("checkpoint_ns", "")
    if graph.checkpointer is True:
        conf["checkpoint_ns"] = recast_namespace(conf["checkpoint_ns"])
    if "thread_id" in conf and not isinstance(conf["thread_id"], str):
        conf["thread_id"] = str(conf["thread_id"])
    return {**config, "configurable": conf}


def snapshot(
    graph: CompiledGraph,
    config: Mapping[str, Any],
    saved: Any,
    *,
    recurse: Any = None,
    apply_pending: bool = False,
) -> StateSnapshot:
    """The :class:`StateSnapshot` of one saved checkpoint tuple (None: an empty one)."""
    if not saved:
        return StateSnapshot({}, (), dict(config), None, None, None, (), ())
    checkpoint = copy_checkpoint(saved.checkpoint)
    metadata = saved.metadata or {}
    step = int(metadata.get("step", -1)) + 1
    channels = channels_from_checkpoint(graph.channels, checkpoint)
    pending = [(str(t), c, v) for t, c, v in saved.pending_writes or []]
    ctx = PlanContext(
        nodes=graph.nodes,
        channels=channels,
        managed=graph.managed,
        config=saved.config,
        step=step,
        stop=step + 2,
        parent_ns=saved.config["configurable"].get("checkpoint_ns", ""),
        pending_writes=list(pending),
        for_execution=False,
    )
    tasks = prepare_tasks(checkpoint, ctx)
    states = _subgraph_states(saved, tasks, recurse)
    null_writes = [(c, v) for t, c, v in pending if t == NULL_TASK_ID]
    if null_writes:
        apply_writes(
            checkpoint,
            channels,
            [Writes((), INPUT, null_writes, ())],
            None,
            graph.trigger_to_nodes,
        )
    if apply_pending and pending:
        channels = _with_pending(graph, checkpoint, channels, tasks, pending)
    infos = tasks_with_writes(list(tasks.values()), pending, states, graph.stream_keys)
    return StateSnapshot(
        read_values(channels, graph.stream_keys),
        tuple(t.name for t in tasks.values() if not t.writes),
        patch_checkpoint_map(saved.config, metadata),
        metadata,
        checkpoint["ts"],
        patch_checkpoint_map(saved.parent_config, metadata),
        infos,
        tuple(i for info in infos for i in info.interrupts),
    )


def _subgraph_states(saved: Any, tasks: Mapping[str, Task], recurse: Any) -> dict[str, Any]:
    """Each pending subgraph task's ``state``: its config, or with a saver to ``recurse``
    with, its own snapshot."""
    parent_ns = saved.config["configurable"].get("checkpoint_ns", "")
    states: dict[str, Any] = {}
    for task in tasks.values():
        sub = task.node.child_graph if task.node is not None else None
        if sub is None:
            continue
        task_ns = subgraph_task_ns(parent_ns, task)
        sub_config = {
            "configurable": {
                "thread_id": saved.config["configurable"]["thread_id"],
                "checkpoint_ns": task_ns,
            }
        }
        if recurse is None:
            states[task.id] = sub_config
        else:
            states[task.id] = get_state(sub, sub_config, subgraphs=True, saver=recurse)
    return states


def _with_pending(
    graph: CompiledGraph,
    checkpoint: dict[str, Any],
    channels: dict[str, Channel],
    tasks: Mapping[str, Task],
    pending: list[tuple[str, str, Any]],
) -> dict[str, Channel]:
    """The channels with the writes of the step's finished tasks applied (copies; the
    checkpoint is not changed)."""
    attach_pending(tasks, pending)
    with_writes = [t for t in tasks.values() if t.writes]
    if not with_writes:
        return channels
    staged = {k: c.copy() for k, c in channels.items()}
    try:
        apply_writes(copy_checkpoint(checkpoint), staged, with_writes, None, graph.trigger_to_nodes)
    except InvalidUpdateError:
        # The writes that stopped the run (two values for one plain key): show the state
        # before them, with those tasks still to run, so it can be repaired.
        for task in with_writes:
            task.writes.clear()
        return channels
    return staged


def get_state(
    graph: CompiledGraph, config: dict[str, Any], *, subgraphs: bool = False, saver: Any = None
) -> StateSnapshot:
    """See :meth:`CompiledGraph.get_state`."""
    if saver is None:
        sub = _delegate(graph, config)
        if sub is not None:
            return get_state(sub, config, subgraphs=subgraphs, saver=_saver(graph, config, None))
    saver = _saver(graph, config, saver)
    if sub_saver := (graph.checkpointer if graph.checkpointer not in (None, True, False) else None):
        saver = sub_saver
    config = _normalise(graph, config)
    saved = saver.get_tuple(config)
    return snapshot(
        graph,
        config,
        saved,
        recurse=saver if subgraphs else None,
        apply_pending=not config["configurable"].get("checkpoint_id"),
    )


def get_state_history(
    graph: CompiledGraph,
    config: dict[str, Any],
    *,
    filter: dict[str, Any] | None,
    before: Mapping[str, Any] | None,
    limit: int | None,
    saver: Any = None,
) -> Iterator[StateSnapshot]:
    """See :meth:`CompiledGraph.get_state_history`."""
    if saver is None:
        sub = _delegate(graph, config)
        if sub is not None:
            yield from get_state_history(
                sub,
                config,
                filter=filter,
                before=before,
                limit=limit,
                saver=_saver(graph, config, None),
            )
            return
    saver = _saver(graph, config, saver)
    if graph.checkpointer not in (None, True, False):
        saver = graph.checkpointer
    config = _normalise(graph, config)
    for saved in list(saver.list(config, before=before, limit=limit, filter=filter)):
        yield snapshot(graph, saved.config, saved)


def bulk_update_state(
    graph: CompiledGraph,
    config: dict[str, Any],
    supersteps: Sequence[Sequence[Any]],
    *,
    saver: Any = None,
) -> dict[str, Any]:
    """See :meth:`CompiledGraph.bulk_update_state`."""
    if saver is None and graph.checkpointer in (None, True, False):
        raise ValueError("No checkpointer set")
    if len(supersteps) == 0:
        raise ValueError("No supersteps provided")
    if any(len(step) == 0 for step in supersteps):
        raise ValueError("No updates provided")
    if saver is None:
        sub = _delegate(graph, config)
        if sub is not None:
            return bulk_update_state(sub, config, supersteps, saver=_saver(graph, config, None))
    saver = _saver(graph, config, saver)
    if graph.checkpointer not in (None, True, False):
        saver = graph.checkpointer
    current = _normalise(graph, config)
    for step_updates in supersteps:
        updates = [StateUpdate(*u) if not isinstance(u, StateUpdate) else u for u in step_updates]
        current = apply_superstep(graph, saver, current, updates)
    return current
