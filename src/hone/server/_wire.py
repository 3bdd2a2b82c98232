"""Event streaming over the wire: a run's v3 protocol events (what
``graph.astream_events(..., version="v3")`` yields locally) in the shape LangGraph's thread
stream sends them (``langchain_protocol``'s ``Event``), which LangGraph's SDK
(``client.threads.stream``) and ``RemoteGraph.stream_events(version="v3")`` read.

Differences from the local events, all of the wire's making:

* ``lifecycle``: the run's own status at the root (``running`` when it starts;
  ``completed``, ``failed`` with its error, or ``interrupted`` when it ends), and each
  subgraph's under the subgraph's namespace (locally the root mux reports them);
* ``input.requested``: one per interrupt the run stops at (``interrupt_id``, ``payload``),
  taken out of the ``values`` and ``updates`` that carry them;
* ``updates``: one event per node, ``data`` the node's update and ``params.node`` its name;
* ``custom``: ``data`` is ``{"payload": ...}``, and a transformer's ``custom:<name>`` channel
  is ``{"name": name, "payload": ...}``;
* ``checkpoints``: ``{"id", "parent_id", "step", "source"}``, what time travel needs;
* every payload is JSON (messages as LangChain-shaped dicts); ``debug`` is not a wire channel.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from hone.server._json import jsonable

__all__ = ["CHANNELS", "WireShaper", "agent_tree", "channel_of", "matches", "wire_event"]

#: The channels a client may subscribe to (besides ``custom:<name>``).
CHANNELS = frozenset(
    {"values", "updates", "messages", "tools", "lifecycle", "input", "checkpoints", "tasks"}
    | {"custom"}
)
_FORWARDED = frozenset(("tasks", "tools"))


def wire_event(
    method: str, namespace: Sequence[str], data: Any, *, node: str | None = None
) -> dict[str, Any]:
    """One wire event (without ``seq`` / ``event_id``, which the thread's log assigns)."""
    params: dict[str, Any] = {
        "namespace": list(namespace),
        "timestamp": int(time.time() * 1000),
        "data": data,
    }
    if node is not None:
        params["node"] = node
    return {"type": "event", "method": method, "params": params}


def channel_of(event: Mapping[str, Any]) -> str | None:
    """The channel a wire event is delivered on (None: none)."""
    method = event.get("method")
    if method == "input.requested":
        return "input"
    if method == "custom":
        data = event.get("params", {}).get("data")
        name = data.get("name") if isinstance(data, dict) else None
        return f"custom:{name}" if name else "custom"
    return method if isinstance(method, str) and method in CHANNELS else None


def _prefix(namespace: Sequence[str], prefix: Sequence[str]) -> bool:
    """Whether ``namespace`` starts with ``prefix``; a prefix segment without ``:`` also
    matches a segment that adds a task id (``"agent"`` matches ``"agent:3f2a..."``)."""
    if len(prefix) > len(namespace):
        return False
    for want, got in zip(prefix, namespace, strict=False):
        if got != want and (":" in want or got.partition(":")[0] != want):
            return False
    return True


def matches(
    event: Mapping[str, Any],
    channels: Iterable[str],
    namespaces: Sequence[Sequence[str]] | None = None,
    depth: int | None = None,
) -> bool:
    """Whether a subscription (channels, namespace prefixes, depth below them) takes
    ``event``."""
    channel = channel_of(event)
    wanted = set(channels)
    if channel is None or (
        channel not in wanted and not (channel.startswith("custom:") and "custom" in wanted)
    ):
        return False
    if not namespaces:
        return True
    namespace = event.get("params", {}).get("namespace") or []
    return any(
        _prefix(namespace, prefix) and (depth is None or len(namespace) - len(prefix) <= depth)
        for prefix in namespaces
    )


class WireShaper:
    """Turns one run's local protocol events into wire events (see the module docstring)."""

    def __init__(self, graph_name: str) -> None:
        self.graph_name = graph_name
        self._asked: set[str] = set()

    def start(self) -> list[dict[str, Any]]:
        """The run's first event: its root lifecycle ``running``."""
        return [wire_event("lifecycle", [], {"event": "running", "graph_name": self.graph_name})]

    def finish(
        self, *, error: str | None = None, interrupted: bool = False
    ) -> list[dict[str, Any]]:
        """The run's last event: its root lifecycle."""
        if error is not None:
            data: dict[str, Any] = {"event": "failed", "error": error}
        else:
            data = {"event": "interrupted" if interrupted else "completed"}
        return [wire_event("lifecycle", [], {**data, "graph_name": self.graph_name})]

    def shape(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        """The wire events of one local protocol event (none for ``debug`` and the local
        projections' own channels)."""
        method, params = event["method"], event["params"]
        namespace, data = list(params["namespace"]), params["data"]
        if method == "messages":
            return self._messages(namespace, data)
        if method in _FORWARDED:
            return [wire_event(method, namespace, jsonable(data))]
        if method == "values":
            return self._values(namespace, data, params.get("interrupts") or ())
        if method == "updates":
            return self._updates(namespace, data)
        if method == "lifecycle" and isinstance(data, Mapping):
            where = list(data.get("namespace") or namespace)
            body = {k: jsonable(v) for k, v in data.items() if k != "namespace"}
            return [wire_event("lifecycle", where, body)]
        if method == "custom":
            return [wire_event("custom", namespace, {"payload": jsonable(data)})]
        if method.startswith("custom:") and len(method) > len("custom:"):
            body = {"name": method[len("custom:") :], "payload": jsonable(data)}
            return [wire_event("custom", namespace, body)]
        if method == "checkpoints" and isinstance(data, Mapping):
            return [wire_event("checkpoints", namespace, _checkpoint(data))]
        return []

    def _messages(self, namespace: list[str], data: Any) -> list[dict[str, Any]]:
        # Locally a messages item is (protocol event, the model call's metadata); the wire
        # sends the event, with the node that called the model.
        event, meta = data if isinstance(data, list | tuple) and len(data) == 2 else (data, {})
        if not isinstance(event, Mapping) or not isinstance(event.get("event"), str):
            return []
        node = meta.get("langgraph_node") if isinstance(meta, Mapping) else None
        return [
            wire_event(
                "messages", namespace, jsonable(event), node=node if isinstance(node, str) else None
            )
        ]

    def _input_requested(
        self, namespace: list[str], interrupts: Iterable[Any]
    ) -> list[dict[str, Any]]:
        out = []
        for interrupt in interrupts:
            item = jsonable(interrupt)
            iid = item.get("id") if isinstance(item, dict) else None
            if not isinstance(iid, str) or iid in self._asked:
                continue
            self._asked.add(iid)
            value = item.get("value")
            body = {"interrupt_id": iid, "payload": value, "value": value}
            out.append(wire_event("input.requested", namespace, body))
        return out

    def _values(
        self, namespace: list[str], data: Any, interrupts: Iterable[Any]
    ) -> list[dict[str, Any]]:
        if isinstance(data, Mapping) and "__interrupt__" in data:
            interrupts = (*interrupts, *data["__interrupt__"])
            data = {k: v for k, v in data.items() if k != "__interrupt__"}
        out = self._input_requested(namespace, interrupts)
        return [*out, wire_event("values", namespace, jsonable(data))]

    def _updates(self, namespace: list[str], data: Any) -> list[dict[str, Any]]:
        if not isinstance(data, Mapping):
            return [wire_event("updates", namespace, {"value": jsonable(data)})]
        out: list[dict[str, Any]] = []
        for node, update in data.items():
            if node == "__interrupt__":
                out.extend(self._input_requested(namespace, update or ()))
                continue
            out.append(wire_event("updates", namespace, jsonable(update), node=str(node)))
        return out


def _checkpoint(data: Mapping[str, Any]) -> dict[str, Any]:
    """A ``checkpoints`` payload as the wire's checkpoint reference."""
    configurable = (data.get("config") or {}).get("configurable") or {}
    parent = ((data.get("parent_config") or {}).get("configurable") or {}).get("checkpoint_id")
    metadata = data.get("metadata") or {}
    out: dict[str, Any] = {
        "id": configurable.get("checkpoint_id"),
        "step": metadata.get("step", -1),
        "source": metadata.get("source", "loop"),
    }
    if parent is not None:
        out["parent_id"] = parent
    return jsonable(out)  # type: ignore[no-any-return]


def agent_tree(events: Iterable[Mapping[str, Any]], graph_name: str) -> dict[str, Any]:
    """The run's graph and the subgraphs it entered, nested by namespace, each with its
    latest status (``agent.getTree``'s ``tree``), from the run's wire events."""
    status: dict[tuple[str, ...], str] = {(): "started"}
    names: dict[tuple[str, ...], str] = {(): graph_name}
    for event in events:
        params = event["params"]
        where = tuple(params["namespace"])
        for depth in range(1, len(where) + 1):  # every level an event comes from exists
            status.setdefault(where[:depth], "started")
        data = params.get("data")
        if event["method"] == "lifecycle" and isinstance(data, Mapping):
            status[where] = str(data.get("event"))
            if isinstance(data.get("graph_name"), str):
                names[where] = data["graph_name"]

    def node(path: tuple[str, ...]) -> dict[str, Any]:
        out: dict[str, Any] = {
            "namespace": list(path),
            "status": status[path],
            "graph_name": names.get(path) or path[-1].partition(":")[0],
        }
        children = sorted(p for p in status if len(p) == len(path) + 1 and p[:-1] == path)
        if children:
            out["children"] = [node(child) for child in children]
        return out

    return node(())
