"""The edges LangGraph's ``get_graph()`` draws, found the way LangGraph finds them.

LangGraph does not read a graph's declared edges to draw it: it runs the graph's trigger
channels once with empty input (no node function runs) and records which node's writes
trigger which node, step by step, for at most 250 steps. A router's declared answers
(``path_map``, ``Literal`` return types) and ``Command`` destinations count as written once,
the first time their node runs; a router without declared answers writes nothing. That
walk has quirks a drawing must share to equal LangGraph's: a deferred node gets dashed
edges from every node of the step before it; a graph that loops forever ends with a dashed
edge to END from the last node walked. This module is that walk over hone's plain data,
without LangChain; :mod:`hone.graph._lc_graph` turns its result into LangChain's ``Graph``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from hone.graph._types import END, START

__all__ = ["DrawnEdge", "WalkNode", "WalkResult", "walk"]

_LIMIT = 250  # LangGraph walks at most this many steps
_NO_LABEL = ""  # sorts before any label, as ``None`` stands for "no label"


@dataclass(frozen=True, slots=True, order=True)
class DrawnEdge:
    """An edge as LangGraph records it while walking (``label`` is the router's answer)."""

    source: str
    target: str
    conditional: bool
    label: str | None


@dataclass(frozen=True, slots=True)
class WalkNode:
    """A node as the walk sees it: what it writes each time it runs, and what triggers it.

    ``plain`` are ``(channel, value)`` writes made on every run (edges, joins);
    ``declared`` are groups of ``(channel or END, label)``, one per router or ``Command``
    annotation, written on the node's first run only. ``triggers`` are its channels.
    """

    name: str
    triggers: tuple[str, ...]
    plain: tuple[tuple[str, str | None], ...] = ()
    declared: tuple[tuple[tuple[str, str | None], ...], ...] = ()


class _Kind(Enum):
    EPHEMERAL = "ephemeral"  # holds a write for one step
    AFTER_FINISH = "after_finish"  # a deferred node's: readable once nothing else runs
    BARRIER = "barrier"  # a join: readable once every source wrote
    BARRIER_AFTER_FINISH = "barrier_after_finish"


@dataclass(slots=True)
class _Channel:
    kind: _Kind
    names: frozenset[str] = frozenset()
    value: bool = False
    seen: set[str] = field(default_factory=set)
    finished: bool = False

    def available(self) -> bool:
        if self.kind is _Kind.EPHEMERAL:
            return self.value
        if self.kind is _Kind.AFTER_FINISH:
            return self.value and self.finished
        complete = self.seen == set(self.names)
        return complete and (self.kind is _Kind.BARRIER or self.finished)

    def update(self, values: Sequence[str | None]) -> bool:
        if self.kind is _Kind.EPHEMERAL:
            if not values:
                cleared, self.value = self.value, False
                return cleared
            self.value = True
            return True
        if self.kind is _Kind.AFTER_FINISH:
            if not values:
                return False
            self.value, self.finished = True, False
            return True
        fresh = {str(v) for v in values} - self.seen
        self.seen |= fresh
        return bool(fresh)

    def consume(self) -> bool:
        if self.kind is _Kind.AFTER_FINISH and self.finished:
            self.value = self.finished = False
            return True
        if self.kind in (_Kind.BARRIER, _Kind.BARRIER_AFTER_FINISH) and self.available():
            self.seen, self.finished = set(), False
            return True
        return False

    def finish(self) -> bool:
        if self.kind is _Kind.AFTER_FINISH and not self.finished and self.value:
            self.finished = True
            return True
        complete = self.seen == set(self.names)
        if self.kind is _Kind.BARRIER_AFTER_FINISH and not self.finished and complete:
            self.finished = True
            return True
        return False


@dataclass(frozen=True, slots=True)
class WalkResult:
    """The walk's findings: edges, the nodes the input starts, the last step's nodes and
    the deferred nodes."""

    edges: frozenset[DrawnEdge]
    start: tuple[str, ...]
    last_step: tuple[str, ...]
    deferred: frozenset[str]


def edge_sort_key(edge: DrawnEdge) -> tuple[str, str, bool, str]:
    """LangGraph's edge order (its tuples sorted), with "no label" first."""
    return (edge.source, edge.target, edge.conditional, edge.label or _NO_LABEL)


def channel_kinds(
    nodes: Iterable[str], joins: Iterable[tuple[tuple[str, ...], str]], deferred: set[str]
) -> dict[str, _Channel]:
    """The trigger channels of a graph's nodes (``branch:to:X``), joins and input."""
    channels = {START: _Channel(_Kind.EPHEMERAL)}
    for name in nodes:
        kind = _Kind.AFTER_FINISH if name in deferred else _Kind.EPHEMERAL
        channels[branch_channel(name)] = _Channel(kind)
    for sources, target in joins:
        kind = _Kind.BARRIER_AFTER_FINISH if target in deferred else _Kind.BARRIER
        channels[join_channel(sources, target)] = _Channel(kind, frozenset(sources))
    return channels


def branch_channel(name: str) -> str:
    """The channel whose write makes ``name`` run next step."""
    return f"branch:to:{name}"


def join_channel(sources: Sequence[str], target: str) -> str:
    """The channel that runs ``target`` once all of ``sources`` wrote to it."""
    return f"join:{'+'.join(sources)}:{target}"


_Trigger = tuple[str, bool, "str | None"]


class _Walker:
    def __init__(self, nodes: Sequence[WalkNode], channels: dict[str, _Channel]) -> None:
        self.nodes = {node.name: node for node in nodes}
        self.channels = channels
        self.versions: dict[str, int] = {}
        self.seen: dict[str, dict[str, int]] = defaultdict(dict)
        self.triggering = {t for node in nodes for t in node.triggers}

    def _bump(self) -> int:
        return max(self.versions.values(), default=0) + 1

    def write_input(self) -> None:
        self.channels[START].update([None])
        self.versions[START] = self._bump()

    def next_tasks(self) -> list[str]:
        def ready(node: WalkNode) -> bool:
            seen = self.seen[node.name]
            return any(
                self.channels[t].available() and self.versions.get(t, 0) > seen.get(t, 0)
                for t in node.triggers
            )

        return [name for name, node in self.nodes.items() if ready(node)]

    def apply(self, writes: dict[str, list[tuple[str, str | None]]]) -> None:
        for task in writes:
            self.seen[task].update(
                {t: self.versions[t] for t in self.nodes[task].triggers if t in self.versions}
            )
        version = self._bump()
        for chan in {t for task in writes for t in self.nodes[task].triggers}:
            if self.channels[chan].consume():
                self.versions[chan] = version
        pending: dict[str, list[str | None]] = defaultdict(list)
        for task_writes in writes.values():
            for chan, value in task_writes:
                if chan in self.channels:
                    pending[chan].append(value)
        updated: set[str] = set()
        for chan, values in pending.items():
            if self.channels[chan].update(values):
                self.versions[chan] = version
                if self.channels[chan].available():
                    updated.add(chan)
        for chan, channel in self.channels.items():
            if channel.available() and chan not in updated and channel.update([]):
                self.versions[chan] = version
                if channel.available():
                    updated.add(chan)
        if updated.isdisjoint(self.triggering):
            for chan, channel in self.channels.items():
                if channel.finish():
                    self.versions[chan] = version


def walk(nodes: Sequence[WalkNode], channels: dict[str, _Channel]) -> WalkResult:
    """Walk ``nodes`` from an empty input, as LangGraph's drawing does."""
    walker = _Walker(nodes, channels)
    walker.write_input()
    tasks = walker.next_tasks()
    start = tuple(tasks)
    edges: set[DrawnEdge] = set()
    sources: dict[str, set[_Trigger]] = {}
    step_sources: dict[str, set[_Trigger]] = {}
    written_once: set[tuple[str, int]] = set()
    declared_by: dict[str, set[_Trigger]] = defaultdict(set)
    deferred = frozenset(
        chan.split(":", 2)[-1] for chan, c in channels.items() if c.kind is _Kind.AFTER_FINISH
    )
    for _ in range(-1, _LIMIT):
        if not tasks:
            break
        writes, labels = _run_tasks(walker, tasks, written_once, declared_by, edges)
        step_sources = {
            task: {
                (chan, (task, chan, value) in labels, labels.get((task, chan, value)))
                for chan, value in writes[task]
            }
            | declared_by.get(task, set())
            for task in tasks
        }
        sources.update(step_sources)
        by_trigger: dict[str, set[tuple[str, bool, str | None]]] = defaultdict(set)
        for src, triggers in sources.items():
            for chan, cond, label in triggers:
                by_trigger[chan].add((src, cond, label))
        walker.apply(writes)
        tasks = walker.next_tasks()
        for task in tasks:
            _collect(task, walker.nodes[task].triggers, by_trigger, sources, step_sources, edges)
    return WalkResult(frozenset(edges), start, tuple(step_sources), deferred)


def _run_tasks(
    walker: _Walker,
    tasks: list[str],
    written_once: set[tuple[str, int]],
    declared_by: dict[str, set[_Trigger]],
    edges: set[DrawnEdge],
) -> tuple[dict[str, list[tuple[str, str | None]]], dict[tuple[str, str, Any], str | None]]:
    """One step's writes per task, and the labels of the declared (conditional) ones."""
    writes: dict[str, list[tuple[str, str | None]]] = {}
    labels: dict[tuple[str, str, Any], str | None] = {}
    for task in tasks:
        node = walker.nodes[task]
        task_writes = list(node.plain)
        for index, group in enumerate(node.declared):
            if (task, index) in written_once:
                continue
            written_once.add((task, index))
            for chan, label in group:
                if chan == END:  # an answer leading to END is an edge at once
                    edges.add(DrawnEdge(task, END, True, label))
                    continue
                labels[(task, chan, None)] = label
                declared_by[task].add((chan, True, label))
                task_writes.append((chan, None))
        writes[task] = task_writes
    return writes, labels


def _collect(
    task: str,
    triggers: Sequence[str],
    by_trigger: dict[str, set[tuple[str, bool, str | None]]],
    sources: dict[str, set[_Trigger]],
    step_sources: dict[str, set[_Trigger]],
    edges: set[DrawnEdge],
) -> None:
    """The edges into ``task``; without one from the step just run, dashed edges from all of
    that step's nodes (how LangGraph draws what runs a deferred node)."""
    added = False
    for trigger in sorted(triggers):
        for src, cond, label in sorted(by_trigger[trigger], key=lambda t: (t[0], t[1], t[2] or "")):
            edges.add(DrawnEdge(src, task, cond, label))
            if (trigger, cond, label) in step_sources.get(src, set()):
                added = True
            else:
                sources[src].discard((trigger, cond, label))
    if not added:
        for src in step_sources:
            edges.add(DrawnEdge(src, task, True, None))
