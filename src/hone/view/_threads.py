"""Threads and runs from a checkpointer: each thread's checkpoint history with its forks, the
nodes that ran and run next at each checkpoint, and the state saved there."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape, quoteattr

from hone.checkpoint import Checkpointer
from hone.errors import ConfigError, HoneError
from hone.graph import CompiledGraph
from hone.trajectory import to_jsonable

__all__ = [
    "CheckpointView",
    "RunView",
    "ThreadView",
    "assign_lanes",
    "history_svg",
    "thread_view",
    "thread_views",
]

logger = logging.getLogger(__name__)

_VALUES_LIMIT = 6000
_ROW = 30
_LANE = 18


@dataclass(frozen=True, slots=True)
class CheckpointView:
    """One checkpoint of a thread.

    Attributes:
        ran: the nodes whose writes made this checkpoint (its parent's next nodes).
        next: the nodes that run after it (empty once the run is over; needs the graph).
        lane: its column in the history drawing (0: the line of the newest checkpoint).
    """

    id: str
    parent_id: str | None
    step: int | None
    source: str
    run_id: str | None
    created_at: str
    next: list[str]
    ran: list[str]
    values: str
    interrupts: list[str]
    lane: int = 0


@dataclass(frozen=True, slots=True)
class RunView:
    """One run on a thread: the checkpoints it made."""

    id: str
    checkpoints: int
    first_step: int | None
    last_step: int | None


@dataclass(frozen=True, slots=True)
class ThreadView:
    """A thread: its checkpoints (newest first), runs, forks and history drawing."""

    id: str
    checkpoints: list[CheckpointView]
    runs: list[RunView]
    forks: int
    history_svg: str
    notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class _Raw:
    id: str
    parent_id: str | None
    metadata: Mapping[str, Any]
    created_at: str
    values: Any
    next: list[str]
    interrupts: list[str]


def _id_of(config: Mapping[str, Any] | None) -> str | None:
    if not config:
        return None
    value = config.get("configurable", {}).get("checkpoint_id")
    return str(value) if value is not None else None


def _values_text(values: Any) -> str:
    text = json.dumps(to_jsonable(values), indent=1, ensure_ascii=False)
    if len(text) > _VALUES_LIMIT:
        return text[:_VALUES_LIMIT] + f"\n… ({len(text) - _VALUES_LIMIT} more characters)"
    return text


def _from_graph(graph: CompiledGraph, saver: Checkpointer, thread_id: str) -> list[_Raw]:
    bound = graph.copy(update={"checkpointer": saver})
    config = {"configurable": {"thread_id": thread_id}}
    return [
        _Raw(
            id=_id_of(s.config) or "?",
            parent_id=_id_of(s.parent_config),
            metadata=s.metadata or {},
            created_at=s.created_at or "",
            values=s.values,
            next=list(s.next),
            interrupts=[str(to_jsonable(i.value)) for i in s.interrupts],
        )
        for s in bound.get_state_history(config)
    ]


def _from_saver(saver: Checkpointer, thread_id: str) -> list[_Raw]:
    config = {"configurable": {"thread_id": thread_id, "checkpoint_ns": ""}}
    return [
        _Raw(
            id=_id_of(t.config) or "?",
            parent_id=_id_of(t.parent_config),
            metadata=t.metadata or {},
            created_at=str(t.checkpoint.get("ts", "")),
            values=t.checkpoint.get("channel_values", {}),
            next=[],
            interrupts=[],
        )
        for t in saver.list(config)
    ]


def assign_lanes(ids: Sequence[str], parents: Mapping[str, str | None]) -> dict[str, int]:
    """A column per branch for checkpoints listed newest first: lane 0 is the newest
    checkpoint's line back to the root; each fork's own checkpoints get the next lane."""
    lanes: dict[str, int] = {}
    next_lane = 0
    for start in ids:
        if start in lanes:
            continue
        node: str | None = start
        while node is not None and node not in lanes:
            lanes[node] = next_lane
            node = parents.get(node)
        next_lane += 1
    return lanes


def _name(node: str) -> str:
    return {"__start__": "start", "__end__": "end"}.get(node, node)


def history_svg(checkpoints: Sequence[CheckpointView]) -> str:
    """The history as a drawing: one row per checkpoint (newest first), one column per branch,
    a line from each checkpoint to its parent. Rows are ``<g class="cp" data-checkpoint>``."""
    rows = {c.id: i for i, c in enumerate(checkpoints)}
    lanes = max((c.lane for c in checkpoints), default=0) + 1
    text_x = 14 + lanes * _LANE
    height = 12 + len(checkpoints) * _ROW
    parts = [
        f'<svg class="history" xmlns="http://www.w3.org/2000/svg" width="560" '
        f'height="{height}" viewBox="0 0 560 {height}">'
    ]
    for c in checkpoints:
        if c.parent_id in rows:
            x1, y1 = 14 + c.lane * _LANE, 20 + rows[c.id] * _ROW
            parent = checkpoints[rows[c.parent_id]]
            x2, y2 = 14 + parent.lane * _LANE, 20 + rows[parent.id] * _ROW
            parts.append(
                f'<path class="hline lane{c.lane % 6}" d="M{x1},{y1} C{x1},{y2 - 10} {x2},{y1 + 10} '
                f'{x2},{y2}"/>'
            )
    for i, c in enumerate(checkpoints):
        y = 20 + i * _ROW
        ran = ", ".join(_name(n) for n in c.ran) or c.source
        head = f"step {c.step}" if c.step is not None else "step ?"
        then = f" → {', '.join(_name(n) for n in c.next)}" if c.next else ""
        when = c.created_at[11:23] if len(c.created_at) >= 23 else c.created_at
        parts.append(
            f'<g class="cp" data-checkpoint={quoteattr(c.id)} tabindex="0">'
            f'<rect class="cprow" x="0" y="{y - 13}" width="560" height="{_ROW - 4}" rx="4"/>'
            f'<circle class="lane{c.lane % 6}" cx="{14 + c.lane * _LANE}" cy="{y}" r="6"/>'
            f'<text x="{text_x}" y="{y + 4}"><tspan class="cpstep">{escape(head)}</tspan> '
            f"{escape(ran)}{escape(then)}"
            f'<tspan class="cpid"> {escape(when)}</tspan></text>'
            f"<title>checkpoint {escape(c.id)}</title></g>"
        )
    parts.append("</svg>")
    return "".join(parts)


def _runs(checkpoints: Sequence[CheckpointView]) -> list[RunView]:
    runs: dict[str, list[CheckpointView]] = {}
    for c in reversed(checkpoints):  # oldest first
        if c.run_id:
            runs.setdefault(c.run_id, []).append(c)
    return [
        RunView(
            id=run_id,
            checkpoints=len(members),
            first_step=members[0].step,
            last_step=members[-1].step,
        )
        for run_id, members in runs.items()
    ]


def _ran_nodes(raw: _Raw) -> bool:
    """Whether the parent's next nodes made this checkpoint: a step of the loop (an update or
    the input wrote it otherwise)."""
    return raw.parent_id is not None and raw.metadata.get("source") == "loop"


def _step(metadata: Mapping[str, Any]) -> int | None:
    step = metadata.get("step")
    return step if isinstance(step, int) else None


def thread_view(
    saver: Checkpointer, thread_id: str, *, graph: CompiledGraph | None = None
) -> ThreadView:
    """One thread's history from ``saver``; with the graph that wrote it, each checkpoint's
    next nodes and interrupts too."""
    notes: list[str] = []
    raw: list[_Raw] | None = None
    if graph is not None:
        try:
            raw = _from_graph(graph, saver, thread_id)
        except HoneError as exc:
            notes.append(f"the graph could not read this thread ({exc}); showing raw checkpoints")
    if raw is None:
        raw = _from_saver(saver, thread_id)
    parents = {r.id: r.parent_id for r in raw}
    lanes = assign_lanes([r.id for r in raw], parents)
    nexts = {r.id: r.next for r in raw}
    checkpoints = [
        CheckpointView(
            id=r.id,
            parent_id=r.parent_id,
            step=_step(r.metadata),
            source=str(r.metadata.get("source", "")),
            run_id=str(r.metadata["run_id"]) if r.metadata.get("run_id") else None,
            created_at=r.created_at,
            next=r.next,
            ran=nexts.get(r.parent_id or "", []) if _ran_nodes(r) else [],
            values=_values_text(r.values),
            interrupts=r.interrupts,
            lane=lanes[r.id],
        )
        for r in raw
    ]
    children: dict[str, int] = {}
    for c in checkpoints:
        if c.parent_id is not None:
            children[c.parent_id] = children.get(c.parent_id, 0) + 1
    return ThreadView(
        id=thread_id,
        checkpoints=checkpoints,
        runs=_runs(checkpoints),
        forks=sum(count > 1 for count in children.values()),
        history_svg=history_svg(checkpoints),
        notes=notes,
    )


def thread_views(
    saver: Checkpointer,
    *,
    graph: CompiledGraph | None = None,
    thread_ids: Sequence[str] | None = None,
) -> list[ThreadView]:
    """Every thread of ``saver`` (or those named), each with its history.

    Raises:
        ConfigError: ``thread_ids`` is None and the saver cannot list its threads.
    """
    if thread_ids is None:
        lister = getattr(saver, "list_threads", None)
        if not callable(lister):
            raise ConfigError(f"{type(saver).__name__} cannot list its threads; pass thread_ids")
        thread_ids = list(lister())
    return [thread_view(saver, t, graph=graph) for t in thread_ids]
