"""Request bodies, as ``langgraph-sdk`` sends them. FastAPI validates each against these
models (a 422 names every problem) and publishes them in the OpenAPI schema.

Fields the SDK sends that only matter to LangSmith (``feedback_keys``,
``langsmith_tracer``) are accepted and have no effect; fields asking for something hone
server does not do (``webhook``, a thread ``ttl``) are refused with a 422 by the routes.
"""

from __future__ import annotations

import math
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "AssistantCountBody",
    "AssistantCreateBody",
    "AssistantPatchBody",
    "AssistantSearchBody",
    "AssistantVersionsBody",
    "CheckpointBody",
    "CommandBody",
    "HistoryBody",
    "RunCreateBody",
    "StateAtCheckpointBody",
    "StateUpdateBody",
    "StoreDeleteBody",
    "StoreNamespacesBody",
    "StorePutBody",
    "StoreSearchBody",
    "StreamModeName",
    "ThreadCountBody",
    "ThreadCreateBody",
    "ThreadPatchBody",
    "ThreadSearchBody",
]

Id = Annotated[str, Field(min_length=1, max_length=256)]
Limit = Annotated[int, Field(ge=1, le=1000)]
Offset = Annotated[int, Field(ge=0, le=10_000_000)]
SortOrder = Literal["asc", "desc"]
StreamModeName = Literal[
    "values",
    "updates",
    "messages",
    "messages-tuple",
    "custom",
    "debug",
    "checkpoints",
    "tasks",
    "events",
]
NodeList = Literal["*"] | list[Annotated[str, Field(min_length=1, max_length=256)]]
Label = Annotated[str, Field(min_length=1, max_length=256)]


#: How deeply a request's JSON may nest (objects in arrays in objects ...): deeper bodies are
#: refused with a 422 rather than overflowing the stack of whatever reads them later.
MAX_DEPTH = 100


_NUL = "text may not contain NUL characters (\\u0000): PostgreSQL cannot store them"


