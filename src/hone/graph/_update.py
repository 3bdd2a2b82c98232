"""Editing a thread's checkpoints: one super-step of ``update_state`` /
``bulk_update_state``, with LangGraph's semantics. An update is a new checkpoint one step on,
written as if its node returned the values (that node's edges and routers decide what runs
next); ``as_node=END`` with no values finishes the pending tasks, ``as_node="__input__"``
writes the graph's input, and ``as_node="__copy__"`` forks the checkpoint.
"""

from __future__ import annotations

import uuid
from collections import defaultdict, deque
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hone.errors import InvalidUpdateError
from hone.graph._algo import PlanContext, Task, apply_writes, local_read, prepare_tasks
from hone.graph._channels import Channel
from hone.graph._checkpoint import (
    channels_from_checkpoint,
    copy_checkpoint,
    create_checkpoint,
    empty_checkpoint,
    new_versions,
    patch_checkpoint_map,
)
from hone.graph._compile import control_writes
from hone.graph._config import ensure_config
from hone.graph._constants import END, ERROR, INPUT, INTERRUPT, KEPT, NULL_TASK_ID, PUSH, START
from hone.graph._loop import Writes
from hone.graph._nodes import run_coroutine
from hone.graph._types import Send, StateUpdate

if TYPE_CHECKING:
    from hone.graph._compiled import CompiledGraph

__all__ = ["COPY", "apply_superstep", "attach_pending"]

#: The ``as_node`` of an update that copies (forks) the checkpoint.
COPY = "__copy__"


def apply_superstep(
    graph: CompiledGraph, saver: Any, config: dict[str, Any], updates: list[StateUpdate]
) -> dict[str, Any]:
    """Apply one super-step of updates; returns the new checkpoint's config."""
    base = _Base.load(graph, saver, config)
    values, as_node = updates[0].values, updates[0].as_node
    if values is None and as_node == END:
        if len(updates) > 1:
            raise InvalidUpdateError("Cannot apply multiple updates when clearing state")
        return _clear(base)
    if as_node == INPUT:
        if len(updates) > 1:
            raise InvalidUpdateError("Cannot apply multiple updates when updating as input")
        if values is None:
            raise InvalidUpdateError(f"Received no input writes for {START}")
        return _update_as_input(base, values)
    if as_node == COPY:
        if len(updates) > 1:
            raise InvalidUpdateError("Cannot copy checkpoint with multiple updates")
        return _copy(base, values)
    return _update_as_nodes(base, updates)


