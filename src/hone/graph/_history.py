"""Reading and editing a thread's checkpoints: ``get_state``, ``get_state_history`` and
``update_state``/``bulk_update_state``, with LangGraph's semantics (an update is a new
checkpoint one step on, written as if a node returned the values)."""

from __future__ import annotations

import uuid
from collections import defaultdict, deque
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hone.errors import InvalidUpdateError
from hone.graph._algo import PlanContext, Task, apply_writes, prepare_tasks
from hone.graph._checkpoint import (
    channels_from_checkpoint,
    copy_checkpoint,
    create_checkpoint,
    empty_checkpoint,
    new_versions,
)
from hone.graph._constants import END, ERROR, INPUT, INTERRUPT, NULL_TASK_ID, PUSH, START
from hone.graph._loop import Writes, recast_namespace
from hone.graph._stream import read_values, subgraph_task_ns, tasks_with_writes
from hone.graph._types import StateSnapshot, StateUpdate

if TYPE_CHECKING:
    from hone.graph._compiled import CompiledGraph

__all__ = ["bulk_update_state", "get_state", "get_state_history", "patch_checkpoint_map"]

COPY = "__copy__"


def patch_checkpoint_map(config: Any, metadata: Mapping[str, Any] | None) -> Any:
    """A config with ``checkpoint_map`` filled in from the checkpoint's ``parents``."""
    if config is None:
        return None
    parents = metadata.get("parents") if metadata else None
    if not parents:
        return config
    conf = config["configurable"]
    return {
        **config,
        "configurable": {
            **conf,
            "checkpoint_map": {**parents, conf["checkpoint_ns"]: conf["checkpoint_id"]},
        },
    }


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
        for tid, kind, value in pending:
            if kind in (ERROR, INTERRUPT) or tid not in tasks:
                continue
            tasks[tid].writes.append((kind, value))
        with_writes = [t for t in tasks.values() if t.writes]
        if with_writes:
            staged = {k: c.copy() for k, c in channels.items()}
            try:
                apply_writes(
                    copy_checkpoint(checkpoint), staged, with_writes, None, graph.trigger_to_nodes
                )
            except InvalidUpdateError:
                # The writes that stopped the run (two values for one plain key): show the
                # state before them, with those tasks still to run, so it can be repaired.
                for task in with_writes:
                    task.writes.clear()
            else:
                channels = staged
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


# ----------------------------------------------------------------------------- updates


def _last_node(graph: CompiledGraph, checkpoint: Mapping[str, Any]) -> str | None:
    """The node an update without ``as_node`` is written as: the only node, START on a new
    thread, else the node that saw the newest versions (None if that is a tie)."""
    if len(graph.nodes) == 1:
        return next(iter(graph.nodes))
    seen = checkpoint["versions_seen"]
    if not any(v for vv in seen.values() for v in vv.values()):
        return START if START in graph.nodes else None
    ranked = sorted((v, n) for n, s in seen.items() if n in graph.nodes for v in s.values())
    if not ranked:
        return None
    if len(ranked) == 1 or ranked[-1][0] != ranked[-2][0]:
        return str(ranked[-1][1])
    return None


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
        current = _superstep(graph, saver, current, updates)
    return current


