"""The run-scoped ``Runtime`` a node can ask for: the run's context (its dependencies:
user id, database handle, model), the store, the stream writer, execution info, and the
control to drain a run cooperatively.

``graph.invoke(input, context=Context(user_id="u1"))`` with
``StateGraph(State, context_schema=Context)``; a node takes ``runtime: Runtime[Context]``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

__all__ = [
    "DEFAULT_RUNTIME",
    "ExecutionInfo",
    "RunControl",
    "Runtime",
    "ServerInfo",
    "build_server_info",
    "coerce_context",
]

ContextT = TypeVar("ContextT")


def _no_op_writer(chunk: Any) -> None:
    return None


def _no_op_heartbeat() -> None:
    return None


@dataclass(frozen=True, slots=True)
class ExecutionInfo:
    """Read-only facts about the running node: its checkpoint, namespace, task, thread
    and run, and which attempt this is."""

    checkpoint_id: str
    checkpoint_ns: str
    task_id: str
    thread_id: str | None = None
    run_id: str | None = None
    #: 1 on the first attempt, 2 on the first retry, ...
    node_attempt: int = 1
    #: When the first attempt started (Unix seconds).
    node_first_attempt_time: float | None = None

    def patch(self, **overrides: Any) -> ExecutionInfo:
        """A copy with some fields replaced."""
        return replace(self, **overrides)


@dataclass(frozen=True, slots=True)
class ServerInfo:
    """What an agent server tells a run about itself (None when run directly)."""

    assistant_id: str
    graph_id: str
    user: Any = None


class RunControl:
    """Ask a run to stop cooperatively: after ``request_drain()`` no new super-step starts
    and the run raises ``GraphDrained`` (its state is saved, so it can be resumed)."""

    __slots__ = ("_reason",)

    def __init__(self) -> None:
        self._reason: str | None = None

    def request_drain(self, reason: str = "shutdown") -> None:
        """Stop before the next super-step."""
        self._reason = reason

    @property
    def drain_requested(self) -> bool:
        """Whether a drain was requested."""
        return self._reason is not None

    @property
    def drain_reason(self) -> str | None:
        """Why, if a drain was requested."""
        return self._reason


@dataclass(frozen=True, kw_only=True, slots=True)
class Runtime(Generic[ContextT]):
    """Run-scoped utilities injected into a node's ``runtime`` parameter."""

    #: The run's static context (``invoke(..., context=...)``), coerced to the graph's
    #: ``context_schema`` when that is a dataclass or pydantic model.
    context: ContextT = field(default=None)  # type: ignore[assignment]
    store: Any = None
    stream_writer: Callable[[Any], None] = _no_op_writer
    #: Record progress for the node's ``idle_timeout``.
    heartbeat: Callable[[], None] = _no_op_heartbeat
    #: An entrypoint's previous return value on this thread (functional API).
    previous: Any = None
    execution_info: ExecutionInfo | None = None
    server_info: ServerInfo | None = None
    control: RunControl | None = None

    def merge(self, other: Runtime[ContextT]) -> Runtime[ContextT]:
        """This runtime with the values ``other`` sets."""
        return Runtime(
            context=other.context or self.context,
            store=self.store if other.store is None else other.store,
            stream_writer=other.stream_writer
            if other.stream_writer is not _no_op_writer
            else self.stream_writer,
            heartbeat=other.heartbeat
            if other.heartbeat is not _no_op_heartbeat
            else self.heartbeat,
            previous=self.previous if other.previous is None else other.previous,
            execution_info=other.execution_info or self.execution_info,
            server_info=other.server_info or self.server_info,
            control=other.control or self.control,
        )

    def override(self, **overrides: Any) -> Runtime[ContextT]:
        """A copy with some fields replaced."""
        return replace(self, **overrides)

    def patch_execution_info(self, **overrides: Any) -> Runtime[ContextT]:
        """A copy with some execution-info fields replaced.

        Raises:
            RuntimeError: no execution info yet.
        """
        if self.execution_info is None:
            raise RuntimeError("Cannot patch execution_info before it has been set")
        return replace(self, execution_info=self.execution_info.patch(**overrides))

    @property
    def drain_requested(self) -> bool:
        """Whether the run was asked to drain."""
        return self.control.drain_requested if self.control is not None else False

    @property
    def drain_reason(self) -> str | None:
        """Why, if the run was asked to drain."""
        return self.control.drain_reason if self.control is not None else None


def coerce_context(schema: Any, context: Any) -> Any:
    """A context dict built into the context schema when that is a dataclass or pydantic
    model (its own errors, e.g. ``TypeError`` for a missing field, propagate)."""
    if context is None or schema is None:
        return context
    if (
        isinstance(context, Mapping)
        and isinstance(schema, type)
        and (issubclass(schema, BaseModel) or dataclasses.is_dataclass(schema))
    ):
        return schema(**context)
    return context


def build_server_info(configurable: Mapping[str, Any]) -> ServerInfo | None:
    """Server facts from ``configurable`` (``assistant_id``, ``graph_id``,
    ``langgraph_auth_user``), or None."""
    assistant_id = configurable.get("assistant_id")
    graph_id = configurable.get("graph_id")
    user = configurable.get("langgraph_auth_user")
    if user is not None and not hasattr(user, "identity"):
        user = None
    if assistant_id is None and graph_id is None and user is None:
        return None
    return ServerInfo(
        assistant_id=str(assistant_id) if assistant_id else "",
        graph_id=str(graph_id) if graph_id else "",
        user=user,
    )


#: The runtime outside a run (no context, no store, no-op writer and heartbeat).
DEFAULT_RUNTIME: Runtime[Any] = Runtime()
