"""Compile-time checks of a :class:`StateGraph`; each error names the node and the fix."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from hone.errors import GraphValidationError
from hone.graph._types import END, START

if TYPE_CHECKING:
    from hone.graph._builder import StateGraph

__all__ = ["successors", "validate"]


def _known(graph: StateGraph, name: str) -> bool:
    return name in graph.nodes


def _check_endpoints(graph: StateGraph) -> None:
    for src, dst in graph.edges:
        if src != START and not _known(graph, src):
            raise GraphValidationError(f"edge {src!r} -> {dst!r} starts at unknown node {src!r}")
        if dst != END and not _known(graph, dst):
            raise GraphValidationError(f"edge {src!r} -> {dst!r} ends at unknown node {dst!r}")
    for sources, dst in graph.joins:
        for src in sources:
            if src in (START, END) or not _known(graph, src):
                raise GraphValidationError(
                    f"join edge {list(sources)} -> {dst!r}: unknown node {src!r}"
                )
        if dst != END and not _known(graph, dst):
            raise GraphValidationError(
                f"join edge {list(sources)} -> {dst!r}: unknown node {dst!r}"
            )
    for src, branches in graph.branches.items():
        if src != START and not _known(graph, src):
            raise GraphValidationError(f"conditional edge starts at unknown node {src!r}")
        for branch in branches.values():
            for dst in branch.ends or ():
                if dst != END and not _known(graph, dst):
                    raise GraphValidationError(
                        f"conditional edge from {src!r} can lead to unknown node {dst!r}; "
                        f"add the node or fix the path_map"
                    )
    for node in graph.nodes.values():
        for dst in node.destinations or ():
            if dst != END and not _known(graph, dst):
                raise GraphValidationError(
                    f"node {node.name!r} declares unknown destination {dst!r}"
                )


def successors(graph: StateGraph) -> dict[str, set[str] | None]:
    """Where each node (and START) can go next; None when it may go anywhere."""
    out: dict[str, set[str] | None] = {n: set() for n in (START, *graph.nodes)}
    for src, dst in graph.edges:
        targets = out[src]
        if targets is not None:
            targets.add(dst)
    for sources, dst in graph.joins:
        for src in sources:
            targets = out[src]
            if targets is not None:
                targets.add(dst)
    for src, branches in graph.branches.items():
        for branch in branches.values():
            ends = branch.ends
            targets = out[src]
            if ends is None:
                out[src] = None
            elif targets is not None:
                targets.update(ends)
    for node in graph.nodes.values():
        targets = out[node.name]
        if node.may_goto:
            out[node.name] = None
        elif targets is not None and node.destinations:
            targets.update(node.destinations)
    return out


def _reachable(graph: StateGraph, succ: dict[str, set[str] | None]) -> set[str]:
    seen = {START}
    todo = [START]
    while todo:
        targets = succ.get(todo.pop(), set())
        for nxt in (set(graph.nodes) | {END}) if targets is None else targets:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _can_finish(graph: StateGraph, succ: dict[str, set[str] | None]) -> set[str]:
    # A node finishes if it can reach END, has no way out at all (the run just stops), or
    # may go anywhere.
    done = {n for n, t in succ.items() if t is None or not t or END in t}
    changed = True
    while changed:
        changed = False
        for node, targets in succ.items():
            if node not in done and targets and targets & done:
                done.add(node)
                changed = True
    return done


def validate(
    graph: StateGraph, interrupt_before: Sequence[str] | str, interrupt_after: Sequence[str] | str
) -> None:
    """Raise :class:`GraphValidationError` for the first problem found."""
    if not graph.nodes:
        raise GraphValidationError("the graph has no nodes; add one with add_node()")
    _check_endpoints(graph)
    has_entry = any(src == START for src, _ in graph.edges) or START in graph.branches
    if not has_entry:
        raise GraphValidationError(
            "the graph has no entry point: add an edge from START, e.g. add_edge(START, "
            f"{next(iter(graph.nodes))!r}) or set_entry_point(...)"
        )
    succ = successors(graph)
    unreachable = sorted(set(graph.nodes) - _reachable(graph, succ))
    if unreachable:
        raise GraphValidationError(
            f"node {unreachable[0]!r} is not reachable from START; add an edge to it, or declare "
            f"it as a Command destination with add_node(..., destinations=[...])"
        )
    stuck = sorted(set(graph.nodes) - _can_finish(graph, succ))
    if stuck:
        raise GraphValidationError(
            f"node {stuck[0]!r} has no path to END: every way out of it loops back forever; "
            f"add a conditional edge that can return END"
        )
    for kind, names in (
        ("interrupt_before", interrupt_before),
        ("interrupt_after", interrupt_after),
    ):
        if names == "*":
            continue
        for name in names:
            if name not in graph.nodes:
                raise GraphValidationError(f"{kind} names unknown node {name!r}")
