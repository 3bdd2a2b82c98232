"""Subgraph lifecycles, inferred from ``tasks`` events: ``run.lifecycle`` and
``run.subgraphs``.

A subgraph shows itself by its first task event at a deeper namespace (``node:task_id``
segments); it ends when the parent task named by that segment reports its result: completed,
failed (the result's error) or interrupted. Subgraphs still open when the run ends are closed
by how the run ended. Task events are folded into these projections and kept out of the main
log.

A nested run carrying an ``lc_agent_name`` in its task metadata (``create_agent(name=...)``)
is an agent: it is named after that agent, and when a tool call started it, the tool call's id
becomes its ``cause``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Literal, NotRequired

from typing_extensions import TypedDict

from hone.graph._interrupt import GraphInterrupt
from hone.graph._runner import GraphDrained
from hone.graph.streaming._channel import StreamChannel
from hone.graph.streaming._protocol import ProtocolEvent
from hone.graph.streaming._run import AsyncSubgraphRunStream, SubgraphRunStream, SubgraphStatus
from hone.graph.streaming._transformer import StreamTransformer

if TYPE_CHECKING:
    from hone.graph.streaming._mux import StreamMux

__all__ = [
    "LifecycleCause",
    "LifecyclePayload",
    "LifecycleTransformer",
    "SubgraphTransformer",
    "TaskLifecycle",
]

_log = logging.getLogger(__name__)

Handle = SubgraphRunStream | AsyncSubgraphRunStream


class LifecycleCause(TypedDict):
    """What started a nested agent: the tool call whose id is given."""

    type: Literal["toolCall"]
    tool_call_id: str


class LifecyclePayload(TypedDict, total=False):
    """An item of ``run.lifecycle`` (also logged as a ``lifecycle`` event)."""

    event: SubgraphStatus
    namespace: list[str]
    graph_name: NotRequired[str]
    trigger_call_id: NotRequired[str]
    cause: NotRequired[LifecycleCause]
    error: NotRequired[str]


def _split(segment: str) -> tuple[str, str | None]:
    """``"node:task_id"`` -> ``("node", "task_id")``; a segment without ``:`` has no task."""
    name, colon, task_id = segment.partition(":")
    return name, task_id if colon else None


def ended_by(err: BaseException) -> tuple[SubgraphStatus, str | None]:
    """The terminal status (and error text) of subgraphs open when a run raised ``err``."""
    if isinstance(err, GraphDrained):
        return "drained", None
    if isinstance(err, GraphInterrupt):
        return "interrupted", None
    return "failed", str(err)


def _ended_as(result: dict[str, Any]) -> tuple[SubgraphStatus, str | None]:
    # An interrupt shows as interrupts on the result, never as its error: check it first.
    if result.get("interrupts"):
        return "interrupted", None
    if error := result.get("error"):
        return "failed", str(error)
    return "completed", None


class TaskLifecycle(StreamTransformer):
    """The bookkeeping both lifecycle projections share. Subclasses say which namespaces they
    follow (``_should_track``) and what to do when one starts (``_on_started``; the cause, if
    any, is ``self._pending_cause``) and ends (``_on_terminal``)."""

    required_stream_modes = ("tasks",)

    def __init__(self, scope: tuple[str, ...] = ()) -> None:
        super().__init__(scope)
        self._seen: set[tuple[str, ...]] = set()
        # open namespace -> id of the parent task whose result ends it
        self._open: dict[tuple[str, ...], str] = {}
        # the lc_agent_name first seen at each namespace
        self._lc_by_ns: dict[tuple[str, ...], str | None] = {}
        # task id -> id of the tool call that task runs
        self._pending_tool_calls: dict[str, str] = {}
        self._pending_cause: LifecycleCause | None = None

    def _should_track(self, ns: tuple[str, ...]) -> bool:
        raise NotImplementedError

    def _on_started(
        self, ns: tuple[str, ...], graph_name: str | None, trigger_call_id: str | None
    ) -> None:
        raise NotImplementedError

    def _on_terminal(self, ns: tuple[str, ...], status: SubgraphStatus, error: str | None) -> None:
        raise NotImplementedError

    def process(self, event: ProtocolEvent) -> bool:
        for child, status, error in self._observe_tasks(event):
            self._on_terminal(child, status, error)
        return event["method"] != "tasks"

    def _observe_tasks(
        self, event: ProtocolEvent
    ) -> list[tuple[tuple[str, ...], SubgraphStatus, str | None]]:
        """Record a ``tasks`` event (a start calls ``_on_started``); the children its result
        ends, for the caller's lane to close."""
        if event["method"] != "tasks":
            return []
        ns = tuple(event["params"]["namespace"])
        data = event["params"]["data"]
        if "result" in data:
            return self._ended(ns, data)
        self._started(ns, data)
        return []

    def _started(self, ns: tuple[str, ...], data: dict[str, Any]) -> None:
        metadata = data.get("metadata") or {}
        self._lc_by_ns.setdefault(ns, metadata.get("lc_agent_name"))
        self._remember_tool_call(data)
        if not self._should_track(ns) or ns in self._seen:
            return
        self._seen.add(ns)
        name, trigger = _split(ns[-1])
        agent = metadata.get("lc_agent_name")
        cause: LifecycleCause | None = None
        tool_call_id = self._pending_tool_calls.get(trigger) if trigger is not None else None
        if agent is not None and tool_call_id:
            cause = {"type": "toolCall", "tool_call_id": str(tool_call_id)}
        self._pending_cause = cause
        self._on_started(ns, agent if agent is not None else (name or None), trigger)
        if trigger is not None:
            self._open[ns] = trigger

    def _remember_tool_call(self, data: dict[str, Any]) -> None:
        task_id, payload = data.get("id"), data.get("input")
        if not isinstance(task_id, str):
            return
        call_id: Any = None
        if isinstance(payload, dict) and isinstance(payload.get("tool_call"), dict):
            call_id = payload["tool_call"].get("id")
        elif isinstance(payload, list):
            call_id = next(
                (c["id"] for c in payload if isinstance(c, dict) and isinstance(c.get("id"), str)),
                None,
            )
        if isinstance(call_id, str):
            self._pending_tool_calls[task_id] = call_id

    def _ended(
        self, ns: tuple[str, ...], result: dict[str, Any]
    ) -> list[tuple[tuple[str, ...], SubgraphStatus, str | None]]:
        """The open children that the task result ``result`` at ``ns`` ends (now closed)."""
        task_id = result.get("id")
        if not task_id:
            return []
        ended = [c for c, parent in self._open.items() if c[:-1] == ns and parent == task_id]
        status, error = _ended_as(result)
        for child in ended:
            del self._open[child]
        return [(child, status, error) for child in ended]

    def finalize(self) -> None:
        for ns in list(self._open):
            self._on_terminal(ns, "completed", None)
        self._open.clear()

    def fail(self, err: BaseException) -> None:
        status, error = ended_by(err)
        for ns in list(self._open):
            self._on_terminal(ns, status, error)
        self._open.clear()


