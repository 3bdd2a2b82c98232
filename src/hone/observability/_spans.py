"""The attribute names hone's spans use, and the few helpers every hook shares.

Names under ``gen_ai.*``, ``error.type`` and ``server.*`` are the OpenTelemetry GenAI semantic
conventions' (development status); names under ``hone.*`` are hone's own, for what the
conventions have no name for (graph steps, episodes, rewards, policy versions).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode
from opentelemetry.util.types import AttributeValue

__all__ = [
    "BUBBLE_UP",
    "ERROR_TYPE",
    "OPERATION",
    "POLICY_VERSION",
    "PROVIDER",
    "attach",
    "context_attributes",
    "conversation",
    "end_with_error",
    "error_type",
    "json_attribute",
    "policy_version",
    "signals",
]

OPERATION = "gen_ai.operation.name"
PROVIDER = "gen_ai.provider.name"
ERROR_TYPE = "error.type"
POLICY_VERSION = "hone.policy.version"
BUBBLE_UP = "hone.graph.bubble_up"

_POLICY: ContextVar[int | str | None] = ContextVar("hone_policy_version", default=None)
_CONVERSATION: ContextVar[str | None] = ContextVar("hone_conversation", default=None)
#: The exception class that is a graph's control signal here, not a failure (see
#: :func:`signals`); hone.observability imports no hone.graph, so the graph runtime names it.
_SIGNALS: ContextVar[type[BaseException] | None] = ContextVar("hone_signals", default=None)


def error_type(exc: BaseException) -> str:
    """A low-cardinality name for an exception: its fully qualified class name."""
    cls = type(exc)
    module = cls.__module__
    return cls.__qualname__ if module == "builtins" else f"{module}.{cls.__qualname__}"


def end_with_error(span: Span, exc: BaseException) -> None:
    """Mark ``span`` failed by ``exc`` (``error.type``, status, exception event); the caller
    ends it.

    Inside :func:`signals`, an exception of the signal class (a graph's interrupt, say, passing
    through a tool or a guardrail that asked a human) is not a failure: it only sets
    ``hone.graph.bubble_up`` to its class name.
    """
    quiet = _SIGNALS.get()
    if quiet is not None and isinstance(exc, quiet):
        span.set_attribute(BUBBLE_UP, type(exc).__name__)
        return
    span.set_attribute(ERROR_TYPE, error_type(exc))
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, str(exc) or type(exc).__name__))


@contextlib.contextmanager
def attach(span: Span) -> Iterator[None]:
    """Make ``span`` the current span inside the block (children parent to it)."""
    token = otel_context.attach(trace.set_span_in_context(span))
    try:
        yield
    finally:
        otel_context.detach(token)


def json_attribute(value: Any) -> str:
    """A structured value as the JSON string spans carry (the conventions allow a JSON string
    where an exporter cannot hold structured attributes)."""
    return json.dumps(value, ensure_ascii=False, default=str)


@contextlib.contextmanager
def policy_version(version: int | str) -> Iterator[None]:
    """Tag the spans started inside the block with ``hone.policy.version``: the version of
    the weights that sample (an RL loop's optimizer step, say), so a trace says which policy
    produced each model call, rollout and reward.

    Args:
        version: the policy's version (an int or a string such as a checkpoint name).
    """
    token = _POLICY.set(version)
    try:
        yield
    finally:
        _POLICY.reset(token)


@contextlib.contextmanager
def signals(kind: type[BaseException]) -> Iterator[None]:
    """Inside the block, ``kind`` exceptions end spans without failing them (a graph task
    sets its runtime's signal class: interrupts, commands for a parent graph, drains)."""
    token = _SIGNALS.set(kind)
    try:
        yield
    finally:
        _SIGNALS.reset(token)


@contextlib.contextmanager
def conversation(thread_id: str | None) -> Iterator[None]:
    """Tag the spans started inside the block with ``gen_ai.conversation.id`` (a graph
    task sets its run's thread id)."""
    if thread_id is None:
        yield
        return
    token = _CONVERSATION.set(thread_id)
    try:
        yield
    finally:
        _CONVERSATION.reset(token)


def context_attributes() -> Mapping[str, AttributeValue]:
    """What the context adds to every span: ``hone.policy.version`` inside
    :func:`policy_version`, ``gen_ai.conversation.id`` inside a graph run's thread."""
    version, thread = _POLICY.get(), _CONVERSATION.get()
    if version is None and thread is None:
        return {}
    out: dict[str, AttributeValue] = {}
    if version is not None:
        out[POLICY_VERSION] = version
    if thread is not None:
        out["gen_ai.conversation.id"] = thread
    return out
