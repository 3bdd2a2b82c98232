"""Human in the loop: ``interrupt()``, and the signals that carry it (and parent commands)
out of a node."""

from __future__ import annotations

import hashlib
from typing import Any

from hone.errors import GraphError
from hone.graph._context import current_scope
from hone.graph._types import Command, Interrupt

__all__ = ["GraphInterrupt", "ParentCommand", "interrupt", "interrupt_id"]


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


def interrupt(value: Any) -> Any:
    """Pause the graph and ask a human: the run stops with ``__interrupt__`` in its result.

    Resume with ``graph.invoke(Command(resume=answer), config)``: the node runs again from its
    top and this call returns ``answer``. A node's k-th ``interrupt()`` gets the k-th answer.
    With several pending interrupts, resume with ``{interrupt_id: answer}``.

    Raises:
        GraphError: called outside a running node, or the graph has no checkpointer.
    """
    scope = current_scope()
    if scope is None:
        raise GraphError("interrupt() can only be called inside a running graph node")
    index = scope.interrupt_count
    scope.interrupt_count = index + 1
    iid = interrupt_id(scope.task_id, index)
    resume = scope.run.resume
    if iid in resume:
        return resume[iid]
    if scope.run.saver is None:
        raise GraphError(
            "interrupt() needs a checkpointer to save the paused run: "
            "compile(checkpointer=InMemorySaver()) and pass a thread_id"
        )
    raise GraphInterrupt((Interrupt(value=value, id=iid),))
