"""The values of a task tree: TIM's ``thread = {reasoning: Task, answer}`` schema as typed data.

A :class:`Task` is ``{thought, tooluse?, subtasks?, conclusion}`` with its keys in that
order; a :class:`ToolUse` is ``{tool_name, parameters, tool_result}``, where ``tool_result``
is written by the runtime, never by the model. :meth:`Thread.to_text` writes the canonical
layout (``json.dumps``: ``", "`` and ``": "`` separators, no other whitespace), the layout
the grammar (``_schema``) makes a model follow.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from hone.errors import ConfigError

__all__ = ["Task", "Thread", "ToolUse"]


@dataclass(frozen=True, slots=True)
class ToolUse:
    """One tool call inside a task, with the result the runtime wrote back."""

    tool_name: str
    parameters: dict[str, Any]
    #: What the tool returned (an ``"Error: ..."`` text when it failed); None until run.
    tool_result: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, keys in schema order (``tool_result`` left out until written)."""
        out: dict[str, Any] = {"tool_name": self.tool_name, "parameters": self.parameters}
        if self.tool_result is not None:
            out["tool_result"] = self.tool_result
        return out


@dataclass(frozen=True, slots=True)
class Task:
    """One node of the tree: a thought, an optional tool use, optional subtasks, a conclusion."""

    thought: str
    conclusion: str
    tooluse: ToolUse | None = None
    subtasks: tuple[Task, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The JSON object, keys in schema order (empty parts left out)."""
        out: dict[str, Any] = {"thought": self.thought}
        if self.tooluse is not None:
            out["tooluse"] = self.tooluse.to_dict()
        if self.subtasks:
            out["subtasks"] = [t.to_dict() for t in self.subtasks]
        out["conclusion"] = self.conclusion
        return out

    @property
    def depth(self) -> int:
        """Levels of tasks in this subtree (1 for a leaf)."""
        return 1 + max((t.depth for t in self.subtasks), default=0)

    @property
    def tool_calls(self) -> int:
        """Tool uses in this subtree."""
        own = 1 if self.tooluse is not None else 0
        return own + sum(t.tool_calls for t in self.subtasks)


@dataclass(frozen=True, slots=True)
class Thread:
    """A whole reasoning tree and its answer."""

    reasoning: Task
    answer: str

    def to_dict(self) -> dict[str, Any]:
        """The JSON object."""
        return {"reasoning": self.reasoning.to_dict(), "answer": self.answer}

    def to_text(self) -> str:
        """The canonical text: ``json.dumps`` layout, keys in schema order."""
        return json.dumps(self.to_dict(), ensure_ascii=False)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Thread:
        """A thread from its JSON object (for example ``json.loads`` of a model's output).

        Raises:
            ConfigError: the object does not have the thread's shape.
        """
        if not isinstance(data, Mapping) or set(data) != {"reasoning", "answer"}:
            raise ConfigError("a thread is an object with exactly 'reasoning' and 'answer'")
        answer = data["answer"]
        if not isinstance(answer, str):
            raise ConfigError(f"a thread's 'answer' must be a string, got {answer!r}")
        return cls(reasoning=_task(data["reasoning"], "reasoning"), answer=answer)


def _task(data: Any, where: str) -> Task:
    if not isinstance(data, Mapping):
        raise ConfigError(f"{where} must be a task object, got {data!r}")
    extra = set(data) - {"thought", "tooluse", "subtasks", "conclusion"}
    if extra:
        raise ConfigError(f"{where} has keys a task does not have: {sorted(extra)}")
    thought, conclusion = data.get("thought"), data.get("conclusion")
    if not isinstance(thought, str) or not isinstance(conclusion, str):
        raise ConfigError(f"{where} needs a string 'thought' and a string 'conclusion'")
    subtasks = data.get("subtasks", [])
    if not isinstance(subtasks, list):
        raise ConfigError(f"{where}.subtasks must be a list of tasks")
    return Task(
        thought=thought,
        conclusion=conclusion,
        tooluse=_tooluse(data["tooluse"], where) if "tooluse" in data else None,
        subtasks=tuple(_task(t, f"{where}.subtasks[{i}]") for i, t in enumerate(subtasks)),
    )


def _tooluse(data: Any, where: str) -> ToolUse:
    if not isinstance(data, Mapping) or not {"tool_name", "parameters"} <= set(data):
        raise ConfigError(f"{where}.tooluse needs 'tool_name' and 'parameters'")
    name, parameters, result = data["tool_name"], data["parameters"], data.get("tool_result")
    if not isinstance(name, str) or not isinstance(parameters, dict):
        raise ConfigError(f"{where}.tooluse needs a string tool_name and object parameters")
    if result is not None and not isinstance(result, str):
        raise ConfigError(f"{where}.tooluse.tool_result must be a string")
    return ToolUse(tool_name=name, parameters=parameters, tool_result=result)
