"""What the server keeps about assistants, threads and runs, and how each reads in the API.

Records are plain dataclasses; :mod:`hone.server._db` stores them, the routes turn them
into the API's JSON with ``to_api()``. Times are UTC ISO strings with microseconds, so they
sort as text in both SQLite and PostgreSQL.
"""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field, replace
from typing import Any, Literal, TypeAlias

__all__ = [
    "ACTIVE_RUN_STATUSES",
    "AssistantRecord",
    "MultitaskStrategy",
    "RunRecord",
    "RunStatus",
    "ThreadRecord",
    "ThreadStatus",
    "new_uuid",
    "now",
]

RunStatus: TypeAlias = Literal["pending", "running", "error", "success", "timeout", "interrupted"]
ThreadStatus: TypeAlias = Literal["idle", "busy", "interrupted", "error"]
MultitaskStrategy: TypeAlias = Literal["reject", "interrupt", "rollback", "enqueue"]
#: Runs that hold their thread: the one running and those queued behind it.
ACTIVE_RUN_STATUSES: tuple[RunStatus, ...] = ("pending", "running")


def now() -> str:
    """The current UTC time as the ISO string records store."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="microseconds")


def new_uuid() -> str:
    """A fresh id (UUID 4, as LangGraph's server makes them)."""
    return str(uuid.uuid4())


@dataclass(frozen=True, slots=True)
class AssistantRecord:
    """A graph with a config: one per registered graph, plus those clients create."""

    assistant_id: str
    graph_id: str
    name: str
    config: dict[str, Any] = field(default_factory=dict)
    context: dict[str, Any] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)
    description: str | None = None
    version: int = 1
    #: Who created it; None for the assistants the server makes from its graphs.
    owner: str | None = None
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)

    def to_api(self) -> dict[str, Any]:
        """The API's ``Assistant`` object."""
        return {
            "assistant_id": self.assistant_id,
            "graph_id": self.graph_id,
            "name": self.name,
            "description": self.description,
            "config": self.config,
            "context": self.context,
            "metadata": self.metadata,
            "version": self.version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
        }


@dataclass(frozen=True, slots=True)
class ThreadRecord:
    """A conversation: its owner, metadata, status, and the state its last run left."""

    thread_id: str
    owner: str
    metadata: dict[str, Any] = field(default_factory=dict)
    status: ThreadStatus = "idle"
    #: The graph that last ran on the thread (None until a run or a state update).
    graph_id: str | None = None
    #: The state values as JSON data, as of the last run or state update.
    values: dict[str, Any] | None = None
    #: Pending interrupts by task id, as of the last run.
    interrupts: dict[str, list[Any]] = field(default_factory=dict)
    #: The last run's error message, when it failed.
    error: str | None = None
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)

    def with_(self, **changes: Any) -> ThreadRecord:
        """A copy with some fields changed (``updated_at`` refreshed)."""
        return replace(self, updated_at=now(), **changes)

    def to_api(self) -> dict[str, Any]:
        """The API's ``Thread`` object."""
        return {
            "thread_id": self.thread_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "metadata": self.metadata,
            "status": self.status,
            "values": self.values if self.values is not None else {},
            "interrupts": self.interrupts,
            "config": {},
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class RunRecord:
    """One invocation of an assistant on a thread, with what it was asked to do."""

    run_id: str
    thread_id: str
    owner: str
    assistant_id: str
    graph_id: str
    #: The run's request: input, command, config, context, stream modes, interrupt nodes...
    kwargs: dict[str, Any]
    status: RunStatus = "pending"
    metadata: dict[str, Any] = field(default_factory=dict)
    multitask_strategy: MultitaskStrategy = "enqueue"
    #: A stateless run's thread, removed when the run ends (unless ``on_completion="keep"``).
    stateless: bool = False
    #: What ``wait`` and ``join`` return: the state values (with ``__interrupt__``) or
    #: ``{"__error__": ...}``; None until the run ends.
    output: Any = None
    error: str | None = None
    #: Why the run was cancelled, if it was.
    cancel_reason: str | None = None
    #: 1 for the first execution; more when a restart resumed it.
    attempt: int = 1
    created_at: str = field(default_factory=now)
    updated_at: str = field(default_factory=now)

    def with_(self, **changes: Any) -> RunRecord:
        """A copy with some fields changed (``updated_at`` refreshed)."""
        return replace(self, updated_at=now(), **changes)

    def to_api(self) -> dict[str, Any]:
        """The API's ``Run`` object."""
        return {
            "run_id": self.run_id,
            "thread_id": self.thread_id,
            "assistant_id": self.assistant_id,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "status": self.status,
            "metadata": self.metadata,
            "multitask_strategy": self.multitask_strategy,
            "kwargs": self.kwargs,
            "cancel_reason": self.cancel_reason,
        }
