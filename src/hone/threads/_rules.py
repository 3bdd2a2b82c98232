"""The thread's rules, checked as the parser reads: which keys an object may have and in which
order, what each value must be, how deep tasks nest; the problems are phrased for the model."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias

from hone.threads._events import TaskPath, TaskSpan

__all__ = ["KEYS", "Frame", "Role", "inner_field", "key_problem", "missing", "wrong_value"]

#: What a container of the text is in the tree ("opaque": inside a tool's parameters).
Role: TypeAlias = Literal["thread", "task", "tooluse", "subtasks", "parameters", "opaque"]
#: The keys of each kind of object, in their order.
KEYS: dict[str, tuple[str, ...]] = {
    "thread": ("reasoning", "answer"),
    "task": ("thought", "tooluse", "subtasks", "conclusion"),
    "tooluse": ("tool_name", "parameters", "tool_result"),
}
_WHAT = {"thread": "a thread", "task": "a task", "tooluse": "a tool use"}


@dataclass(slots=True)
class Frame:
    """An open object or array of the text, with what the parser learnt of it so far."""

    kind: Literal["object", "array"]
    role: Role
    start: int
    depth: int = 0  # task level (tasks only; 1 = reasoning)
    path: TaskPath = ()
    key: str | None = None
    key_start: int = 0
    keys: list[str] = field(default_factory=list)
    values: dict[str, Any] = field(default_factory=dict)
    items: list[Any] = field(default_factory=list)  # subtasks: finished Tasks
    spans: list[TaskSpan] = field(default_factory=list)  # subtasks: their spans
    conclusion_at: int = 0  # tasks: offset of the conclusion key's quote


def inner_field(task: Frame, inner: Frame, between: bool) -> str | None:
    """The field of ``task`` being written while ``inner`` (inside it) is the open container."""
    if inner.role == "tooluse":
        return f"tooluse.{inner.key}" if inner.key and not between else "tooluse"
    if inner.role in ("parameters", "opaque"):
        return "tooluse.parameters"
    return task.key


def key_problem(frame: Frame, key: str, max_depth: int) -> str | None:
    """What is wrong with ``key`` as the next key of ``frame`` (None: nothing)."""
    allowed, what = KEYS[frame.role], _WHAT[frame.role]
    if key not in allowed:
        return f"{what} has no key {key!r}; its keys are {', '.join(allowed)} (in that order)"
    if key in frame.keys:
        return f"{key!r} appears twice in {what}"
    if frame.keys and allowed.index(key) < allowed.index(frame.keys[-1]):
        return f"{key!r} must come before {frame.keys[-1]!r} in {what}"
    if not frame.keys and key != allowed[0]:
        return f"{what} starts with {allowed[0]!r}"
    if frame.role == "tooluse" and key == "tool_result" and "parameters" not in frame.keys:
        return "write 'parameters' before 'tool_result'"
    if frame.role == "task" and key == "subtasks" and frame.depth >= max_depth:
        return (
            f"a task at depth {frame.depth} (the limit is {max_depth}) cannot have subtasks; "
            "write its conclusion instead"
        )
    return None


def missing(frame: Frame) -> str | None:
    """What ``frame`` still needs before it may close (None: nothing)."""
    if frame.role == "task":
        if "conclusion" not in frame.keys:
            return 'a task ends with its "conclusion": write it before closing the task'
    elif frame.role == "tooluse" and "tool_result" not in frame.keys:
        return 'a tool use is {"tool_name": ..., "parameters": {...}} and then its result'
    elif frame.role == "thread" and "answer" not in frame.keys:
        return 'the thread ends with "answer": write it before closing the thread'
    elif frame.role == "subtasks" and not frame.items:
        return "a subtask list needs at least one task"
    return None


def wrong_value(slot: str, want: str) -> str:
    """The problem of a value of the wrong kind in ``slot``."""
    shape = {
        "task": 'a task object {"thought": ..., "conclusion": ...}',
        "tooluse": 'a tool use object {"tool_name": ..., "parameters": {...}}',
        "subtasks": "a list of tasks [...]",
        "parameters": "a JSON object",
        "string": "a string",
        "thread": 'the thread object {"reasoning": ..., "answer": ...}',
    }[want]
    return f"{slot} must be {shape}"
