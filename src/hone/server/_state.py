"""A thread's state as the API shows it: snapshots, checkpoints, tasks and interrupts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from hone.graph import StateSnapshot
from hone.server._json import jsonable

__all__ = [
    "checkpoint_json",
    "empty_state",
    "interrupts_by_task",
    "run_output",
    "select_fields",
    "snapshot_json",
]


def checkpoint_json(config: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """The API's ``Checkpoint`` of a ``{"configurable": ...}`` config."""
    if not config:
        return None
    conf = config.get("configurable") or {}
    return {
        "thread_id": conf.get("thread_id"),
        "checkpoint_ns": conf.get("checkpoint_ns", ""),
        "checkpoint_id": conf.get("checkpoint_id"),
        "checkpoint_map": conf.get("checkpoint_map"),
    }


def _task_json(task: Any) -> dict[str, Any]:
    state = task.state
    return {
        "id": task.id,
        "name": task.name,
        "error": None
        if task.error is None
        else f"{type(task.error).__name__}: {task.error}"
        if isinstance(task.error, BaseException)
        else str(task.error),
        "interrupts": jsonable(task.interrupts),
        "checkpoint": checkpoint_json(state) if isinstance(state, Mapping) else None,
        "state": snapshot_json(state) if isinstance(state, StateSnapshot) else None,
        "result": jsonable(task.result),
    }


def snapshot_json(snapshot: StateSnapshot) -> dict[str, Any]:
    """The API's ``ThreadState`` of a snapshot."""
    return {
        "values": jsonable(snapshot.values) if snapshot.values is not None else {},
        "next": list(snapshot.next),
        "tasks": [_task_json(t) for t in snapshot.tasks],
        "checkpoint": checkpoint_json(snapshot.config),
        "metadata": jsonable(snapshot.metadata or {}),
        "created_at": snapshot.created_at,
        "parent_checkpoint": checkpoint_json(snapshot.parent_config),
        "interrupts": jsonable(snapshot.interrupts),
    }


def empty_state(thread_id: str) -> dict[str, Any]:
    """The state of a thread nothing has run on yet."""
    return {
        "values": {},
        "next": [],
        "tasks": [],
        "checkpoint": {
            "thread_id": thread_id,
            "checkpoint_ns": "",
            "checkpoint_id": None,
            "checkpoint_map": None,
        },
        "metadata": {},
        "created_at": None,
        "parent_checkpoint": None,
        "interrupts": [],
    }


def interrupts_by_task(snapshot: StateSnapshot) -> dict[str, list[Any]]:
    """The pending interrupts by task id (the API's ``Thread.interrupts``)."""
    return {t.id: jsonable(t.interrupts) for t in snapshot.tasks if t.interrupts}


def run_output(snapshot: StateSnapshot) -> Any:
    """What ``wait`` and ``join`` return: the state values, with ``__interrupt__`` when
    the run stopped at interrupts."""
    values = jsonable(snapshot.values) if snapshot.values is not None else {}
    if snapshot.interrupts:
        base = values if isinstance(values, dict) else {}
        return {**base, "__interrupt__": jsonable(snapshot.interrupts)}
    return values


def select_fields(state: dict[str, Any], select: Sequence[str] | None) -> dict[str, Any]:
    """``state`` cut to the ``select`` fields (``values.<key>`` keeps one state key)."""
    if not select:
        return state
    out: dict[str, Any] = {}
    keys: list[str] = []
    for name in select:
        if name.startswith("values."):
            keys.append(name.removeprefix("values."))
        elif name in state:
            out[name] = state[name]
    if keys:
        values = state.get("values")
        out["values"] = (
            {k: values[k] for k in keys if k in values} if isinstance(values, dict) else values
        )
    return out
