"""Compile-time warnings for graphs LangGraph runs but that probably have a mistake.

LangGraph compiles a graph with a node no edge reaches; so does hone, with a
:class:`~hone.errors.GraphWarning` naming the node (a node that returns a ``Command`` or uses
``Send`` may go anywhere, so then nothing is reported).
"""

from __future__ import annotations

import inspect
import warnings
from typing import TYPE_CHECKING, Any

from hone.errors import GraphWarning
from hone.graph._constants import END, START

if TYPE_CHECKING:
    from hone.graph._builder import StateGraph

__all__ = ["warn_unreachable"]


def _may_go_anywhere(action: Any) -> bool:
    """Whether a node's code mentions Command or Send (it may route by returning one)."""
    target = getattr(action, "__call__", None) if not inspect.isfunction(action) else action  # noqa: B004
    code = getattr(getattr(target, "__func__", target), "__code__", None)
    if code is None:
        return True
    stack = [code]
    while stack:
        current = stack.pop()
        if {"Command", "Send"} & set(current.co_names):
            return True
        stack.extend(c for c in current.co_consts if inspect.iscode(c))
    return False


def warn_unreachable(builder: StateGraph) -> None:
    """Warn about nodes no edge, router or declared destination leads to."""
    everything = list(builder.nodes)
    nodes = [n for n, spec in builder.nodes.items() if not spec.is_error_handler]
    successors: dict[str, set[str]] = {n: set() for n in (START, *everything)}
    for src, dst in builder._all_edges:
        successors.setdefault(src, set()).add(dst)
    for src, branches in builder.branches.items():
        for branch in branches.values():
            targets = set(branch.ends.values()) if branch.ends is not None else set(nodes)
            successors.setdefault(src, set()).update(targets)
    for name in everything:
        spec = builder.nodes[name]
        if spec.error_handler is not None:  # a failing node goes to its handler
            successors[name].add(spec.error_handler)
        if spec.ends:
            successors[name].update(spec.ends)
        elif _may_go_anywhere(spec.action):
            return  # a node may go anywhere: reachability is not known statically
    seen = {START}
    todo = [START]
    while todo:
        for nxt in successors.get(todo.pop(), ()):
            if nxt not in seen and nxt != END:
                seen.add(nxt)
                todo.append(nxt)
    for name in nodes:
        if name not in seen:
            warnings.warn(
                f"node {name!r} is not reachable from START: no edge, router or declared "
                f"Command destination leads to it",
                GraphWarning,
                stacklevel=4,
            )
