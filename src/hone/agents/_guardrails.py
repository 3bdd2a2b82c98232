"""``Guardrails``: the guardrails of an agent (or of every agent of a system), and
``AgentGuardrails``, the same bound to one agent, which applies them.

``create_react_agent(..., guardrails=...)`` binds them to the agent it builds: a
``guard_input`` node runs the input guardrails at the agent's entry and the model node waits
for it; the tool node screens every call of a turn before any runs (allow-list first), asks a
human about the calls that need approval (:func:`~hone.graph.prebuilt.with_review`), and
checks each result before the model reads it; the model node checks the answer before it
enters the state. ``create_handoff_agent`` does the same for the members of the multi-agent
patterns, so guardrails apply wherever control enters an agent, handoff targets included.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hone.agents._guard import (
    GuardrailCheck,
    GuardrailContext,
    GuardrailResult,
    GuardrailStage,
    InputGuardrail,
    OutputGuardrail,
    ToolInputGuardrail,
    ToolOutputGuardrail,
    as_check,
    run_checks,
)
from hone.errors import ConfigError
from hone.graph import END, Command
from hone.graph.prebuilt import ReviewedTool, ToolNode, with_review
from hone.interop import from_langchain, is_langchain_message, to_langchain
from hone.messages import AnyMessage, AssistantMessage, ToolCall, text_of, to_message
from hone.tools import ExecutionOptions, Tool, ToolLike, ToolRegistry, ToolResult

__all__ = ["AgentGuardrails", "Guardrails", "ToolNames"]

#: Tool names for every agent, or per role (``{role: names}``).
ToolNames = Collection[str] | Mapping[str, Collection[str]]


def _listed(value: Any, stage: GuardrailStage) -> tuple[GuardrailCheck, ...]:
    items = value if isinstance(value, Sequence) and not isinstance(value, str) else [value]
    return tuple(as_check(g, stage) for g in items)


def _names(value: Any, what: str) -> None:
    """Check a ``ToolNames`` value's shape."""
    groups = value.values() if isinstance(value, Mapping) else [value]
    for names in groups:
        if isinstance(names, str) or not all(isinstance(n, str) for n in names):
            raise ConfigError(
                f"{what} must be tool names (a list of strings, or {{role: [names]}}), "
                f"got {value!r}"
            )


@dataclass(frozen=True, eq=False)
class Guardrails:
    """The guardrails of an agent, or of every agent of a multi-agent system.

    Each stage takes a list of guardrails (functions, sync or async, or objects with ``name``
    and ``check``; see :class:`~hone.agents.GuardrailResult` for what they decide). Give them
    to ``create_react_agent(..., guardrails=...)``; a pattern gives them to each agent it
    builds, handoff targets included.

    Attributes:
        input: checked at the agent's entry, before its model is called: ``(messages)`` or
            ``(messages, context)``. Blocking: the model waits for them.
        output: checked on the agent's answer: ``(reply[, context])``.
        tool_input: checked on each tool call, before any call of the turn runs:
            ``(call[, context])``.
        tool_output: checked on each tool's result text before the model reads it:
            ``(call, output[, context])`` (e.g. :class:`~hone.agents.InjectionGuardrail`).
        allowed_tools: the tools the agent may call (the others are not offered, and calls
            to them are refused with a message the model reads), for every agent or per role
            (``{role: names}``; an agent's key is its role, else its name). None: all.
        require_approval: tools whose calls a human approves first (an ``interrupt``, as
            :func:`~hone.graph.prebuilt.with_review`), for every agent or per role.

    Raises:
        ConfigError: a guardrail with the wrong signature or no usable name, or tool names
            that are not a list of strings.
    """

    input: Sequence[InputGuardrail | Callable[..., Any]] = ()
    output: Sequence[OutputGuardrail | Callable[..., Any]] = ()
    tool_input: Sequence[ToolInputGuardrail | Callable[..., Any]] = ()
    tool_output: Sequence[ToolOutputGuardrail | Callable[..., Any]] = ()
    allowed_tools: ToolNames | None = None
    require_approval: ToolNames = ()
    _checks: dict[str, tuple[GuardrailCheck, ...]] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        checks = {
            "input": _listed(self.input, "input"),
            "output": _listed(self.output, "output"),
            "tool_input": _listed(self.tool_input, "tool_input"),
            "tool_output": _listed(self.tool_output, "tool_output"),
        }
        object.__setattr__(self, "_checks", checks)
        if self.allowed_tools is not None:
            _names(self.allowed_tools, "allowed_tools")
        _names(self.require_approval, "require_approval")

    def checks(self, stage: GuardrailStage) -> tuple[GuardrailCheck, ...]:
        """The guardrails of ``stage``, ready to run, in order."""
        return self._checks[stage]

    def bind(self, *, agent: str, role: str | None = None) -> AgentGuardrails:
        """These guardrails for the agent named ``agent`` (with ``role``).

        Raises:
            ConfigError: ``allowed_tools`` is per role and has no entry for the agent.
        """
        return AgentGuardrails(self, agent=agent, role=role)


