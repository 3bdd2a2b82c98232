"""Handoffs: tools that pass control to another agent, and what one turn's calls of them mean.

A handoff tool (:func:`create_handoff_tool`, named ``transfer_to_<agent>``) is offered to the
model like any tool, but the agents of :mod:`hone.agents` never *run* it: they read the turn's
calls with :func:`plan_turn`, which fixes the semantics every pattern shares:

* the turn's ordinary tool calls run, and every call of the turn gets a result message;
* the first valid handoff call wins (a known target, arguments that pass its schema);
* every later handoff call of the turn gets an error result saying it did not run;
* a call named like a handoff (``transfer_to_...``) to an agent this agent cannot hand off to
  gets an error result naming the agents it can transfer to, and the model tries again
  within its step budget; so does a handoff whose arguments fail validation.

The pure functions here decide; the agent nodes (``create_handoff_agent``) apply their decisions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from pydantic import BaseModel, ValidationError

from hone.errors import ConfigError, ToolArgumentsError
from hone.messages import AnyMessage, AssistantMessage, ToolCall, ToolMessage
from hone.tools import Tool

__all__ = [
    "HANDOFF_PREFIX",
    "Handoff",
    "HandoffTool",
    "InputFilter",
    "TaskArgument",
    "TurnPlan",
    "create_handoff_tool",
    "handoff_tool_name",
    "keep_last",
    "plan_turn",
    "remove_tool_messages",
    "strip_handoffs",
    "transfer_message",
]

#: The prefix of handoff tool names (LangGraph's): ``transfer_to_<agent>``.
HANDOFF_PREFIX = "transfer_to_"

#: What the agent receiving control sees of the conversation: a function of the history (hone
#: messages) returning the messages to give it. The stored history is not changed.
InputFilter: TypeAlias = Callable[[list[AnyMessage]], list[AnyMessage]]

#: A handoff's task argument: False (none), True (a required ``task`` string) or a pydantic
#: model whose fields are the arguments (a typed task).
TaskArgument: TypeAlias = bool | type[BaseModel]

_WHITESPACE = re.compile(r"\s+")
_TASK_DESCRIPTION = (
    "What {agent} should do, with everything it needs to know: it may not see the rest of "
    "the conversation."
)


def handoff_tool_name(agent_name: str) -> str:
    """The default name of the tool that hands off to ``agent_name``: ``transfer_to_`` and
    the name in lower case, with runs of whitespace as ``_``."""
    return HANDOFF_PREFIX + _WHITESPACE.sub("_", agent_name.strip()).lower()


@dataclass(frozen=True, slots=True)
class Handoff:
    """A handoff that happened: who passed control to whom, with which call and task.

    Attributes:
        source: the agent that handed off.
        target: the agent that receives control.
        tool_name: the handoff tool called.
        tool_call_id: the id of that call (its result message answers it).
        task: the task the caller gave (a typed task as JSON), or None.
        arguments: the call's validated arguments.
    """

    source: str
    target: str
    tool_name: str
    tool_call_id: str
    task: str | None = None
    arguments: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class HandoffTool(Tool):
    """A :class:`~hone.tools.Tool` that hands control to another agent (made by
    :func:`create_handoff_tool`). Agents of :mod:`hone.agents` resolve its calls themselves
    (:func:`plan_turn`); run as an ordinary tool it raises :class:`~hone.errors.ConfigError`.
    """

    #: The agent that receives control.
    agent_name: str = ""
    #: What that agent sees of the conversation when it receives control (None: all of it).
    input_filter: InputFilter | None = field(default=None, repr=False)
    #: The model of a typed task, when the task is typed.
    task_model: type[BaseModel] | None = None
    #: Whether the call carries a task (a ``task`` string or a typed task).
    has_task: bool = False

    def handoff(self, call: ToolCall, source: str) -> Handoff:
        """The handoff a valid call of this tool makes.

        Raises:
            ToolArgumentsError: the call's arguments fail the tool's schema.
        """
        if call.error is not None:
            raise ToolArgumentsError(self.name, [call.error])
        values = self.validate(call.arguments)
        task: str | None = None
        if self.task_model is not None:
            task = json.dumps(values, ensure_ascii=False)
        elif self.has_task:
            task = str(values["task"])
        return Handoff(source, self.agent_name, self.name, call.id, task, dict(values))


def _text_task(agent_name: str) -> dict[str, Any]:
    description = _TASK_DESCRIPTION.format(agent=agent_name)
    return {
        "type": "object",
        "properties": {"task": {"type": "string", "description": description}},
        "required": ["task"],
        "additionalProperties": False,
    }


def _validator(
    task: TaskArgument, agent_name: str
) -> tuple[dict[str, Any], Callable[[str, Mapping[str, Any]], dict[str, Any]]]:
    """The parameters schema and argument validator of a handoff with this task argument."""
    if isinstance(task, type) and issubclass(task, BaseModel):
        model = task

        def typed(tool_name: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
            try:
                return model.model_validate(dict(arguments)).model_dump(mode="json")
            except ValidationError as exc:
                problems = [
                    f"{'.'.join(str(p) for p in e['loc']) or '(arguments)'}: {e['msg']}"
                    for e in exc.errors()
                ]
                raise ToolArgumentsError(tool_name, problems) from exc

        return model.model_json_schema(), typed
    schema = _text_task(agent_name) if task else {"type": "object", "properties": {}}

    def plain(tool_name: str, arguments: Mapping[str, Any]) -> dict[str, Any]:
        given = dict(arguments)
        if not task:
            return {}  # extra arguments are ignored: the handoff needs none
        value = given.get("task")
        if not isinstance(value, str) or not value.strip():
            raise ToolArgumentsError(tool_name, ["task: a non-empty string is required"])
        return {"task": value}

    return schema, plain


def create_handoff_tool(
    *,
    agent_name: str,
    name: str | None = None,
    description: str | None = None,
    task: TaskArgument = False,
    input_filter: InputFilter | None = None,
) -> HandoffTool:
    """A tool that hands control to the agent ``agent_name`` (LangGraph's
    ``create_handoff_tool``, with an optional typed task and an input filter).

    Args:
        agent_name: the agent that receives control (its node name in the pattern).
        name: the tool's name (default ``transfer_to_<agent_name>``, see
            :func:`handoff_tool_name`).
        description: what the model reads (default "Ask agent '<agent_name>' for help").
        task: False: no arguments; True: a required ``task`` string the receiver gets; a
            pydantic model: typed task arguments, validated, given to the receiver as JSON.
        input_filter: what the receiver sees of the conversation (see :data:`InputFilter`,
            :func:`remove_tool_messages`, :func:`keep_last`); None: all of it.

    Raises:
        ConfigError: an empty agent name.
        ToolDefinitionError: a tool name the model APIs do not accept.
    """
    if not isinstance(agent_name, str) or not agent_name.strip():
        raise ConfigError("create_handoff_tool() needs agent_name: the agent to hand off to")
    tool_name = name or handoff_tool_name(agent_name)
    parameters, validate = _validator(task, agent_name)

    def run(**_: Any) -> Any:
        raise ConfigError(
            f"handoff tool {tool_name!r} ran as an ordinary tool; handoffs are resolved by the "
            "agents of hone.agents (create_handoff_agent, create_swarm, create_supervisor): give the "
            "tool to one of those"
        )

    model = task if isinstance(task, type) else None
    return HandoffTool(
        name=tool_name,
        description=description or f"Ask agent '{agent_name}' for help",
        parameters=parameters,
        fn=run,
        validator=validate,
        agent_name=agent_name,
        input_filter=input_filter,
        task_model=model,
        has_task=model is not None or task is True,
    )


@dataclass(frozen=True, slots=True)
class TurnPlan:
    """What one model turn's tool calls mean (see the module docs).

    Attributes:
        run: the ordinary calls to run, in call order.
        handoff: the handoff that wins, or None.
        answers: result messages of the handoff calls (and calls named like one), by call id.
        rejected: how many handoff calls were refused (extra, unknown, or invalid).
    """

    run: tuple[ToolCall, ...]
    handoff: Handoff | None
    answers: dict[str, ToolMessage]
    rejected: int


def transfer_message(handoff: Handoff) -> ToolMessage:
    """The result of the winning handoff call."""
    content = f"Transferred to {handoff.target}."
    if handoff.task:
        content += f"\nTask: {handoff.task}"
    return ToolMessage(content=content, tool_call_id=handoff.tool_call_id, name=handoff.tool_name)


def _refusal(call: ToolCall, content: str) -> ToolMessage:
    return ToolMessage(content=content, tool_call_id=call.id, name=call.name, is_error=True)


def _options(handoffs: Sequence[HandoffTool]) -> str:
    if not handoffs:
        return "You cannot transfer to other agents: answer yourself."
    listed = ", ".join(f"{h.agent_name} ({h.name})" for h in handoffs)
    return f"You can transfer to: {listed}."


def plan_turn(
    calls: Sequence[ToolCall],
    *,
    source: str,
    handoffs: Sequence[HandoffTool],
    tool_names: Collection[str],
) -> TurnPlan:
    """Split a turn's calls into ordinary calls to run and handoffs (see the module docs).

    Args:
        calls: the turn's tool calls, in order.
        source: the agent whose turn it is.
        handoffs: its handoff tools.
        tool_names: its ordinary tools' names (a ``transfer_to_...`` call that names one of
            them is ordinary).
    """
    by_name = {h.name: h for h in handoffs}
    run: list[ToolCall] = []
    answers: dict[str, ToolMessage] = {}
    winner: Handoff | None = None
    rejected = 0
    for call in calls:
        tool = by_name.get(call.name)
        if tool is None:
            if call.name.startswith(HANDOFF_PREFIX) and call.name not in tool_names:
                wanted = call.name[len(HANDOFF_PREFIX) :]
                answers[call.id] = _refusal(
                    call, f"Not transferred: there is no agent {wanted!r}. {_options(handoffs)}"
                )
                rejected += 1
            else:
                run.append(call)
            continue
        if winner is not None:
            answers[call.id] = _refusal(
                call,
                f"Not transferred: this turn already transferred to {winner.target} "
                f"({winner.tool_name}); only the first transfer of a turn runs.",
            )
            rejected += 1
            continue
        try:
            winner = tool.handoff(call, source)
        except ToolArgumentsError as exc:
            problems = "; ".join(exc.problems)
            answers[call.id] = _refusal(call, f"Not transferred: invalid arguments: {problems}")
            rejected += 1
            continue
        answers[call.id] = transfer_message(winner)
    return TurnPlan(tuple(run), winner, answers, rejected)


def _without_calls(message: AssistantMessage, drop: Collection[str]) -> AssistantMessage | None:
    kept = tuple(c for c in message.tool_calls if c.id not in drop)
    if len(kept) == len(message.tool_calls):
        return message
    if not kept and not message.text.strip():
        return None
    return message.model_copy(update={"tool_calls": kept})


def _drop_calls(messages: Sequence[AnyMessage], drop: Collection[str]) -> list[AnyMessage]:
    out: list[AnyMessage] = []
    for message in messages:
        if isinstance(message, ToolMessage) and message.tool_call_id in drop:
            continue
        if isinstance(message, AssistantMessage):
            kept = _without_calls(message, drop)
            if kept is not None:
                out.append(kept)
            continue
        out.append(message)
    return out


def strip_handoffs(messages: Sequence[AnyMessage], tool_names: Collection[str]) -> list[AnyMessage]:
    """``messages`` without the handoff calls named in ``tool_names`` (and ``transfer_to_``
    calls) and their results; a reply left with no text and no calls is dropped. This is how
    patterns run with handoff messages off."""
    drop = {
        call.id
        for message in messages
        if isinstance(message, AssistantMessage)
        for call in message.tool_calls
        if call.name in tool_names or call.name.startswith(HANDOFF_PREFIX)
    }
    return _drop_calls(messages, drop) if drop else list(messages)


def remove_tool_messages(messages: list[AnyMessage]) -> list[AnyMessage]:
    """An input filter: the conversation without tool calls and tool results (OpenAI's
    ``remove_all_tools``); replies that only called tools are dropped."""
    drop = {
        call.id
        for message in messages
        if isinstance(message, AssistantMessage)
        for call in message.tool_calls
    }
    drop |= {m.tool_call_id for m in messages if isinstance(m, ToolMessage)}
    return _drop_calls(messages, drop)


def keep_last(n: int) -> InputFilter:
    """An input filter keeping the last ``n`` messages, reaching back as far as needed to
    keep every tool result with the reply that called it, and the leading system message.

    Raises:
        ConfigError: ``n`` < 1.
    """
    if n < 1:
        raise ConfigError(f"keep_last(n) needs n >= 1, got {n}")

    def keep(messages: list[AnyMessage]) -> list[AnyMessage]:
        start = max(len(messages) - n, 0)
        while start > 0 and isinstance(messages[start], ToolMessage):
            start -= 1
        head = [m for m in messages[:start][:1] if m.role == "system"]
        return [*head, *messages[start:]]

    return keep
