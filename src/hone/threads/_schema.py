"""The task-tree protocol for one set of tools: JSON schema, decoding grammar, instructions.

:class:`ThreadSchema` fixes what a thread may contain: which tools a ``tooluse`` may name (and
their parameter schemas) and how deep tasks may nest (``max_depth``, TIM's default 3: the
``reasoning`` task is depth 1). From it come

* :meth:`~ThreadSchema.json_schema`: the JSON schema of a finished thread (docs, checking);
* :meth:`~ThreadSchema.grammar`: the grammar a local model decodes under (llguidance's Lark
  dialect, through ``hone.models._grammar``). The key order is fixed (thought, tooluse,
  subtasks, conclusion) and JSON is laid out as ``json.dumps`` writes it. ``tool_result`` is
  an ordinary JSON string in the grammar, but the model never writes it: the runtime stops
  the model right after the ``parameters`` value closes and writes
  ``, "tool_result": "<result>"}`` itself, feeding those tokens to the same grammar matcher,
  so decoding goes on under the grammar from exactly that state;
* :meth:`~ThreadSchema.instructions`: the system prompt that explains the protocol.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hone.errors import ConfigError
from hone.threads._tree import Task, Thread, ToolUse
from hone.tools import ToolRegistry

if TYPE_CHECKING:
    from hone.models._grammar import Grammar

__all__ = ["DEFAULT_MAX_DEPTH", "ThreadSchema", "ThreadTool"]

#: TIM's nesting depth: the reasoning task, its subtasks, and theirs.
DEFAULT_MAX_DEPTH = 3


@dataclass(frozen=True, slots=True)
class ThreadTool:
    """A tool as the protocol shows it: name, description, JSON schema of its parameters."""

    name: str
    description: str
    parameters: Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class ThreadSchema:
    """What a thread may contain.

    Args:
        tools: the tools a ``tooluse`` may call.
        max_depth: the deepest task level (the ``reasoning`` task is level 1); at this level
            a task may not have subtasks.

    Raises:
        ConfigError: ``max_depth`` below 1, or two tools with one name.
    """

    tools: tuple[ThreadTool, ...] = ()
    max_depth: int = DEFAULT_MAX_DEPTH

    def __post_init__(self) -> None:
        if self.max_depth < 1:
            raise ConfigError(f"max_depth must be at least 1, got {self.max_depth}")
        names = [t.name for t in self.tools]
        if len(set(names)) != len(names):
            raise ConfigError(f"tool names must be unique, got {names}")

    @classmethod
    def for_tools(
        cls, tools: ToolRegistry | Sequence[Any], *, max_depth: int = DEFAULT_MAX_DEPTH
    ) -> ThreadSchema:
        """The schema for hone tools (a :class:`~hone.tools.ToolRegistry`, tools, typed
        functions or LangChain tools)."""
        registry = ToolRegistry.coerce(tools)
        specs = [spec.get("function", spec) for spec in registry.specs()]
        return cls(
            tools=tuple(
                ThreadTool(
                    name=str(s["name"]),
                    description=str(s.get("description") or ""),
                    parameters=s.get("parameters") or {"type": "object"},
                )
                for s in specs
            ),
            max_depth=max_depth,
        )

    @property
    def tool_names(self) -> tuple[str, ...]:
        """The names a ``tooluse`` may call, in order."""
        return tuple(t.name for t in self.tools)

    def json_schema(self) -> dict[str, Any]:
        """The JSON schema of a finished thread (``$defs`` hold one task schema per level)."""
        defs: dict[str, Any] = {}
        for level in range(self.max_depth, 0, -1):
            properties: dict[str, Any] = {"thought": {"type": "string"}}
            if self.tools:
                properties["tooluse"] = {"anyOf": [_tooluse_schema(t) for t in self.tools]}
            if level < self.max_depth:
                properties["subtasks"] = {
                    "type": "array",
                    "items": {"$ref": f"#/$defs/task_{level + 1}"},
                }
            properties["conclusion"] = {"type": "string"}
            defs[f"task_{level}"] = {
                "type": "object",
                "properties": properties,
                "required": ["thought", "conclusion"],
                "additionalProperties": False,
            }
        return {
            "type": "object",
            "properties": {"reasoning": {"$ref": "#/$defs/task_1"}, "answer": {"type": "string"}},
            "required": ["reasoning", "answer"],
            "additionalProperties": False,
            "$defs": defs,
        }

    def grammar(self) -> Grammar:
        """The grammar of a thread in the canonical layout (see the module docstring)."""
        # Imported here: the grammar module needs torch, which the protocol alone does not.
        from hone.models._grammar import JSON_LAYOUT, Grammar

        rules = [
            'start: "{\\"reasoning\\": " task_1 ", \\"answer\\": " string "}"',
            f"string: %json {json.dumps({'type': 'string', 'x-guidance': JSON_LAYOUT})}",
        ]
        for level in range(1, self.max_depth + 1):
            parts = ['"{\\"thought\\": " string']
            if self.tools:
                parts.append('(", \\"tooluse\\": " tooluse)?')
            if level < self.max_depth:
                child = f"task_{level + 1}"
                parts.append(f'(", \\"subtasks\\": [" {child} (", " {child})* "]")?')
            parts.append('", \\"conclusion\\": " string "}"')
            rules.append(f"task_{level}: " + " ".join(parts))
        if self.tools:
            rules.append("tooluse: " + " | ".join(f"use_{i}" for i in range(len(self.tools))))
        for i, tool in enumerate(self.tools):
            name = json.dumps(json.dumps(tool.name, ensure_ascii=False), ensure_ascii=False)
            rules.append(
                f'use_{i}: "{{\\"tool_name\\": " {name} ", \\"parameters\\": " params_{i} '
                '", \\"tool_result\\": " string "}"'
            )
            schema = {**dict(tool.parameters), "x-guidance": JSON_LAYOUT}
            rules.append(f"params_{i}: %json {json.dumps(schema, ensure_ascii=False)}")
        return Grammar("\n".join(rules) + "\n")

    def instructions(self) -> str:
        """A system prompt that explains the protocol and lists the tools."""
        lines = [
            "Solve the task by writing one JSON object, a thread: "
            '{"reasoning": <task>, "answer": <string>}.',
            'A task is {"thought": <string>, "tooluse": <tool use>, "subtasks": [<task>, ...], '
            '"conclusion": <string>}, keys in that order; "tooluse" and "subtasks" are optional.',
            f"Tasks nest at most {self.max_depth} levels deep (the reasoning task is level 1).",
            'A tool use is {"tool_name": <name>, "parameters": <object>, "tool_result": ...}: '
            "write the name and parameters, then stop; the result is written for you.",
            "Finished subtasks are forgotten except their conclusions, so each conclusion "
            "must state everything later steps need.",
        ]
        if self.tools:
            lines.append("Tools:")
            for tool in self.tools:
                params = json.dumps(dict(tool.parameters), ensure_ascii=False)
                lines.append(f"- {tool.name}: {tool.description} Parameters: {params}")
        else:
            lines.append("No tools are available: do not write a tooluse.")
        example = Thread(
            reasoning=Task(
                thought="<what to do>",
                tooluse=ToolUse("<tool>", {"<name>": "<value>"}, "<result>")
                if self.tools
                else None,
                conclusion="<what was found>",
            ),
            answer="<answer>",
        )
        lines.append(f"Example: {example.to_text()}")
        return "\n".join(lines)


def _tooluse_schema(tool: ThreadTool) -> dict[str, Any]:
    return {
        "type": "object",
        "properties": {
            "tool_name": {"const": tool.name},
            "parameters": dict(tool.parameters),
            "tool_result": {"type": "string"},
        },
        "required": ["tool_name", "parameters", "tool_result"],
        "additionalProperties": False,
    }
