"""What the thread parser reports: spans of the text, events, problems, where it is."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeAlias

from hone.threads._tree import Thread

__all__ = [
    "Location",
    "ParsedThread",
    "Span",
    "SubtasksClosed",
    "TaskPath",
    "TaskSpan",
    "ThreadClosed",
    "ThreadError",
    "ThreadEvent",
    "ToolCallReady",
]

#: Where a task sits: indexes of subtasks from the ``reasoning`` task (which is ``()``).
TaskPath: TypeAlias = tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Span:
    """Characters ``[start, end)`` of the thread text."""

    start: int
    end: int


@dataclass(frozen=True, slots=True)
class TaskSpan:
    """Where one finished task lies: the whole object, and its *internals* (everything
    between its opening brace and its ``"conclusion"`` key: what pruning removes)."""

    path: TaskPath
    span: Span
    internals: Span


@dataclass(frozen=True, slots=True)
class ToolCallReady:
    """A tool use's ``parameters`` just closed: run the tool and write ``tool_result``."""

    #: The task whose tool use this is.
    path: TaskPath
    #: The how-manieth tool use of the thread (0-based).
    index: int
    tool_name: str
    parameters: Any
    #: Offset right after the parameters' last character.
    end: int


@dataclass(frozen=True, slots=True)
class SubtasksClosed:
    """A subtask list just closed (its ``]`` is the last character read)."""

    #: The task that owns the list.
    path: TaskPath
    span: Span
    tasks: tuple[TaskSpan, ...]


@dataclass(frozen=True, slots=True)
class ThreadClosed:
    """The thread is complete."""

    thread: Thread
    end: int


ThreadEvent: TypeAlias = ToolCallReady | SubtasksClosed | ThreadClosed


@dataclass(frozen=True, slots=True)
class ThreadError:
    """The first problem in a thread: where it is and what to do, phrased for the model."""

    offset: int
    message: str


@dataclass(frozen=True, slots=True)
class Location:
    """Where the next character goes: the innermost task, and the field being written there
    (None between fields, or outside every task)."""

    path: TaskPath | None
    field: str | None
    depth: int


@dataclass(frozen=True, slots=True)
class ParsedThread:
    """A whole text parsed at once (see :func:`parse_thread`)."""

    thread: Thread | None
    error: ThreadError | None
    events: tuple[ThreadEvent, ...]
