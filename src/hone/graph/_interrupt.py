"""Human in the loop: ``interrupt()``, and the signals that carry it (and parent commands)
out of a node."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from hone.errors import GraphError
from hone.graph._context import TaskScope, current_scope
from hone.graph._types import Command, Interrupt

__all__ = ["GraphInterrupt", "ParentCommand", "interrupt", "interrupt_id", "interrupt_many"]


class GraphInterrupt(Exception):
    """Raised through a node (and enclosing subgraphs) to stop the run at an interrupt."""

    def __init__(self, interrupts: tuple[Interrupt, ...] = ()) -> None:
        super().__init__(interrupts)
        self.interrupts = interrupts


class ParentCommand(Exception):
    """Carries a ``Command(graph=Command.PARENT)`` out of a subgraph to its parent."""

    def __init__(self, command: Command[Any]) -> None:
        super().__init__(command)
        self.command = command


def interrupt_id(task_id: str, index: int) -> str:
    """The id of the ``index``-th ``interrupt()`` call of a task: stable across resumes."""
    return hashlib.blake2b(f"{task_id}#{index}".encode(), digest_size=16).hexdigest()


def _scope(what: str) -> TaskScope:
    scope = current_scope()
    if scope is None:
        raise GraphError(f"{what} can only be called inside a running graph node")
    return scope


def _next_id(scope: TaskScope, key: str | None) -> str:
    """The id of the scope's next interrupt: by call index, or per (task, key)."""
    if key is not None and (not isinstance(key, str) or not key):
        raise GraphError(f"an interrupt key must be a non-empty string, got {key!r}")
    if key is None and not scope.prefix:
        index = scope.interrupt_count
        scope.interrupt_count = index + 1
        return interrupt_id(scope.task_id, index)
    full = f"{scope.prefix}/{key}" if scope.prefix and key else (key or scope.prefix)
    count = scope.key_counts.get(full, 0)
    scope.key_counts[full] = count + 1
    return interrupt_id(f"{scope.task_id}/{full}", count)


def _pause(scope: TaskScope, what: str, interrupts: tuple[Interrupt, ...]) -> GraphInterrupt:
    if scope.run.saver is None:
        raise GraphError(
            f"{what} needs a checkpointer to save the paused run: "
            "compile(checkpointer=InMemorySaver()) and pass a thread_id"
        )
    return GraphInterrupt(interrupts)


def interrupt(value: Any, *, key: str | None = None) -> Any:
    """Pause the graph and ask a human: the run stops with ``__interrupt__`` in its result.

    Resume with ``graph.invoke(Command(resume=answer), config)``: the node runs again from its
    top and this call returns ``answer``. Without a ``key``, a node's k-th ``interrupt()`` gets
    the k-th answer. With a ``key``, the interrupt's id derives from the task and the key (the
    k-th call with that key in the task), so it does not depend on the order of other
    interrupts (code that asks in a varying order, or concurrently). With several pending
    interrupts, resume with ``{interrupt_id: answer}``.

    Raises:
        GraphError: called outside a running node, an empty key, or no checkpointer.
    """
    scope = _scope("interrupt()")
    iid = _next_id(scope, key)
    resume = scope.run.resume
    if iid in resume:
        return resume[iid]
    raise _pause(scope, "interrupt()", (Interrupt(value=value, id=iid),))


def interrupt_many(questions: Mapping[str, Any]) -> dict[str, Any]:
    """Ask several questions at once, by key: returns ``{key: answer}`` once all are answered.

    While any is unanswered the graph pauses with one interrupt per unanswered question (ids
    derived from the task and each key, as ``interrupt(value, key=key)`` does); answered ones
    are not asked again. Calling it again with a key asks a new question about that key (the
    next id for the key), e.g. after an unacceptable answer.

    Raises:
        GraphError: called outside a running node, an empty key, or no checkpointer.
    """
    scope = _scope("interrupt_many()")
    ids = {key: _next_id(scope, key) for key in questions}
    resume = scope.run.resume
    waiting = tuple(
        Interrupt(value=questions[key], id=iid) for key, iid in ids.items() if iid not in resume
    )
    if waiting:
        raise _pause(scope, "interrupt_many()", waiting)
    return {key: resume[iid] for key, iid in ids.items()}