def _for_agent(value: ToolNames | None, key: str, what: str) -> frozenset[str] | None:
    if value is None:
        return None
    if not isinstance(value, Mapping):
        return frozenset(value)
    if key not in value:
        if what == "require_approval":
            return frozenset()
        raise ConfigError(
            f"{what} is given per role ({', '.join(sorted(value))}) but has no entry for "
            f"{key!r}; add {key!r}: [tool names]"
        )
    return frozenset(value[key])


class AgentGuardrails:
    """:class:`Guardrails` bound to one agent: the methods a graph calls to apply them.

    It is the :class:`~hone.tools.ToolGuard` of the agent's tool node (``screen``,
    ``check_result``); ``input_node`` is the agent's entry node; ``check_reply`` checks its
    answer. Make one with :meth:`Guardrails.bind`.
    """

    def __init__(self, guardrails: Guardrails, *, agent: str, role: str | None = None) -> None:
        if not agent:
            raise ConfigError("guardrails are bound to an agent by its name; give a name")
        self.guardrails = guardrails
        self.agent = agent
        self.role = role
        key = role if role is not None else agent
        self.allowed = _for_agent(guardrails.allowed_tools, key, "allowed_tools")
        self.approval = _for_agent(guardrails.require_approval, key, "require_approval") or (
            frozenset()
        )
        allow_list = () if self.allowed is None else (self._allow_list_check(),)
        self._tool_input = (*allow_list, *guardrails.checks("tool_input"))

    def __repr__(self) -> str:
        return f"AgentGuardrails(agent={self.agent!r}, role={self.role!r})"

    @property
    def checks_input(self) -> bool:
        """Whether the agent has input guardrails (an entry node to add)."""
        return bool(self.guardrails.checks("input"))

    @property
    def checks_tools(self) -> bool:
        """Whether tool calls or results are checked (the tool node needs the guard)."""
        return bool(self._tool_input or self.guardrails.checks("tool_output"))

    def context(
        self, stage: GuardrailStage, *, state: Any = None, deps: Any = None
    ) -> GuardrailContext:
        """The context the agent's guardrails of ``stage`` receive."""
        return GuardrailContext(self.agent, stage, self.role, state, deps)

    # -- the agent's entry and answer --------------------------------------------------

    async def check_input(self, messages: Sequence[Any], state: Any = None) -> str | None:
        """Run the input guardrails on ``messages`` (either family): None when the agent may
        go on, else the answer it gives instead (its model is not called).

        Raises:
            GuardrailTripwireError: a guardrail decided to stop the run.
            GuardrailError: a guardrail failed.
        """
        checks = self.guardrails.checks("input")
        if not checks:
            return None
        conversation = [_hone(m) for m in messages]
        context = self.context("input", state=state)
        verdict = await run_checks(checks, context, _fixed(conversation))
        return verdict.text if verdict.action == "reject" else None

    async def check_reply(self, reply: AssistantMessage, state: Any = None) -> AssistantMessage:
        """Run the output guardrails on the agent's answer: the reply that enters the state
        (``reply``, rewritten, or the rejection text in its place, with ``reply``'s id).

        Raises:
            GuardrailTripwireError: a guardrail decided to stop the run.
            GuardrailError: a guardrail failed.
        """
        checks = self.guardrails.checks("output")
        if not checks:
            return reply

        def args(text: str | None) -> tuple[Any, ...]:
            same = text is None or text == reply.text
            return (reply if same else reply.model_copy(update={"content": text}),)

        context = self.context("output", state=state)
        verdict = await run_checks(checks, context, args, text=reply.text)
        if verdict.action == "allow":
            return reply
        if verdict.action == "rewrite":
            return reply.model_copy(update={"content": verdict.text or ""})
        return AssistantMessage(id=reply.id, content=verdict.text or "")

    def input_node(
        self, goto: str, *, messages_key: str = "messages"
    ) -> Callable[[Any], Awaitable[Command[Any]]]:
        """A graph node running the input guardrails: it goes to ``goto`` when the input
        passes, else it answers with the rejection (in the conversation's family) and goes
        to END. Add it with ``destinations=(goto, END)``."""

        async def guard_input(state: Any) -> Command[Any]:
            messages = _messages(state, messages_key)
            refusal = await self.check_input(messages, state)
            if refusal is None:
                return Command(goto=goto)
            answer: Any = AssistantMessage(content=refusal)
            if messages and is_langchain_message(messages[-1]):
                answer = to_langchain(answer)
            return Command(goto=END, update={messages_key: [answer]})

        return guard_input

    # -- tools ----------------------------------------------------------------------------

    def offered(self, tools: ToolRegistry) -> list[dict[str, Any]]:
        """The specs of the tools the agent may call (all, without an allow-list)."""
        if self.allowed is None:
            return tools.specs()
        return [t.spec() for t in tools if t.name in self.allowed]

    def tool_node(self, tools: ToolRegistry | Sequence[ToolLike] | ToolNode) -> ToolNode:
        """The agent's tool node with these guardrails: the calls needing approval go
        through :func:`~hone.graph.prebuilt.with_review`, and the node's guard is this.

        Raises:
            ConfigError: ``allowed_tools`` or ``require_approval`` names a tool the agent does
                not have, or the given node already has another guard.
        """
        base = tools if isinstance(tools, ToolNode) else ToolNode(tools)
        if base.options.guard is not None and base.options.guard is not self:
            raise ConfigError(
                f"the tool node of agent {self.agent!r} already has a guard; give guardrails "
                "in one place (to the agent, or to the ToolNode's options)"
            )
        names = set(base.tools.names())
        for what, wanted in (("allowed_tools", self.allowed), ("require_approval", self.approval)):
            missing = sorted(set(wanted or ()) - names)
            if missing:
                raise ConfigError(
                    f"{what} for agent {self.agent!r} names tools it does not have: {missing}; "
                    f"its tools are {sorted(names)}"
                )
        reviewed = [self._reviewed(t) for t in base.tools]
        guard = self if self.checks_tools else None
        return ToolNode(
            reviewed,
            name=base.name,
            messages_key=base.messages_key,
            handle_tool_errors=base.handle_tool_errors,
            wrap_tool_call=base.wrap_tool_call,
            awrap_tool_call=base.awrap_tool_call,
            options=dataclasses.replace(base.options, guard=guard),
            deps=base.deps,
        )

    def execution(self, options: ExecutionOptions | None = None) -> ExecutionOptions:
        """``options`` with this as the guard, for ``aexecute_tool_calls`` outside a graph."""
        return dataclasses.replace(options or ExecutionOptions(), guard=self)

    async def screen(
        self, calls: Sequence[ToolCall], *, state: Any, deps: Any
    ) -> dict[str, ToolResult]:
        """Run the tool-input guardrails (allow-list first) on each call of a turn, before
        any runs: the refused calls, each with the result the model reads instead.

        Raises:
            GuardrailTripwireError: a guardrail decided to stop the run; no call has run.
            GuardrailError: a guardrail failed.
        """
        refused: dict[str, ToolResult] = {}
        if not self._tool_input:
            return refused
        context = self.context("tool_input", state=state, deps=deps)
        for call in calls:
            verdict = await run_checks(self._tool_input, context, _fixed(call), call=call)
            if verdict.action == "reject":
                refused[call.id] = ToolResult(
                    call_id=call.id,
                    tool_name=call.name,
                    content=verdict.text or "",
                    error="guardrail",
                )
        return refused

    async def check_result(
        self, call: ToolCall, result: ToolResult, *, state: Any, deps: Any
    ) -> ToolResult:
        """Run the tool-output guardrails on the text of a result the tool produced (not on
        the executor's own errors, nor on a ``Command`` a handoff returns).

        Raises:
            GuardrailTripwireError: a guardrail decided to stop the run.
            GuardrailError: a guardrail failed.
        """
        checks = self.guardrails.checks("tool_output")
        if not checks or result.attempts == 0 or isinstance(result.value, Command):
            return result
        context = self.context("tool_output", state=state, deps=deps)
        text = text_of(result.content)
        verdict = await run_checks(checks, context, lambda t: (call, t), text=text, call=call)
        if verdict.action == "allow":
            return result
        # value=None: the model reads this text, never the tool's own message object.
        error = "guardrail" if verdict.action == "reject" else result.error
        content = verdict.text or ""
        return dataclasses.replace(result, content=content, value=None, error=error)

    def _allow_list_check(self) -> GuardrailCheck:
        allowed = self.allowed or frozenset()
        who = f"role {self.role!r}" if self.role is not None else f"agent {self.agent!r}"
        listed = ", ".join(sorted(allowed)) or "none"

        async def allowed_tools(call: ToolCall) -> GuardrailResult:
            if call.name in allowed:
                return GuardrailResult.allow()
            return GuardrailResult.reject(
                f"Tool {call.name!r} is not allowed for {who}; it did not run. "
                f"Allowed tools: {listed}."
            )

        return GuardrailCheck("allowed_tools", "tool_input", allowed_tools, takes_context=False)

    def _reviewed(self, tool: Tool) -> Tool:
        if tool.name in self.approval and not isinstance(tool, ReviewedTool):
            return with_review(tool)
        return tool


def _fixed(*args: Any) -> Callable[[str | None], tuple[Any, ...]]:
    """Guardrail arguments that no rewrite changes (the stages that cannot rewrite)."""
    return lambda _: args


def _hone(message: Any) -> AnyMessage:
    return from_langchain(message) if is_langchain_message(message) else to_message(message)


def _messages(state: Any, key: str) -> list[Any]:
    found = state.get(key) if isinstance(state, Mapping) else getattr(state, key, None)
    if found is None:
        raise ConfigError(
            f"the state has no {key!r} key with messages; the input guardrails read the "
            "conversation there"
        )
    return list(found)