def _superstep(
    graph: CompiledGraph, saver: Any, config: dict[str, Any], updates: list[StateUpdate]
) -> dict[str, Any]:
    from hone.graph._compiled import ensure_config

    config = ensure_config(graph.config, config)
    saved = saver.get_tuple(config)
    checkpoint = copy_checkpoint(saved.checkpoint) if saved else empty_checkpoint()
    previous = dict(saved.checkpoint["channel_versions"]) if saved else {}
    step = int(saved.metadata.get("step", -1)) if saved else -1
    conf = {
        **config["configurable"],
        "checkpoint_ns": config["configurable"].get("checkpoint_ns", ""),
    }
    if saved:
        conf = {**conf, **saved.config["configurable"]}
    cp_config = {**config, "configurable": conf}
    channels = channels_from_checkpoint(graph.channels, checkpoint)
    parents = saved.metadata.get("parents", {}) if saved else {}
    get_next = saver.get_next_version
    pending = [(str(t), c, v) for t, c, v in (saved.pending_writes or [])] if saved else []

    def ctx(step_: int) -> PlanContext:
        return PlanContext(
            nodes=graph.nodes,
            channels=channels,
            managed=graph.managed,
            config=saved.config if saved else cp_config,
            step=step_,
            stop=step_ + 2,
            parent_ns=conf.get("checkpoint_ns", ""),
            pending_writes=list(pending),
            for_execution=False,
        )

    values, as_node = updates[0].values, updates[0].as_node
    if values is None and as_node == END:
        if len(updates) > 1:
            raise InvalidUpdateError("Cannot apply multiple updates when clearing state")
        if saved is not None:
            tasks = prepare_tasks(checkpoint, ctx(step + 1))
            null_writes = [(c, v) for t, c, v in pending if t == NULL_TASK_ID]
            if null_writes:
                apply_writes(
                    checkpoint,
                    channels,
                    [Writes((), INPUT, null_writes, ())],
                    get_next,
                    graph.trigger_to_nodes,
                )
            for tid, kind, value in pending:
                if kind in (ERROR, INTERRUPT) or tid not in tasks:
                    continue
                tasks[tid].writes.append((kind, value))
            apply_writes(checkpoint, channels, tasks.values(), get_next, graph.trigger_to_nodes)
        next_config = saver.put(
            cp_config,
            create_checkpoint(checkpoint, channels, step),
            {"source": "update", "step": step + 1, "parents": parents},
            new_versions(previous, checkpoint["channel_versions"]),
        )
        return patch_checkpoint_map(next_config, saved.metadata if saved else None)  # type: ignore[no-any-return]

    if as_node == INPUT:
        if len(updates) > 1:
            raise InvalidUpdateError("Cannot apply multiple updates when updating as input")
        if values is None:
            raise InvalidUpdateError(f"Received no input writes for {START}")
        input_writes = [(START, values)]
        apply_writes(
            checkpoint,
            channels,
            [Writes((), INPUT, input_writes, ())],
            get_next,
            graph.trigger_to_nodes,
        )
        next_step = step + 1 if saved and saved.metadata.get("step") is not None else -1
        next_config = saver.put(
            cp_config,
            create_checkpoint(checkpoint, channels, next_step),
            {"source": "input", "step": next_step, "parents": parents},
            new_versions(previous, checkpoint["channel_versions"]),
        )
        saver.put_writes(
            next_config, input_writes, str(uuid.uuid5(uuid.UUID(checkpoint["id"]), INPUT))
        )
        return patch_checkpoint_map(next_config, saved.metadata if saved else None)  # type: ignore[no-any-return]

    if as_node == COPY:
        if len(updates) > 1:
            raise InvalidUpdateError("Cannot copy checkpoint with multiple updates")
        if saved is None:
            raise InvalidUpdateError("Cannot copy a non-existent checkpoint")
        next_checkpoint = create_checkpoint(checkpoint, None, step)
        next_config = saver.put(
            saved.parent_config
            or {
                **saved.config,
                "configurable": {**saved.config["configurable"], "checkpoint_id": None},
            },
            next_checkpoint,
            {"source": "fork", "step": step + 1, "parents": parents},
            {},
        )
        if isinstance(values, list) and values:
            copy_ctx = ctx(step + 2)
            tasks = prepare_tasks(next_checkpoint, copy_ctx)
            by_name: defaultdict[str, list[str]] = defaultdict(list)
            for task in tasks.values():
                by_name[task.name].append(task.id)
            grouped: defaultdict[str, list[StateUpdate]] = defaultdict(list)
            for item in values:
                if not isinstance(item, Sequence):
                    raise InvalidUpdateError(f"Invalid update item: {item} when copying checkpoint")
                item_values, item_node = item[0], item[1]
                ids = by_name[item_node]
                index = len(grouped[item_node])
                grouped[item_node].append(
                    StateUpdate(item_values, item_node, ids[index] if index < len(ids) else None)
                )
            return _superstep(
                graph,
                saver,
                patch_checkpoint_map(next_config, saved.metadata),
                [u for group in grouped.values() for u in group],
            )
        return patch_checkpoint_map(next_config, saved.metadata)  # type: ignore[no-any-return]

    ids_by_node: defaultdict[str, deque[str]] = defaultdict(deque)
    if saved is not None and saved.pending_writes is not None:
        for task in prepare_tasks(checkpoint, ctx(step + 1)).values():
            ids_by_node[task.name].append(task.id)

    valid: list[tuple[str, Any, str | None]] = []
    if len(updates) == 1:
        update = updates[0]
        node = update.as_node
        if node is None:
            node = _last_node(graph, checkpoint)
        if node is None:
            raise InvalidUpdateError("Ambiguous update, specify as_node")
        if node not in graph.nodes:
            raise InvalidUpdateError(f"Node {node} does not exist")
        valid.append((node, update.values, update.task_id))
    else:
        for update in updates:
            if update.as_node is None:
                raise InvalidUpdateError("as_node is required when applying multiple updates")
            if update.as_node not in graph.nodes:
                raise InvalidUpdateError(f"Node {update.as_node} does not exist")
            valid.append((update.as_node, update.values, update.task_id))

    run: list[tuple[str, Task]] = []
    for node_name, node_values, given_id in valid:
        prepared = ids_by_node.get(node_name) or deque()
        task_id = given_id or (
            prepared.popleft()
            if prepared
            else str(uuid.uuid5(uuid.UUID(checkpoint["id"]), INTERRUPT))
        )
        task = Task(task_id, node_name, (), (INTERRUPT,), input=None, node=graph.nodes[node_name])
        _write_as(graph, channels, task, node_values, step, cp_config)
        run.append((task_id, task))
    if saved is not None:
        for task_id, task in run:
            channel_writes = [w for w in task.writes if w[0] != PUSH]
            if channel_writes:
                saver.put_writes(cp_config, channel_writes, task_id)
    apply_writes(checkpoint, channels, [t for _, t in run], get_next, graph.trigger_to_nodes)
    next_config = saver.put(
        cp_config,
        create_checkpoint(checkpoint, channels, step + 1),
        {"source": "update", "step": step + 1, "parents": parents},
        new_versions(previous, checkpoint["channel_versions"]),
    )
    for task_id, task in run:
        push = [w for w in task.writes if w[0] == PUSH]
        if push:
            saver.put_writes(next_config, push, task_id)
    return patch_checkpoint_map(next_config, saved.metadata if saved else None)  # type: ignore[no-any-return]


def _write_as(
    graph: CompiledGraph,
    channels: Mapping[str, Any],
    task: Task,
    values: Any,
    step: int,
    config: Mapping[str, Any],
) -> None:
    """Make the writes node ``task.name`` would make had it returned ``values``."""
    from hone.graph._compile import control_writes
    from hone.graph._nodes import run_coroutine

    node = task.node
    assert node is not None
    task.writes.extend(node.update_writes(values))
    task.writes.extend(control_writes(values))
    task.writes.extend(node.edges)
    for branch in node.branches:
        from hone.graph._algo import local_read

        select, mapper = node.branch_reads[branch.name]
        value = local_read(step, step + 2, channels, graph.managed, task.writes, select, fresh=True)
        if mapper is not None:
            value = mapper(value)
        result = branch.path.call(value, dict(config), {"config": dict(config)})
        if hasattr(result, "__await__"):
            result = run_coroutine(result)
        from hone.graph._types import Send

        for dest in branch.destinations(result):
            if isinstance(dest, Send):
                task.writes.append(("__pregel_tasks", dest))
            elif dest != END:
                task.writes.append((f"branch:to:{dest}", None))