def _plain_json(value: Any) -> None:
    """Refuse JSON that parses but cannot be kept and sent back: NaN or infinite numbers
    (Python's parser accepts them, JSON has none), NUL characters in text, and nesting
    past :data:`MAX_DEPTH`."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, float) and not math.isfinite(item):
            raise ValueError(f"{item} is not a JSON number; send a finite number or null")
        if isinstance(item, str) and "\x00" in item:
            raise ValueError(_NUL)
        if isinstance(item, dict | list):
            if depth >= MAX_DEPTH:
                raise ValueError(f"the body nests deeper than {MAX_DEPTH} levels")
            if isinstance(item, dict):
                if any("\x00" in str(key) for key in item):
                    raise ValueError(_NUL)
                stack.extend((child, depth + 1) for child in item.values())
            else:
                stack.extend((child, depth + 1) for child in item)


class _Checked(BaseModel):
    @model_validator(mode="before")
    @classmethod
    def _plain(cls, data: Any) -> Any:
        _plain_json(data)
        return data


class _Body(_Checked):
    model_config = ConfigDict(extra="forbid")


class _Lenient(_Checked):
    """A body that ignores fields it does not know (newer SDKs may add some)."""

    model_config = ConfigDict(extra="ignore")


class CheckpointBody(_Body):
    """A checkpoint to read or start from."""

    thread_id: Id | None = None
    checkpoint_ns: Annotated[str, Field(max_length=1024)] = ""
    checkpoint_id: Id | None = None
    checkpoint_map: dict[str, Any] | None = None


class SendBody(_Body):
    """A ``Send``: run ``node`` with ``input``."""

    node: Id
    input: Any = None


class CommandBody(_Body):
    """A ``Command``: resume interrupts, update the state, go to nodes."""

    resume: Any = None
    update: dict[str, Any] | list[tuple[str, Any]] | None = None
    goto: Id | SendBody | list[Id | SendBody] | None = None

    @model_validator(mode="after")
    def _something(self) -> CommandBody:
        if not ({"resume", "update", "goto"} & self.model_fields_set):
            raise ValueError("a command needs at least one of resume, update, goto")
        return self


class RunConfigBody(_Lenient):
    """A run's config: LangGraph's ``RunnableConfig`` keys."""

    model_config = ConfigDict(extra="allow")

    tags: list[Annotated[str, Field(max_length=256)]] | None = None
    recursion_limit: Annotated[int, Field(ge=1, le=100_000)] | None = None
    configurable: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    run_name: Annotated[str, Field(max_length=256)] | None = None
    max_concurrency: Annotated[int, Field(ge=1, le=10_000)] | None = None


class RunCreateBody(_Lenient):
    """A run to create (on a thread, or stateless)."""

    assistant_id: Id
    input: Any = None
    command: CommandBody | None = None
    metadata: dict[str, Any] | None = None
    config: RunConfigBody | None = None
    context: dict[str, Any] | None = None
    checkpoint: CheckpointBody | None = None
    checkpoint_id: Id | None = None
    checkpoint_during: bool | None = None
    durability: Literal["sync", "async", "exit"] | None = None
    stream_mode: StreamModeName | list[StreamModeName] = "values"
    stream_subgraphs: bool = False
    stream_resumable: bool = False
    interrupt_before: NodeList | None = None
    interrupt_after: NodeList | None = None
    multitask_strategy: Literal["reject", "interrupt", "rollback", "enqueue"] | None = None
    if_not_exists: Literal["create", "reject"] | None = None
    on_disconnect: Literal["cancel", "continue"] | None = None
    on_completion: Literal["delete", "keep"] | None = None
    after_seconds: Annotated[float, Field(ge=0, le=86_400)] | None = None
    webhook: Annotated[str, Field(max_length=2048)] | None = None
    feedback_keys: list[Annotated[str, Field(max_length=256)]] | None = None
    langsmith_tracer: dict[str, Any] | None = None
    strict_resume: bool | None = None

    @model_validator(mode="after")
    def _input_or_command(self) -> RunCreateBody:
        if self.input is not None and self.command is not None and self.input != {}:
            raise ValueError("give input or command, not both")
        if self.input == {} and self.command is not None:
            self.input = None
        return self

    @property
    def modes(self) -> list[str]:
        """The requested stream modes, once each."""
        modes = [self.stream_mode] if isinstance(self.stream_mode, str) else self.stream_mode
        return list(dict.fromkeys(modes)) or ["values"]


class ThreadCreateBody(_Lenient):
    """A thread to create."""

    thread_id: Id | None = None
    metadata: dict[str, Any] | None = None
    if_exists: Literal["raise", "do_nothing"] | None = None
    supersteps: list[dict[str, Any]] | None = None
    ttl: Any = None


class ThreadPatchBody(_Lenient):
    """New metadata for a thread (merged into its metadata)."""

    metadata: dict[str, Any]
    ttl: Any = None


ThreadSort = Literal["thread_id", "status", "created_at", "updated_at"]
ThreadField = Literal[
    "thread_id",
    "created_at",
    "updated_at",
    "metadata",
    "config",
    "context",
    "status",
    "values",
    "interrupts",
    "error",
]
ThreadStatusName = Literal["idle", "busy", "interrupted", "error"]


class ThreadSearchBody(_Lenient):
    """Which threads to list."""

    metadata: dict[str, Any] | None = None
    values: dict[str, Any] | None = None
    ids: list[Id] | None = Field(default=None, max_length=1000)
    status: ThreadStatusName | None = None
    limit: Limit = 10
    offset: Offset = 0
    sort_by: ThreadSort | None = None
    sort_order: SortOrder | None = None
    select: list[ThreadField] | None = None
    extract: dict[str, Any] | None = None


class ThreadCountBody(_Lenient):
    """Which threads to count."""

    metadata: dict[str, Any] | None = None
    values: dict[str, Any] | None = None
    status: ThreadStatusName | None = None


class StateUpdateBody(_Lenient):
    """Values to write to a thread's state, as if a node returned them."""

    values: dict[str, Any] | list[Any] | None = None
    as_node: Id | None = None
    checkpoint: CheckpointBody | None = None
    checkpoint_id: Id | None = None


