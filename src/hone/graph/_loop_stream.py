"""What a run streams: the values after each step, each task's updates, the interrupts it
stops at, task and checkpoint events (``tasks``, ``checkpoints``, ``debug``), custom chunks
and messages.

:class:`StreamingLoop` adds these to :class:`~hone.graph._loop_state.LoopState`; events go to
the run's sink as ``(namespace, mode, payload)``. A ``messages``-mode run also streams the
messages a node returns that it has not streamed yet (by message id, shared with subgraphs),
but not its tool messages when the run streams content-block events (``messages_v2``).
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hone.graph._algo import Task
from hone.graph._checkpoint import patch_checkpoint_map
from hone.graph._constants import ERROR, INTERRUPT, NS_END, NS_SEP
from hone.graph._loop_state import LoopState
from hone.graph._stream import (
    debug_wrap,
    output_updates,
    read_values,
    task_result_payload,
    tasks_with_writes,
)
from hone.graph._types import Command

__all__ = ["StreamingLoop", "message_metadata"]


class StreamingLoop(LoopState):
    """A run's state, with what it streams (see the module docstring)."""

    def emit_values(self) -> None:
        """Stream the output values (``values`` mode); an invoke only notes that it did."""
        self.values_seen = True
        if self.settings.wants("values"):
            self.emit("values", read_values(self.channels, self.output_keys))

    def emit_interrupts(self, interrupts: tuple[Any, ...]) -> None:
        """Report the interrupts the run stops at (``updates`` mode; an invoke keeps them)."""
        self.interrupts_seen.extend(interrupts)
        self.emit("updates", {INTERRUPT: interrupts})

    def emit(self, mode: str, payload: Any) -> None:
        """Send a stream event (``checkpoints`` and ``tasks`` also reach ``debug``)."""
        settings = self.settings
        sink = settings.sink
        if sink is None:
            return
        if mode in settings.modes:
            sink.put((self.ns_path, mode, payload))
        if mode in ("checkpoints", "tasks") and "debug" in settings.modes:
            step = self.step - 1 if mode == "checkpoints" else self.step
            sink.put((self.ns_path, "debug", debug_wrap(mode, step, payload)))

    def tool_events(self) -> Callable[[dict[str, Any]], None] | None:
        """What sends tool-call events (``tool-started``, ``tool-output-delta``,
        ``tool-finished``, ``tool-error``) to ``tools`` mode; None when nobody streams it."""
        sink = self.settings.sink
        if sink is None or "tools" not in self.settings.modes:
            return None
        ns = self.ns_path
        return lambda payload: sink.put((ns, "tools", payload))

    def stream_writer(self, task: Task) -> Callable[[Any], None]:
        """The writer that sends a task's chunks to ``custom`` mode."""
        progress = _progress(task)
        if not self.settings.wants("custom"):
            return _ignore if progress is None else lambda chunk: progress()
        ns = self.ns_path

        def write(chunk: Any) -> None:
            if progress is not None:
                progress()
            sink = self.settings.sink
            if sink is not None:
                sink.put((ns, "custom", chunk))

        return write

    # ------------------------------------------------------------------ messages

    def emit_message(self, task: Task, chunk: Any, metadata: Mapping[str, Any] | None) -> None:
        """Stream a message (delta) from inside a task in ``messages`` mode."""
        progress = _progress(task)
        if progress is not None:
            progress()
        settings = self.settings
        if settings.sink is None or "messages" not in settings.modes:
            return
        msg_id = getattr(chunk, "id", None)
        if msg_id is not None:
            with settings.streamed_lock:
                settings.streamed.add(msg_id)
        meta = message_metadata(task, self)
        if metadata:
            meta.update(metadata)
        settings.sink.put((self.ns_path, "messages", (chunk, meta)))

    def _streams_messages(self, task: Task) -> bool:
        return (
            self.settings.sink is not None
            and "messages" in self.settings.modes
            and not (task.node is not None and task.node.hidden)
        )

    def mark_input_messages(self, task: Task) -> None:
        """Messages a task reads are not streamed again when it returns them."""
        if not self._streams_messages(task):
            return
        ids = [m.id for m in _messages_in(task.input, top=True) if m.id is not None]
        if ids:
            with self.settings.streamed_lock:
                self.settings.streamed.update(ids)

    def mark_returned_messages(self, task: Task, output: Any) -> None:
        """Stream the messages a node returns that were not streamed yet."""
        if not self._streams_messages(task):
            return
        found: list[Any] = []
        if isinstance(output, Command):
            found = _messages_in(output.update, top=False)
        elif isinstance(output, Sequence) and any(isinstance(v, Command) for v in output):
            for value in output:
                found.extend(
                    _messages_in(value.update if isinstance(value, Command) else value, top=False)
                )
        else:
            found = _messages_in(output, top=False)
        settings = self.settings
        if settings.messages_v2:
            # A v3 event stream carries tool results on its tools channel, not as messages.
            found = [m for m in found if not _is_tool_message(m)]
        for message in found:
            with settings.streamed_lock:
                if message.id is not None and message.id in settings.streamed:
                    continue
                if message.id is None:
                    with contextlib.suppress(Exception):
                        message.id = str(uuid.uuid4())
                if message.id is not None:
                    settings.streamed.add(message.id)
            meta = message_metadata(task, self)
            settings.sink.put((self.ns_path, "messages", (message, meta)))  # type: ignore[union-attr]

    # ------------------------------------------------------------------ writes and checkpoints

    def output_writes(
        self, task_id: str, writes: Sequence[tuple[str, Any]], *, cached: bool = False
    ) -> None:
        """Stream a task's writes (updates, interrupts, task results)."""
        task = self.tasks.get(task_id)
        if task is None or (task.node is not None and task.node.hidden) or not writes:
            return
        if writes[0][0] == INTERRUPT:
            if task.path[0] == "__pregel_push" and task.path[-1] is True:
                return
            interrupts = tuple(
                i
                for c, v in writes
                if c == INTERRUPT
                for i in (v if isinstance(v, Sequence) else (v,))
            )
            self.emit_interrupts(interrupts)
            if self.settings.wants("values"):
                values = read_values(self.channels, self.output_keys)
                if isinstance(values, dict):
                    self.emit("values", {**values, INTERRUPT: interrupts})
                else:
                    self.emit("values", {INTERRUPT: interrupts})
        elif writes[0][0] != ERROR and self.settings.wants("updates"):
            chunk = output_updates(self.output_keys, [(task, writes)], cached)
            if chunk is not None:
                self.emit("updates", chunk)
        if not cached and self.settings.wants("tasks"):
            self.emit("tasks", task_result_payload(task, writes, self.stream_keys))

    def _emit_checkpoint(self) -> None:
        conf = {
            **self.checkpoint_config["configurable"],
            "checkpoint_id": self.checkpoint["id"],
        }
        config = patch_checkpoint_map(
            {"configurable": {k: v for k, v in conf.items() if not k.startswith("__")}},
            self.checkpoint_metadata,
        )
        parent = patch_checkpoint_map(self.prev_checkpoint_config, self.checkpoint_metadata)
        if parent is not None:
            parent = {
                "configurable": {
                    k: v for k, v in parent["configurable"].items() if not k.startswith("__")
                }
            }
        states: dict[str, Any] = {}
        for task in self.tasks.values():
            if task.node is not None and task.node.child_graph is not None:
                task_ns = f"{task.name}{NS_END}{task.id}"
                states[task.id] = {
                    "configurable": {
                        "thread_id": conf.get("thread_id"),
                        "checkpoint_ns": f"{self.ns}{NS_SEP}{task_ns}" if self.ns else task_ns,
                    }
                }
        infos = tasks_with_writes(
            list(self.tasks.values()), self.pending_writes, states, self.output_keys
        )
        payload = {
            "config": config,
            "parent_config": parent,
            "values": read_values(self.channels, self.stream_keys),
            "metadata": self.checkpoint_metadata,
            "next": [t.name for t in self.tasks.values()],
            "tasks": [_task_summary(t) for t in infos],
        }
        self.emit("checkpoints", payload)


