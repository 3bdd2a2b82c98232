"""Stream events: where a run puts them, and the chunk shapes each mode yields.

Events are ``(namespace, mode, payload)``; the namespace is a tuple of ``node:task_id``
segments (empty for the root graph). ``format_chunk`` turns an event into what
``stream()`` yields: the payload, ``(mode, payload)`` for several modes, with the namespace
first when subgraphs are streamed, or a typed dict in ``version="v2"``.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from collections import Counter
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from hone.graph._channels import MISSING, Channel
from hone.graph._constants import ERROR, INTERRUPT, NS_END, NS_SEP, RETURN
from hone.graph._types import STREAM_MODES, TaskInfo

if TYPE_CHECKING:
    from hone.graph._algo import Task

__all__ = [
    "AsyncEvents",
    "Event",
    "EventSink",
    "StateCoercion",
    "SyncEvents",
    "debug_wrap",
    "format_chunk",
    "output_updates",
    "state_coercion",
    "task_payload",
    "task_result_payload",
    "tasks_with_writes",
]

#: (namespace, mode, payload)
Event: TypeAlias = tuple[tuple[str, ...], str, Any]
#: Excluded from debug task metadata: the framework's own keys.
EXCLUDED_METADATA_KEYS = frozenset(
    (
        "thread_id",
        "checkpoint_id",
        "checkpoint_ns",
        "checkpoint_map",
        "langgraph_step",
        "langgraph_node",
        "langgraph_triggers",
        "langgraph_path",
        "langgraph_checkpoint_ns",
    )
)


class EventSink(Protocol):
    """Where a run puts its stream events (thread-safe)."""

    def put(self, event: Event) -> None:
        """Queue one event."""
        ...


class SyncEvents:
    """Events for the sync shell: a thread-safe queue."""

    def __init__(self) -> None:
        self.queue: queue.SimpleQueue[Any] = queue.SimpleQueue()

    def put(self, event: Event) -> None:
        """Queue one event (from any thread)."""
        self.queue.put(event)

    def drain(self) -> Iterator[Event]:
        """The queued events, without waiting (runner wake-ups in the queue are skipped)."""
        while True:
            try:
                item = self.queue.get_nowait()
            except queue.Empty:
                return
            if isinstance(item, tuple):
                yield item


class AsyncEvents:
    """Events for the async shell: an asyncio queue fed safely from worker threads."""

    def __init__(self) -> None:
        self.queue: asyncio.Queue[Any] = asyncio.Queue()
        self.loop = asyncio.get_running_loop()
        self.thread = threading.get_ident()

    def put(self, event: Event) -> None:
        """Queue one event (from the loop's thread or any other)."""
        if threading.get_ident() == self.thread:
            self.queue.put_nowait(event)
        else:
            self.loop.call_soon_threadsafe(self.queue.put_nowait, event)

    def drain(self) -> Iterator[Event]:
        """The queued events, without waiting."""
        while not self.queue.empty():
            yield self.queue.get_nowait()


def check_modes(stream_mode: str | Sequence[str]) -> list[str]:
    """The requested modes as a list.

    Raises:
        ValueError: an unknown mode.
    """
    modes = [stream_mode] if isinstance(stream_mode, str) else list(stream_mode)
    for mode in modes:
        if mode not in STREAM_MODES:
            raise ValueError(
                f"unknown stream_mode {mode!r}; expected one of {sorted(STREAM_MODES)}"
            )
    return modes


class StateCoercion:
    """``version="v2"``'s typed state: the run's own ``values`` chunks become its output
    schema and the state inside its ``checkpoints`` / ``debug`` payloads its state schema,
    when those are pydantic models or dataclasses (``schema(**values)``; a value the schema
    rejects raises its validation error). Subgraph chunks stay dicts, as in LangGraph."""

    def __init__(self, own_ns: tuple[str, ...], output: type | None, state: type | None) -> None:
        self.own_ns = own_ns
        self.output = output
        self.state = state

    def values(self, ns: tuple[str, ...], payload: Any) -> Any:
        if self.output is None or ns != self.own_ns or not isinstance(payload, dict):
            return payload
        return self.output(**payload)

    def checkpoint(self, ns: tuple[str, ...], payload: Any) -> Any:
        """A copy of a checkpoint (or debug checkpoint) payload with its values typed; the
        first checkpoint of a run (before any channel is set) is left as it is."""
        if self.state is None or ns != self.own_ns or not isinstance(payload, dict):
            return payload
        inner = payload.get("payload") if payload.get("type") == "checkpoint" else payload
        if not isinstance(inner, dict) or not isinstance(inner.get("values"), dict):
            return payload
        if "__start__" in (inner.get("next") or ()):
            return payload
        typed = {**inner, "values": self.state(**inner["values"])}
        return {**payload, "payload": typed} if inner is not payload else typed


def _typed(schema: Any) -> type | None:
    import dataclasses

    from pydantic import BaseModel

    if isinstance(schema, type) and (
        issubclass(schema, BaseModel) or dataclasses.is_dataclass(schema)
    ):
        return schema
    return None


def state_coercion(graph: Any, own_ns: tuple[str, ...]) -> StateCoercion | None:
    """The v2 coercion of ``graph``'s chunks (None when its schemas are plain dicts)."""
    from hone.graph._state import ROOT

    builder = graph.builder
    if builder is None or graph.output_keys == ROOT:
        return None
    output, state = _typed(graph.output_schema), _typed(builder.state_schema)
    if output is None and state is None:
        return None
    return StateCoercion(own_ns, output, state)


def format_chunk(
    event: Event,
    stream_mode: str | Sequence[str],
    subgraphs: bool,
    version: str,
    coercion: StateCoercion | None = None,
) -> Any:
    """A stream event as ``stream()`` yields it."""
    ns, mode, payload = event
    if version == "v2":
        if mode == "values":
            interrupts: Any = ()
            if isinstance(payload, dict) and INTERRUPT in payload:
                payload = dict(payload)
                interrupts = payload.pop(INTERRUPT)
            if coercion is not None:
                payload = coercion.values(ns, payload)
            return {"type": mode, "ns": ns, "data": payload, "interrupts": interrupts}
        if coercion is not None and mode in ("checkpoints", "debug"):
            payload = coercion.checkpoint(ns, payload)
        return {"type": mode, "ns": ns, "data": payload}
    multi = not isinstance(stream_mode, str)
    if subgraphs:
        return (ns, mode, payload) if multi else (ns, payload)
    return (mode, payload) if multi else payload


# ----------------------------------------------------------------------------- payloads


def read_values(channels: Mapping[str, Channel], keys: Sequence[str] | str) -> Any:
    """The values of ``keys`` that are set (a single key: its value or None)."""
    if isinstance(keys, str):
        channel = channels[keys]
        return channel.get() if channel.is_available() else None
    out: dict[str, Any] = {}
    for key in keys:
        found = channels.get(key)
        if found is not None and found.is_available():
            out[key] = found.get()
    return out


def output_updates(
    output_keys: Sequence[str] | str,
    tasks: Sequence[tuple[Task, Sequence[tuple[str, Any]]]],
    cached: bool = False,
) -> dict[str, Any] | None:
    """The ``updates`` chunk for tasks that finished: ``{node: update}`` (a list when a
    node wrote a key more than once)."""
    shown = [
        (t, ww)
        for t, ww in tasks
        if not (t.node is not None and t.node.hidden)
        and ww
        and ww[0][0] != ERROR
        and ww[0][0] != INTERRUPT
    ]
    if not shown:
        return None
    updated: list[tuple[str, Any]] = []
    for task, writes in shown:
        ret = next((v for c, v in writes if c == RETURN), MISSING)
        if ret is not MISSING:
            updated.append((task.name, ret))
        elif isinstance(output_keys, str):
            updated.extend((task.name, v) for c, v in writes if c == output_keys)
        elif any(c in output_keys for c, _ in writes):
            counts = Counter(c for c, _ in writes)
            if any(counts[c] > 1 for c in output_keys):
                updated.extend((task.name, {c: v}) for c, v in writes if c in output_keys)
            else:
                updated.append((task.name, {c: v for c, v in writes if c in output_keys}))
    grouped: dict[str, Any] = {t.name: [] for t, _ in shown}
    for node, value in updated:
        grouped[node].append(value)
    for node, values in grouped.items():
        grouped[node] = None if not values else values[0] if len(values) == 1 else values
    if cached:
        grouped["__metadata__"] = {"cached": True}
    return grouped


def _user_metadata(config: Mapping[str, Any]) -> dict[str, Any]:
    md = {
        k: v for k, v in (config.get("metadata") or {}).items() if k not in EXCLUDED_METADATA_KEYS
    }
    # LangGraph's rule: all tags but the ``seq:step:N`` ones a RunnableSequence adds.
    tags = [t for t in config.get("tags") or () if not str(t).startswith("seq:step")]
    if tags:
        md["tags"] = tags
    return md


def task_payload(task: Task) -> dict[str, Any]:
    """A ``tasks``-mode "task started" payload."""
    payload = {"id": task.id, "name": task.name, "input": task.input, "triggers": task.triggers}
    md = _user_metadata(task.config)
    if md:
        payload["metadata"] = md
    return payload


def _fold(writes: Sequence[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for chan, value in writes:
        if chan in out:
            prev = out[chan]
            many = prev["$writes"] if isinstance(prev, dict) and "$writes" in prev else [prev]
            out[chan] = {"$writes": [*many, value]}
        else:
            out[chan] = value
    return out


def task_result_payload(
    task: Task, writes: Sequence[tuple[str, Any]], stream_keys: Sequence[str] | str
) -> dict[str, Any]:
    """A ``tasks``-mode "task finished" payload."""
    keys = [stream_keys] if isinstance(stream_keys, str) else stream_keys
    return {
        "id": task.id,
        "name": task.name,
        "error": next((v for c, v in writes if c == ERROR), None),
        "result": _fold([w for w in writes if w[0] in keys or w[0] == RETURN]),
        "interrupts": [
            asdict(v)
            for c, vv in writes
            if c == INTERRUPT
            for v in (vv if isinstance(vv, Sequence) else [vv])
        ],
    }


def debug_wrap(mode: str, step: int, payload: Any) -> dict[str, Any]:
    """A ``debug``-mode chunk around a ``checkpoints`` or ``tasks`` payload."""
    kind = (
        "checkpoint" if mode == "checkpoints" else "task_result" if "result" in payload else "task"
    )
    return {
        "step": step,
        "timestamp": datetime.now(UTC).isoformat(),
        "type": kind,
        "payload": payload,
    }


def tasks_with_writes(
    tasks: Sequence[Task],
    pending_writes: Sequence[tuple[str, str, Any]],
    states: Mapping[str, Any] | None,
    output_keys: Sequence[str] | str,
) -> tuple[TaskInfo, ...]:
    """The tasks of a snapshot with what they already wrote: errors, interrupts, results,
    and subgraph states."""
    out: list[TaskInfo] = []
    for task in tasks:
        mine = [(c, v) for tid, c, v in pending_writes if tid == task.id]
        ret = next((v for c, v in mine if c == RETURN), MISSING)
        error = next((v for c, v in mine if c == ERROR), None)
        interrupts = tuple(
            i
            for c, vv in mine
            if c == INTERRUPT
            for i in (vv if isinstance(vv, Sequence) else [vv])
        )
        writes = [(c, v) for c, v in mine if c not in (ERROR, INTERRUPT, RETURN)]
        result: Any
        if ret is not MISSING:
            result = ret
        elif isinstance(output_keys, str):
            folded = _fold([(c, v) for c, v in writes if c == output_keys])
            result = folded.get(output_keys) if folded else None
        else:
            filtered = [(c, v) for c, v in writes if c in output_keys]
            result = _fold(filtered) if filtered else {}
        has_writes = ret is not MISSING or any(c not in (ERROR, INTERRUPT) for c, _ in mine)
        out.append(
            TaskInfo(
                task.id,
                task.name,
                task.path,
                error,
                interrupts,
                states.get(task.id) if states else None,
                result if has_writes else None,
            )
        )
    return tuple(out)


def subgraph_task_ns(parent_ns: str, task: Task) -> str:
    """The namespace of a subgraph task's checkpoints."""
    ns = f"{task.name}{NS_END}{task.id}"
    return f"{parent_ns}{NS_SEP}{ns}" if parent_ns else ns