@dataclass(slots=True)
class _Base:
    """The checkpoint an update goes on from (None as ``saved``: a new thread), with its
    channels; the update changes ``checkpoint`` and ``channels`` in place."""

    graph: CompiledGraph
    saver: Any
    saved: Any
    checkpoint: dict[str, Any]
    channels: dict[str, Channel]
    #: The checkpoint's channel versions before the update.
    previous: dict[str, Any]
    step: int
    #: Where the new checkpoint goes.
    config: dict[str, Any]
    pending: list[tuple[str, str, Any]]

    @classmethod
    def load(cls, graph: CompiledGraph, saver: Any, config: dict[str, Any]) -> _Base:
        """The latest checkpoint of ``config`` (or the one it names)."""
        config = ensure_config(graph.config, config)
        saved = saver.get_tuple(config)
        checkpoint = copy_checkpoint(saved.checkpoint) if saved else empty_checkpoint()
        conf = {
            **config["configurable"],
            "checkpoint_ns": config["configurable"].get("checkpoint_ns", ""),
        }
        if saved:
            conf = {**conf, **saved.config["configurable"]}
        return cls(
            graph=graph,
            saver=saver,
            saved=saved,
            checkpoint=checkpoint,
            channels=channels_from_checkpoint(graph.channels, checkpoint),
            previous=dict(saved.checkpoint["channel_versions"]) if saved else {},
            step=int(saved.metadata.get("step", -1)) if saved else -1,
            config={**config, "configurable": conf},
            pending=[(str(t), c, v) for t, c, v in (saved.pending_writes or [])] if saved else [],
        )

    @property
    def parents(self) -> Any:
        """The checkpoint ids of the enclosing graphs (the ``parents`` metadata)."""
        return self.saved.metadata.get("parents", {}) if self.saved else {}

    def plan(self, checkpoint: Mapping[str, Any], step: int) -> dict[str, Task]:
        """The tasks ``checkpoint`` has next, planned as of ``step``."""
        ctx = PlanContext(
            nodes=self.graph.nodes,
            channels=self.channels,
            managed=self.graph.managed,
            config=self.saved.config if self.saved else self.config,
            step=step,
            stop=step + 2,
            parent_ns=self.config["configurable"].get("checkpoint_ns", ""),
            pending_writes=list(self.pending),
            for_execution=False,
        )
        return prepare_tasks(checkpoint, ctx)

    def apply(self, tasks: Iterable[Any]) -> None:
        """Apply writes to the channels, bumping versions with the saver's."""
        apply_writes(
            self.checkpoint,
            self.channels,
            tasks,
            self.saver.get_next_version,
            self.graph.trigger_to_nodes,
        )

    def save(self, checkpoint_step: int, *, source: str, step: int) -> Any:
        """Save the updated checkpoint; returns its config."""
        return self.saver.put(
            self.config,
            create_checkpoint(self.checkpoint, self.channels, checkpoint_step),
            {"source": source, "step": step, "parents": self.parents},
            new_versions(self.previous, self.checkpoint["channel_versions"]),
        )

    def result(self, config: Any) -> dict[str, Any]:
        """What an update returns: the new checkpoint's config, with its checkpoint map."""
        return patch_checkpoint_map(config, self.saved.metadata if self.saved else None)  # type: ignore[no-any-return]


def _clear(base: _Base) -> dict[str, Any]:
    """``values=None, as_node=END``: the pending tasks end with the writes they saved, and
    nothing runs next."""
    if base.saved is not None:
        tasks = base.plan(base.checkpoint, base.step + 1)
        null_writes = [(c, v) for t, c, v in base.pending if t == NULL_TASK_ID]
        if null_writes:
            base.apply([Writes((), INPUT, null_writes, ())])
        attach_pending(tasks, base.pending)
        base.apply(tasks.values())
    return base.result(base.save(base.step, source="update", step=base.step + 1))


def _update_as_input(base: _Base, values: Any) -> dict[str, Any]:
    """``as_node=INPUT``: ``values`` are the graph's input, saved as an ``input``
    checkpoint."""
    input_writes = [(START, values)]
    base.apply([Writes((), INPUT, input_writes, ())])
    saved = base.saved
    next_step = base.step + 1 if saved and saved.metadata.get("step") is not None else -1
    next_config = base.save(next_step, source="input", step=next_step)
    base.saver.put_writes(
        next_config, input_writes, str(uuid.uuid5(uuid.UUID(base.checkpoint["id"]), INPUT))
    )
    return base.result(next_config)


def _copy(base: _Base, values: Any) -> dict[str, Any]:
    """``as_node="__copy__"``: a fork of the checkpoint (beside it, under its parent); a
    list of ``(values, as_node)`` is then applied to the copy as one more super-step."""
    saved = base.saved
    if saved is None:
        raise InvalidUpdateError("Cannot copy a non-existent checkpoint")
    next_checkpoint = create_checkpoint(base.checkpoint, None, base.step)
    next_config = base.saver.put(
        saved.parent_config
        or {
            **saved.config,
            "configurable": {**saved.config["configurable"], "checkpoint_id": None},
        },
        next_checkpoint,
        {"source": "fork", "step": base.step + 1, "parents": base.parents},
        {},
    )
    if isinstance(values, list) and values:
        tasks = base.plan(next_checkpoint, base.step + 2)
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
        return apply_superstep(
            base.graph,
            base.saver,
            patch_checkpoint_map(next_config, saved.metadata),
            [u for group in grouped.values() for u in group],
        )
    return patch_checkpoint_map(next_config, saved.metadata)  # type: ignore[no-any-return]