def message_metadata(task: Task, loop: StreamingLoop) -> dict[str, Any]:
    """The metadata of a ``messages``-mode chunk: the task's config metadata."""
    return {"ls_integration": "langgraph", **(task.config.get("metadata") or {})}


def _is_message(value: Any) -> bool:
    return (
        hasattr(value, "content")
        and hasattr(value, "id")
        and (hasattr(value, "role") or hasattr(value, "type"))
        and not isinstance(value, type)
    )


def _is_tool_message(message: Any) -> bool:
    """Whether ``message`` is a tool result (hone's or LangChain's, chunks included)."""
    return getattr(message, "type", None) in ("tool", "ToolMessageChunk")


def _state_values(obj: Any) -> list[Any]:
    import dataclasses

    from pydantic import BaseModel

    if isinstance(obj, dict):
        return list(obj.values())
    if isinstance(obj, BaseModel) and not _is_message(obj):
        return [getattr(obj, k) for k in type(obj).model_fields]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [getattr(obj, f.name) for f in dataclasses.fields(obj)]
    return []


def _messages_in(obj: Any, *, top: bool) -> list[Any]:
    """Messages among a state's (or an update's) top-level values."""
    if obj is None:
        return []
    if not top and _is_message(obj):
        return [obj]
    if not top and isinstance(obj, Sequence) and not isinstance(obj, str):
        return [v for v in obj if _is_message(v)]
    out: list[Any] = []
    for value in _state_values(obj):
        if _is_message(value):
            out.append(value)
        elif isinstance(value, Sequence) and not isinstance(value, str):
            out.extend(v for v in value if _is_message(v))
    return out


def _task_summary(info: Any) -> dict[str, Any]:
    from dataclasses import asdict

    if info.error:
        return {"id": info.id, "name": info.name, "error": info.error, "state": info.state}
    base = {
        "id": info.id,
        "name": info.name,
        "interrupts": tuple(asdict(i) for i in info.interrupts),
        "state": info.state,
    }
    if info.result:
        return {"id": info.id, "name": info.name, "result": info.result, **base}
    return base


def _ignore(chunk: Any) -> None:
    return None


def _progress(task: Task) -> Callable[[], None] | None:
    """What a task's streamed output calls to count as progress: its idle-timeout heartbeat
    under ``TimeoutPolicy(refresh_on="auto")``, as in LangGraph (None otherwise)."""
    policy = task.timeout
    if task.heartbeat is None or policy is None or policy.refresh_on != "auto":
        return None
    return task.heartbeat