class LifecycleTransformer(TaskLifecycle):
    """``run.lifecycle``: a ``started`` and a terminal :class:`LifecyclePayload` for every
    subgraph at any depth below the scope (logged as ``lifecycle`` events too)."""

    _native = True

    def __init__(self, scope: tuple[str, ...] = ()) -> None:
        super().__init__(scope)
        self._channel: StreamChannel[LifecyclePayload] = StreamChannel("lifecycle")

    def init(self) -> dict[str, Any]:
        return {"lifecycle": self._channel}

    def _should_track(self, ns: tuple[str, ...]) -> bool:
        depth = len(self.scope)
        return len(ns) > depth and ns[:depth] == self.scope

    def _on_started(
        self, ns: tuple[str, ...], graph_name: str | None, trigger_call_id: str | None
    ) -> None:
        if trigger_call_id is None:
            # No parent task to end it: only the run's end closes it, so no "started" either.
            return
        payload: LifecyclePayload = {"event": "started", "namespace": list(ns)}
        if graph_name:
            payload["graph_name"] = graph_name
        payload["trigger_call_id"] = trigger_call_id
        if self._pending_cause is not None:
            payload["cause"] = self._pending_cause
        self._channel.push(payload)

    def _on_terminal(self, ns: tuple[str, ...], status: SubgraphStatus, error: str | None) -> None:
        payload: LifecyclePayload = {"event": status, "namespace": list(ns)}
        if error is not None:
            payload["error"] = error
        self._channel.push(payload)


