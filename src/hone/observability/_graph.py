"""Graph spans: one ``invoke_workflow {graph}`` span per run and one span per task (a node,
a ``Send`` packet or a functional-API call), made by the graph runtime's shells.

The run span is never made current in the shell: the shells are generators, and a context
set across a ``yield`` would leak into the code reading the stream. Each task span names the
run span as its parent explicitly and is current only while its task runs, on whatever thread
or asyncio task runs it, so the model and tool calls of a node, and a subgraph it invokes,
nest under it. A functional-API call started from inside a task nests under that task. Inside
a task the runtime's signals (an interrupt, a command for the parent graph) end the spans they
pass through without failing them.

With no tracer provider :func:`start_run` returns None and :func:`task_span` a shared no-op
context manager: an untraced run allocates nothing per step.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextlib import AbstractContextManager
from contextvars import ContextVar
from typing import Any, Protocol

from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.trace import Span, SpanKind
from opentelemetry.util.types import AttributeValue

from hone.observability._config import active_tracer
from hone.observability._spans import (
    BUBBLE_UP,
    OPERATION,
    attach,
    context_attributes,
    conversation,
    end_with_error,
    signals,
)

__all__ = ["RunTrace", "end_run", "start_run", "task_span"]

_NOOP: AbstractContextManager[None] = contextlib.nullcontext()


class _Loop(Protocol):
    """What the spans read of a run (hone.graph's ``Loop``)."""

    graph: Any
    ns: str
    thread_id: str | None
    is_nested: bool
    status: str
    step: int
    config: dict[str, Any]


class RunTrace:
    """The span of one graph run, and what its task spans need."""

    __slots__ = ("context", "loop", "quiet", "span")

    def __init__(self, span: Span, loop: _Loop, quiet: type[BaseException]) -> None:
        self.span = span
        self.loop = loop
        self.context: Context = trace.set_span_in_context(span)
        #: Exceptions that end a task or run without failing it (interrupts, commands for a
        #: parent graph, a drained run).
        self.quiet = quiet


#: The run whose task is running in this context (a functional-API call started here nests
#: under the task instead of the run).
_IN_TASK: ContextVar[RunTrace | None] = ContextVar("hone_graph_task", default=None)


def start_run(loop: _Loop, *, quiet: type[BaseException]) -> RunTrace | None:
    """Start the span of a run (a child of the current span: the caller's, or the node
    that runs this graph as a subgraph); None when tracing is off.

    Args:
        loop: the run.
        quiet: the exception class that ends a task or run without failing it.
    """
    tracer = active_tracer()
    if tracer is None:
        return None
    name = getattr(loop.graph, "name", None) or "graph"
    attributes: dict[str, AttributeValue] = {
        OPERATION: "invoke_workflow",
        "gen_ai.workflow.name": name,
        "hone.graph.nested": loop.is_nested,
    }
    if loop.thread_id is not None:
        attributes["gen_ai.conversation.id"] = loop.thread_id
    if loop.ns:
        attributes["hone.graph.checkpoint_ns"] = loop.ns
    run_id = loop.config.get("run_id")
    if run_id is not None:
        attributes["hone.graph.run_id"] = str(run_id)
    attributes.update(context_attributes())
    span = tracer.start_span(
        f"invoke_workflow {name}", kind=SpanKind.INTERNAL, attributes=attributes
    )
    return RunTrace(span, loop, quiet)


def end_run(run: RunTrace | None, loop: _Loop, error: BaseException | None) -> None:
    """End a run's span: ``hone.graph.status`` (``done``, ``interrupt_before``, ...), the
    steps taken, and ``error``, the exception the run raises to its caller (a node's failure,
    the recursion limit, a failed checkpoint write), unless it is an interrupt, a drain or
    the reader stopping early."""
    if run is None:
        return
    span = run.span
    span.set_attribute("hone.graph.status", loop.status)
    span.set_attribute("hone.graph.steps", loop.step)
    if error is not None:
        if isinstance(error, run.quiet | GeneratorExit):
            span.set_attribute(BUBBLE_UP, type(error).__name__)
        else:
            end_with_error(span, error)
    span.end()


def task_span(run: RunTrace | None, task: Any) -> AbstractContextManager[None]:
    """The span of one task, current while it runs (a shared no-op when tracing is off or
    the task is one of the runtime's hidden nodes)."""
    if run is None:
        return _NOOP
    node = task.node
    if node is not None and node.hidden:
        return _NOOP
    return _task(run, task)


@contextlib.contextmanager
def _task(run: RunTrace, task: Any) -> Iterator[None]:
    tracer = active_tracer()
    if tracer is None:
        yield
        return
    parent = None if _IN_TASK.get() is run else run.context
    attributes: dict[str, AttributeValue] = {
        "hone.graph.node": task.name,
        "hone.graph.task_id": task.id,
        "hone.graph.step": run.loop.step,
    }
    if task.call is not None:
        attributes["hone.graph.call"] = True
    span = tracer.start_span(
        task.name, context=parent, kind=SpanKind.INTERNAL, attributes=attributes
    )
    token = _IN_TASK.set(run)
    try:
        with attach(span), conversation(run.loop.thread_id), signals(run.quiet):
            yield
        span.set_attribute("hone.graph.attempts", task.attempt)
    except BaseException as exc:
        if isinstance(exc, run.quiet):
            span.set_attribute(BUBBLE_UP, type(exc).__name__)
        else:
            end_with_error(span, exc)
        raise
    finally:
        _IN_TASK.reset(token)
        span.end()