class StateAtCheckpointBody(_Lenient):
    """A thread's state at one checkpoint."""

    checkpoint: CheckpointBody
    subgraphs: bool = False
    select: list[Annotated[str, Field(max_length=256)]] | None = None


class HistoryBody(_Lenient):
    """Which checkpoints of a thread to list, newest first."""

    limit: Limit = 10
    before: Id | CheckpointBody | None = None
    metadata: dict[str, Any] | None = None
    checkpoint: CheckpointBody | None = None
    select: list[Annotated[str, Field(max_length=256)]] | None = None


AssistantSort = Literal["assistant_id", "graph_id", "name", "created_at", "updated_at"]
AssistantField = Literal[
    "assistant_id",
    "graph_id",
    "name",
    "description",
    "config",
    "context",
    "created_at",
    "updated_at",
    "metadata",
    "version",
]


class AssistantSearchBody(_Lenient):
    """Which assistants to list."""

    metadata: dict[str, Any] | None = None
    graph_id: Id | None = None
    name: Id | None = None
    limit: Limit = 10
    offset: Offset = 0
    sort_by: AssistantSort | None = None
    sort_order: SortOrder | None = None
    select: list[AssistantField] | None = None


class AssistantCountBody(_Lenient):
    """Which assistants to count."""

    metadata: dict[str, Any] | None = None
    graph_id: Id | None = None
    name: Id | None = None


class AssistantCreateBody(_Lenient):
    """An assistant to create: a graph with a config."""

    graph_id: Id
    assistant_id: Id | None = None
    config: RunConfigBody | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    if_exists: Literal["raise", "do_nothing"] | None = None
    name: Id | None = None
    description: Annotated[str, Field(max_length=10_000)] | None = None


class AssistantPatchBody(_Lenient):
    """What to change in an assistant (a new version)."""

    graph_id: Id | None = None
    config: RunConfigBody | None = None
    context: dict[str, Any] | None = None
    metadata: dict[str, Any] | None = None
    name: Id | None = None
    description: Annotated[str, Field(max_length=10_000)] | None = None


class AssistantVersionsBody(_Lenient):
    """Which versions of an assistant to list."""

    metadata: dict[str, Any] | None = None
    limit: Limit = 10
    offset: Offset = 0


class StorePutBody(_Body):
    """An item to store."""

    namespace: list[Label] = Field(min_length=1, max_length=64)
    key: Id
    value: dict[str, Any]
    index: Literal[False] | list[Annotated[str, Field(max_length=256)]] | None = None
    ttl: Annotated[float, Field(gt=0, le=10_000_000)] | None = None


class StoreDeleteBody(_Body):
    """An item to delete."""

    namespace: list[Label] = Field(min_length=1, max_length=64)
    key: Id


class StoreSearchBody(_Body):
    """Which items to find."""

    namespace_prefix: list[Label] = Field(default_factory=list, max_length=64)
    filter: dict[str, Any] | None = None
    limit: Limit = 10
    offset: Offset = 0
    query: Annotated[str, Field(max_length=100_000)] | None = None
    refresh_ttl: bool | None = None


class StoreNamespacesBody(_Body):
    """Which namespaces to list."""

    prefix: list[Label] | None = Field(default=None, max_length=64)
    suffix: list[Label] | None = Field(default=None, max_length=64)
    max_depth: Annotated[int, Field(ge=1, le=64)] | None = None
    limit: Limit = 100
    offset: Offset = 0