class SubgraphTransformer(TaskLifecycle):
    """``run.subgraphs``: a run stream handle for each direct child subgraph, with its own
    projections (``handle.values``, ``handle.messages``, ``handle.subgraphs`` for its
    children...), ``status`` and ``error``. Read a handle's projections inside the loop that
    received it, before the run moves on."""

    _native = True
    supports_sync = True

    def __init__(self, scope: tuple[str, ...] = ()) -> None:
        super().__init__(scope)
        self._log: StreamChannel[Handle] = StreamChannel()
        self._handles: dict[tuple[str, ...], Handle] = {}
        self._mux: StreamMux | None = None

    def init(self) -> dict[str, Any]:
        return {"subgraphs": self._log}

    def _on_register(self, mux: StreamMux) -> None:
        self._mux = mux

    def _should_track(self, ns: tuple[str, ...]) -> bool:
        # Direct children only: a child's own transformer finds its children.
        depth = len(self.scope)
        return len(ns) == depth + 1 and ns[:depth] == self.scope

    def _on_started(
        self, ns: tuple[str, ...], graph_name: str | None, trigger_call_id: str | None
    ) -> None:
        if self._mux is None or ns in self._handles or not self._wants(ns):
            return
        try:
            child = self._mux._make_child(ns)
        except RuntimeError:
            return
        handle = self._new_handle(child, ns, graph_name, trigger_call_id)
        self._handles[ns] = handle
        self._log.push(handle)

    def _wants(self, ns: tuple[str, ...]) -> bool:
        """Whether the child run at ``ns`` gets a handle (every subgraph does)."""
        return True

    #: The handle classes of a sync and of an async child run.
    _handle_classes: tuple[type[Any], type[Any]] = (SubgraphRunStream, AsyncSubgraphRunStream)

    def _handle_kwargs(self) -> dict[str, Any]:
        """More constructor arguments of the next handle (a subclass's own)."""
        return {}

    def _new_handle(
        self,
        child: StreamMux,
        ns: tuple[str, ...],
        graph_name: str | None,
        trigger_call_id: str | None,
    ) -> Handle:
        cls = self._handle_classes[1 if child.is_async else 0]
        return cls(  # type: ignore[no-any-return]
            child,
            path=ns,
            graph_name=graph_name,
            trigger_call_id=trigger_call_id,
            **self._handle_kwargs(),
        )

    def _mark(
        self, ns: tuple[str, ...], status: SubgraphStatus, error: str | None
    ) -> Handle | None:
        """Record the handle's end (once); the handle whose mux still needs ending, if any."""
        handle = self._handles.get(ns)
        if handle is None or handle._seen_terminal:
            return None
        handle.status = status
        if error is not None and handle.error is None:
            handle.error = error
        handle._seen_terminal = True
        return None if handle._mux._events._closed else handle

    def _on_terminal(self, ns: tuple[str, ...], status: SubgraphStatus, error: str | None) -> None:
        if (handle := self._mark(ns, status, error)) is not None:
            if status == "failed":
                handle._mux.fail(RuntimeError(error or "subgraph failed"))
            else:
                handle._mux.close()

    async def _aon_terminal(
        self, ns: tuple[str, ...], status: SubgraphStatus, error: str | None
    ) -> None:
        if (handle := self._mark(ns, status, error)) is not None:
            if status == "failed":
                await handle._mux.afail(RuntimeError(error or "subgraph failed"))
            else:
                await handle._mux.aclose()

    def _handle_for(self, event: ProtocolEvent) -> Handle | None:
        ns = tuple(event["params"]["namespace"])
        depth = len(self.scope)
        if len(ns) <= depth:
            return None
        handle = self._handles.get(ns[: depth + 1])
        if handle is None or handle._mux._events._closed:
            return None
        return handle

    def process(self, event: ProtocolEvent) -> bool:
        keep = super().process(event)
        if (handle := self._handle_for(event)) is not None:
            handle._observe_event(event)
            handle._mux.push(event)
        return keep

    async def aprocess(self, event: ProtocolEvent) -> bool:
        for child, status, error in self._observe_tasks(event):
            await self._aon_terminal(child, status, error)
        if (handle := self._handle_for(event)) is not None:
            handle._observe_event(event)
            await handle._mux.apush(event)
        return event["method"] != "tasks"

    def _end_all(self, status: SubgraphStatus, error: str | None) -> list[Handle]:
        self._open.clear()
        return [h for ns in self._handles if (h := self._mark(ns, status, error)) is not None]

    def finalize(self) -> None:
        for handle in self._end_all("completed", None):
            handle._mux.close()

    async def afinalize(self) -> None:
        for handle in self._end_all("completed", None):
            await handle._mux.aclose()

    def fail(self, err: BaseException) -> None:
        status, error = ended_by(err)
        for handle in self._end_all(status, error):
            try:
                handle._mux.fail(err)
            except Exception:
                _log.warning("could not fail the subgraph stream at %s", handle.path, exc_info=True)

    async def afail(self, err: BaseException) -> None:
        status, error = ended_by(err)
        for handle in self._end_all(status, error):
            try:
                await handle._mux.afail(err)
            except Exception:
                _log.warning("could not fail the subgraph stream at %s", handle.path, exc_info=True)
