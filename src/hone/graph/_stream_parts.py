"""The shapes of ``stream(..., version="v2")``'s parts (LangGraph's ``StreamPart`` types, same
names and keys), for annotating code that reads them::

    for part in graph.stream(inputs, stream_mode=["values", "updates"], version="v2"):
        if part["type"] == "values":
            values: ValuesStreamPart = part

Every part is ``{"type": mode, "ns": namespace, "data": payload}``; a ``values`` part also
carries the ``interrupts`` the run is paused at.
"""

# No ``from __future__ import annotations``: TypedDict reads NotRequired[...] from evaluated
# annotations only.
from typing import Any, Generic, Literal, NotRequired, TypeAlias

from typing_extensions import TypedDict, TypeVar

from hone.graph._types import Interrupt, StateSnapshot

__all__ = [
    "CheckpointPayload",
    "CheckpointStreamPart",
    "CheckpointTask",
    "CustomStreamPart",
    "DebugPayload",
    "DebugStreamPart",
    "MessagesStreamPart",
    "StreamPart",
    "TaskPayload",
    "TaskResultPayload",
    "TasksStreamPart",
    "ToolsStreamPart",
    "UpdatesStreamPart",
    "ValuesStreamPart",
]

StateT = TypeVar("StateT", default=dict[str, Any])


class TaskPayload(TypedDict):
    """A task starting (``tasks`` mode)."""

    id: str
    name: str
    input: Any
    triggers: list[str]
    metadata: NotRequired[dict[str, Any]]


class TaskResultPayload(TypedDict):
    """A task finished (``tasks`` mode): its writes, or its error, or its interrupts."""

    id: str
    name: str
    error: str | None
    interrupts: list[dict[str, Any]]
    result: dict[str, Any]


class CheckpointTask(TypedDict):
    """A task of a checkpoint (``checkpoints`` mode)."""

    id: str
    name: str
    error: NotRequired[str]
    result: NotRequired[Any]
    interrupts: NotRequired[list[dict[str, Any]]]
    state: StateSnapshot | dict[str, Any] | None


class CheckpointPayload(TypedDict, Generic[StateT]):
    """A checkpoint saved (``checkpoints`` mode)."""

    config: dict[str, Any] | None
    metadata: dict[str, Any]
    values: StateT
    next: list[str]
    parent_config: dict[str, Any] | None
    tasks: list[CheckpointTask]


class _DebugCheckpoint(TypedDict, Generic[StateT]):
    step: int
    timestamp: str
    type: Literal["checkpoint"]
    payload: CheckpointPayload[StateT]


class _DebugTask(TypedDict):
    step: int
    timestamp: str
    type: Literal["task"]
    payload: TaskPayload


class _DebugTaskResult(TypedDict):
    step: int
    timestamp: str
    type: Literal["task_result"]
    payload: TaskResultPayload


#: A ``debug``-mode event: a checkpoint, a task starting or a task's result, with its step.
DebugPayload: TypeAlias = _DebugCheckpoint[StateT] | _DebugTask | _DebugTaskResult


class ValuesStreamPart(TypedDict, Generic[StateT]):
    """The whole state after a step (``values`` mode)."""

    type: Literal["values"]
    ns: tuple[str, ...]
    data: StateT
    interrupts: tuple[Interrupt, ...]


class UpdatesStreamPart(TypedDict):
    """Each node's update, by node name (``updates`` mode)."""

    type: Literal["updates"]
    ns: tuple[str, ...]
    data: dict[str, Any]


class MessagesStreamPart(TypedDict):
    """A message chunk and its metadata (``messages`` mode)."""

    type: Literal["messages"]
    ns: tuple[str, ...]
    data: tuple[Any, dict[str, Any]]


class CustomStreamPart(TypedDict):
    """What a node wrote with ``get_stream_writer()`` (``custom`` mode)."""

    type: Literal["custom"]
    ns: tuple[str, ...]
    data: Any


class CheckpointStreamPart(TypedDict, Generic[StateT]):
    """A checkpoint saved (``checkpoints`` mode)."""

    type: Literal["checkpoints"]
    ns: tuple[str, ...]
    data: CheckpointPayload[StateT]


class TasksStreamPart(TypedDict):
    """A task starting or finished (``tasks`` mode)."""

    type: Literal["tasks"]
    ns: tuple[str, ...]
    data: TaskPayload | TaskResultPayload


class DebugStreamPart(TypedDict, Generic[StateT]):
    """A ``debug``-mode event."""

    type: Literal["debug"]
    ns: tuple[str, ...]
    data: DebugPayload[StateT]


class ToolsStreamPart(TypedDict):
    """A tool call's lifecycle event (``tools`` mode): started, output delta, finished."""

    type: Literal["tools"]
    ns: tuple[str, ...]
    data: dict[str, Any]


#: Any part of a ``version="v2"`` stream.
StreamPart: TypeAlias = (
    ValuesStreamPart[StateT]
    | UpdatesStreamPart
    | MessagesStreamPart
    | CustomStreamPart
    | CheckpointStreamPart[StateT]
    | TasksStreamPart
    | DebugStreamPart[StateT]
    | ToolsStreamPart
)
