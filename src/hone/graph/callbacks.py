"""Graph lifecycle callbacks: a handler told when a run pauses at interrupts and when it
resumes (LangGraph's ``langgraph.callbacks``).

Subclass :class:`GraphCallbackHandler` (a LangChain ``BaseCallbackHandler``), override
``on_interrupt`` and/or ``on_resume`` (sync or ``async``), and pass it in the run's config
(``config={"callbacks": [handler]}``), next to any other LangChain handler. Only graph
handlers receive these events; LangChain's rules apply to them: an exception in a handler
is logged and the run goes on, unless the handler sets ``raise_error = True``.

``on_interrupt`` when a run stops at ``interrupt()`` calls or at a static breakpoint
(``interrupt_before`` / ``interrupt_after``), once, for the root graph; ``on_resume`` when a
graph goes on from a saved checkpoint (``Command(resume=...)``, or ``None`` as input): the
root graph, and each subgraph that resumes (its ``checkpoint_ns`` names it), as in LangGraph.

This module imports LangChain (install ``hone[langchain]``); ``hone.graph`` does not import it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, TypeAlias
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler

if TYPE_CHECKING:
    from hone.graph._types import Interrupt

__all__ = [
    "GraphCallbackHandler",
    "GraphInterruptEvent",
    "GraphLifecycleEvent",
    "GraphLifecycleStatus",
    "GraphResumeEvent",
]

#: A run's status when an event is reported (the loop's, as LangGraph names them).
GraphLifecycleStatus: TypeAlias = Literal[
    "input", "pending", "done", "interrupt_before", "interrupt_after", "out_of_steps"
]


@dataclass(frozen=True)
class GraphInterruptEvent:
    """A run paused: at ``interrupt()`` calls (``interrupts``) or at a static breakpoint."""

    #: The graph run's id (the config's ``run_id`` when it gives one).
    run_id: UUID | None
    status: GraphLifecycleStatus
    #: The checkpoint the run can be resumed from.
    checkpoint_id: str
    #: The graph's namespace path (``()`` for the root graph).
    checkpoint_ns: tuple[str, ...]
    #: The interrupts the run waits on (empty at a static breakpoint).
    interrupts: tuple[Interrupt, ...]


@dataclass(frozen=True)
class GraphResumeEvent:
    """A run went on from a saved checkpoint."""

    run_id: UUID | None
    status: GraphLifecycleStatus
    #: The checkpoint the run resumed from.
    checkpoint_id: str
    checkpoint_ns: tuple[str, ...]


#: Either lifecycle event.
GraphLifecycleEvent: TypeAlias = GraphInterruptEvent | GraphResumeEvent


class GraphCallbackHandler(BaseCallbackHandler):
    """A LangChain callback handler that also hears a graph run's lifecycle: pauses at
    interrupts and resumes. Override either method (sync or ``async``)."""

    def on_interrupt(self, event: GraphInterruptEvent) -> Any:
        """The run paused at interrupts or a breakpoint."""

    def on_resume(self, event: GraphResumeEvent) -> Any:
        """The run resumed from a saved checkpoint."""