def _update_as_nodes(base: _Base, updates: list[StateUpdate]) -> dict[str, Any]:
    """Updates written as if their nodes returned them: each node's edges and routers
    decide what runs next. An update takes the id of a pending task of its node."""
    graph, saved = base.graph, base.saved
    ids_by_node: defaultdict[str, deque[str]] = defaultdict(deque)
    if saved is not None and saved.pending_writes is not None:
        for task in base.plan(base.checkpoint, base.step + 1).values():
            ids_by_node[task.name].append(task.id)
    run: list[tuple[str, Task]] = []
    for node_name, node_values, given_id in _node_updates(graph, base.checkpoint, updates):
        prepared = ids_by_node.get(node_name) or deque()
        task_id = given_id or (
            prepared.popleft()
            if prepared
            else str(uuid.uuid5(uuid.UUID(base.checkpoint["id"]), INTERRUPT))
        )
        task = Task(task_id, node_name, (), (INTERRUPT,), input=None, node=graph.nodes[node_name])
        _write_as(graph, base.channels, task, node_values, base.step, base.config)
        run.append((task_id, task))
    if saved is not None:
        for task_id, task in run:
            channel_writes = [w for w in task.writes if w[0] != PUSH]
            if channel_writes:
                base.saver.put_writes(base.config, channel_writes, task_id)
    base.apply([t for _, t in run])
    next_config = base.save(base.step + 1, source="update", step=base.step + 1)
    for task_id, task in run:
        push = [w for w in task.writes if w[0] == PUSH]
        if push:
            base.saver.put_writes(next_config, push, task_id)
    return base.result(next_config)


def _node_updates(
    graph: CompiledGraph, checkpoint: Mapping[str, Any], updates: list[StateUpdate]
) -> list[tuple[str, Any, str | None]]:
    """Each update as ``(node, values, task_id)``; one update without ``as_node`` is the
    last node's.

    Raises:
        InvalidUpdateError: an unknown node, or no node where one is needed.
    """
    if len(updates) == 1:
        update = updates[0]
        node = update.as_node
        if node is None:
            node = _last_node(graph, checkpoint)
        if node is None:
            raise InvalidUpdateError("Ambiguous update, specify as_node")
        if node not in graph.nodes:
            raise InvalidUpdateError(f"Node {node} does not exist")
        return [(node, update.values, update.task_id)]
    valid: list[tuple[str, Any, str | None]] = []
    for update in updates:
        if update.as_node is None:
            raise InvalidUpdateError("as_node is required when applying multiple updates")
        if update.as_node not in graph.nodes:
            raise InvalidUpdateError(f"Node {update.as_node} does not exist")
        valid.append((update.as_node, update.values, update.task_id))
    return valid


def _write_as(
    graph: CompiledGraph,
    channels: Mapping[str, Any],
    task: Task,
    values: Any,
    step: int,
    config: Mapping[str, Any],
) -> None:
    """Make the writes node ``task.name`` would make had it returned ``values``."""
    node = task.node
    assert node is not None
    task.writes.extend(node.update_writes(values))
    task.writes.extend(control_writes(values))
    task.writes.extend(node.edges)
    for branch in node.branches:
        select, mapper = node.branch_reads[branch.name]
        value = local_read(step, step + 2, channels, graph.managed, task.writes, select, fresh=True)
        if mapper is not None:
            value = mapper(value)
        result = branch.path.call(value, dict(config), {"config": dict(config)})
        if hasattr(result, "__await__"):
            result = run_coroutine(result)
        for dest in branch.destinations(result):
            if isinstance(dest, Send):
                task.writes.append(("__pregel_tasks", dest))
            elif dest != END:
                task.writes.append((f"branch:to:{dest}", None))


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


def attach_pending(tasks: Mapping[str, Task], pending: list[tuple[str, str, Any]]) -> None:
    """Give the planned tasks the writes they saved (errors, interrupts and what an
    interrupted task keeps for its resumed run aside: such a task has not finished)."""
    for tid, kind, value in pending:
        if kind in (ERROR, INTERRUPT, KEPT) or tid not in tasks:
            continue
        tasks[tid].writes.append((kind, value))
