"""``create_handoff_agent``: a named tool-using agent that can hand off, the member every multi-agent
pattern of :mod:`hone.agents` is built from.

It is ``create_react_agent``'s loop (node ``agent`` makes one :class:`~hone.agent.AgentStep`,
node ``tools`` runs the calls with a :class:`~hone.graph.prebuilt.ToolNode`) with three
differences a team needs:

* its handoff tools (:func:`~hone.agents.create_handoff_tool`) are resolved with the
  semantics of :func:`~hone.agents._handoff.plan_turn`, and a handoff ends the agent's run
  with the :class:`~hone.agents.Handoff` in its state (``run.handoff``) for the pattern to
  route on;
* its step budget is ``options.max_steps`` model calls, then the final-answer turn (tools
  withheld), as ``run_agent``'s;
* its replies carry its name, and its model is the run's model for its role
  (``get_model(name, default=model)``), so a rollout records its calls as its role.

**Guardrails** (:class:`~hone.agents.Guardrails`, as ``create_react_agent`` takes them): node
``guard_input`` checks the conversation when control enters the agent, before its model is
called (a handoff target's included); its tool node screens every ordinary call before any
runs and checks each result; its answer is checked before it enters the state. Handoff calls
are not tools that run: the receiving agent's input guardrails are their check.
"""

from __future__ import annotations

import dataclasses
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NotRequired

from hone.agent._loop import AgentOptions
from hone.agent._scope import StopReason, get_model, report_stop
from hone.agent._step import AgentStep
from hone.agents._handoff import Handoff, HandoffTool, plan_turn
from hone.agents._handoff_messages import as_hone, in_family, is_langchain_conversation, named
from hone.agents._roles import role_metadata
from hone.errors import ConfigError
from hone.graph._builder import StateGraph
from hone.graph._messages import MessagesState
from hone.graph._model_stream import astream_model
from hone.graph._types import END, START, Command
from hone.graph.prebuilt._tool_node import ToolNode, pattern_tools
from hone.interop import resolve_model
from hone.messages import AnyMessage, AssistantMessage, SystemMessage, ToolCall, ToolMessage
from hone.models._protocol import ModelBackend
from hone.observability._agents import trace_handoffs
from hone.tools import ToolLike, ToolRegistry

if TYPE_CHECKING:
    from hone.agents._guardrails import AgentGuardrails, Guardrails
    from hone.checkpoint import Checkpointer
    from hone.graph._compiled import CompiledGraph
    from hone.interop._model import ModelLike

__all__ = [
    "AgentCard",
    "AgentRun",
    "HandoffAgentState",
    "card_of",
    "check_agent_name",
    "create_handoff_agent",
]


@dataclass(frozen=True, slots=True)
class AgentRun:
    """What an agent did in its current (or last) run: from the first model call of an
    ``invoke`` until it answered or handed off. A run resumed after an interrupt continues.

    Attributes:
        steps: model calls (the final-answer turn included).
        tokens: prompt and completion tokens of those calls.
        tool_calls: ordinary tool calls run.
        tool_errors: those whose result was an error.
        rejected_handoffs: handoff calls refused (extra, unknown target, invalid arguments).
        handoff: the handoff that ended the run, if one did.
        stop: why the run ended otherwise (``answered``, ``truncated``, ``stop_tool``,
            ``step_budget``).
    """

    steps: int = 0
    tokens: int = 0
    tool_calls: int = 0
    tool_errors: int = 0
    rejected_handoffs: int = 0
    handoff: Handoff | None = None
    stop: StopReason | None = None

    @property
    def finished(self) -> bool:
        """Whether the run has ended (the next ``invoke`` starts a new one)."""
        return self.handoff is not None or self.stop is not None

    @property
    def tool_successes(self) -> int:
        """Tool calls that succeeded."""
        return self.tool_calls - self.tool_errors

    @staticmethod
    def current(stored: AgentRun | None) -> AgentRun:
        """The run to continue: ``stored``, or a new one when it has finished."""
        return AgentRun() if stored is None or stored.finished else stored


class HandoffAgentState(MessagesState):
    """The state of a :func:`create_handoff_agent` agent: the conversation, and its ``run``."""

    run: NotRequired[AgentRun]


@dataclass(frozen=True, slots=True)
class AgentCard:
    """What a pattern needs to know of an agent built by :func:`create_handoff_agent`.

    Attributes:
        name: its name (and role).
        model: the model it was built with (None: the run gives it).
        prompt: its system prompt.
        step: its agent step (tool schemas, sampling, final answer).
        handoffs: its handoff tools.
    """

    name: str
    model: ModelBackend | None
    prompt: str | None
    step: AgentStep
    handoffs: tuple[HandoffTool, ...]

    def conversation(self, messages: list[AnyMessage]) -> list[AnyMessage]:
        """What the agent's model reads: its prompt, then ``messages``."""
        return _with_prompt(self.prompt, messages)

    def backend(self) -> ModelBackend:
        """The model this agent calls in this run (the run's for its role, else its own)."""
        return get_model(self.name, default=self.model)


# Keyed by the builder: copies of a compiled graph (``with_config``) share it.
_CARDS: weakref.WeakKeyDictionary[Any, AgentCard] = weakref.WeakKeyDictionary()


def card_of(graph: Any) -> AgentCard | None:
    """The card of an agent built by :func:`create_handoff_agent`, else None."""
    builder = getattr(graph, "builder", None)
    return None if builder is None else _CARDS.get(builder)


def check_agent_name(name: Any, what: str) -> str:
    """``name`` when it can name an agent (a graph node and a role).

    Raises:
        ConfigError: not a non-empty string, or one with ``:``, ``|`` or a leading ``__``.
    """
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"{what} needs a name; got {name!r}")
    if ":" in name or "|" in name or name.startswith("__"):
        raise ConfigError(
            f"{what}: the name {name!r} cannot name a graph node (no ':', '|' or leading '__')"
        )
    return name


def _split_tools(
    tools: ToolRegistry | Sequence[ToolLike] | ToolNode, name: str
) -> tuple[ToolNode, tuple[HandoffTool, ...]]:
    if isinstance(tools, ToolNode):
        inside = [t.name for t in tools.tools if isinstance(t, HandoffTool)]
        if inside:
            raise ConfigError(
                f"agent {name!r}: handoff tools {inside} are inside a ToolNode; pass them in "
                "the tools list so the agent resolves them"
            )
        return tools, ()
    items: list[ToolLike] = list(tools)
    handoffs = tuple(t for t in items if isinstance(t, HandoffTool))
    return pattern_tools([t for t in items if not isinstance(t, HandoffTool)]), handoffs


def _with_prompt(prompt: str | None, messages: list[AnyMessage]) -> list[AnyMessage]:
    """The agent's prompt first; a conversation that starts with a system message of its own
    keeps it, after the agent's prompt (one system message: chat templates want one)."""
    if prompt is None:
        return messages
    if messages and isinstance(messages[0], SystemMessage):
        merged = f"{prompt}\n\n{messages[0].text}"
        return [SystemMessage(content=merged), *messages[1:]]
    return [SystemMessage(content=prompt), *messages]


def _named_result(message: Any, calls: Sequence[ToolCall]) -> Any:
    """A hone tool result named after its tool (LangChain's come named)."""
    if isinstance(message, ToolMessage) and message.name is None:
        name = next((c.name for c in calls if c.id == message.tool_call_id), None)
        return message.model_copy(update={"name": name})
    return message


def _errors(messages: Sequence[Any]) -> int:
    return sum(1 for m in as_hone(messages) if isinstance(m, ToolMessage) and m.is_error)


class _Agent:
    """The two nodes of an agent (the model turn and the tool calls) and their routes."""

    def __init__(
        self,
        card: AgentCard,
        tool_node: ToolNode,
        options: AgentOptions,
        guard: AgentGuardrails | None,
    ) -> None:
        self.card = card
        self.tool_node = tool_node
        self.options = options
        self.guard = guard
        self.tool_names = frozenset(tool_node.tools.names())

    async def guard_input(self, state: HandoffAgentState) -> Command[Any]:
        """The input guardrails, before the model is called: a refusal is the answer."""
        conversation = list(state["messages"])
        refusal = None if self.guard is None else await self.guard.check_input(conversation, state)
        if refusal is None:
            return Command(goto="agent")
        answer = AssistantMessage(content=refusal, name=self.card.name)
        langchain = is_langchain_conversation(conversation)
        update = {"messages": in_family([answer], langchain), "run": AgentRun(stop="answered")}
        return Command(goto=END, update=update)

    async def model_turn(self, state: HandoffAgentState) -> dict[str, Any]:
        run = AgentRun.current(state.get("run"))
        conversation = list(state["messages"])
        final = self.options.final_answer is not None and run.steps >= self.options.max_steps
        turn = await self.card.step.arun(
            self.card.backend(),
            self.card.conversation(as_hone(conversation)),
            final=final,
            complete=astream_model,
        )
        if self.guard is not None and turn.stop is not None:  # its answer
            reply = turn.reply
            checked = await self.guard.check_reply(reply, state)
            if checked is not reply:
                replaced = tuple(checked if m is reply else m for m in turn.messages)
                turn = dataclasses.replace(turn, messages=replaced)
        usage = turn.completion.usage
        run = dataclasses.replace(
            run,
            steps=run.steps + 1,
            tokens=run.tokens + usage.prompt_tokens + usage.completion_tokens,
            stop=turn.stop,
        )
        messages = [named(m, self.card.name) for m in turn.messages]
        langchain = is_langchain_conversation(conversation)
        return {"messages": in_family(messages, langchain), "run": run}

    async def tool_turn(self, state: HandoffAgentState) -> Any:
        run = AgentRun.current(state.get("run"))
        conversation = list(state["messages"])
        langchain = is_langchain_conversation(conversation)
        last = as_hone(conversation[-1:])[0]
        if not isinstance(last, AssistantMessage) or not last.tool_calls:
            return {"messages": []}
        plan = plan_turn(
            last.tool_calls,
            source=self.card.name,
            handoffs=self.card.handoffs,
            tool_names=self.tool_names,
        )
        trace_handoffs(plan)  # each handoff call as a span (hone.observability)
        results: dict[str, Any] = {
            call_id: in_family([m], langchain)[0] for call_id, m in plan.answers.items()
        }
        commands: list[Command[Any]] = []
        if plan.run:
            trimmed = last.model_copy(update={"tool_calls": plan.run})
            view = [*conversation[:-1], *in_family([trimmed], langchain)]
            out = await self.tool_node({**state, "messages": view})
            for part in out if isinstance(out, list) else [out]:
                if isinstance(part, Command):
                    commands.append(part)
                elif isinstance(part, Mapping):
                    for message in part.get("messages", ()):
                        results[message.tool_call_id] = _named_result(message, plan.run)
        ordered = [results[c.id] for c in last.tool_calls if c.id in results]
        ran = [results[c.id] for c in plan.run if c.id in results]
        stop = None if plan.handoff is not None else self._stop(run, plan.run)
        run = dataclasses.replace(
            run,
            tool_calls=run.tool_calls + len(plan.run),
            tool_errors=run.tool_errors + _errors(ran),
            rejected_handoffs=run.rejected_handoffs + plan.rejected,
            handoff=plan.handoff,
            stop=stop,
        )
        update = {"messages": ordered, "run": run}
        return [update, *commands] if commands else update

    def _stop(self, run: AgentRun, ran: Sequence[Any]) -> StopReason | None:
        """Why the run ends after this tool round, if it does (a stop tool, or the steps ran
        out with no final-answer turn)."""
        reason: StopReason | None = None
        if any(call.name in self.options.stop_tools for call in ran):
            reason = "stop_tool"
        elif self.options.final_answer is None and run.steps >= self.options.max_steps:
            reason = "step_budget"
        if reason is not None:
            report_stop(reason, self.card.backend())
        return reason

    @staticmethod
    def after_model(state: HandoffAgentState) -> str:
        run = state.get("run")
        if run is not None and run.finished:
            return END
        last = as_hone(list(state["messages"])[-1:])[0]
        if isinstance(last, AssistantMessage) and last.tool_calls:
            return "tools"
        return "agent"  # the reply's tool calls could not be parsed: the model tries again

    @staticmethod
    def after_tools(state: HandoffAgentState) -> str:
        run = state.get("run")
        return END if run is not None and run.finished else "agent"


def create_handoff_agent(
    model: ModelLike | None,
    tools: ToolRegistry | Sequence[ToolLike] | ToolNode = (),
    *,
    name: str,
    prompt: str | None = None,
    options: AgentOptions | None = None,
    guardrails: Guardrails | None = None,
    checkpointer: Checkpointer | None = None,
) -> CompiledGraph:
    """A named agent for the multi-agent patterns (see the module docs).

    Invoke it with ``{"messages": [...]}``. It runs until it answers (a reply without tool
    calls), hands off, calls a stop tool, or spends its steps (then it answers once more with
    the tools withheld). Its output state (:class:`HandoffAgentState`) holds the conversation and
    ``run`` (:class:`AgentRun`: steps, tokens, tool calls, and the handoff that ended it).

    ::

        alice = create_handoff_agent(model, [add, create_handoff_tool(agent_name="bob")], name="alice")

    Args:
        model: a backend, a spec string or a LangChain chat model; None: every run gives one
            (``use_model``).
        tools: its tools, handoff tools included (a list or registry), or a ready
            :class:`~hone.graph.prebuilt.ToolNode` (then without handoff tools).
        name: the agent's name: its node in a pattern, the name on its replies, and its role
            (``get_model(name)``; rollouts record its calls under it).
        prompt: its system prompt.
        options: step budget, sampling, stop tools and final-answer policy (the options of
            ``run_agent``).
        guardrails: checks at its boundaries (see the module docs), bound to its name.
        checkpointer: saves its steps when run on its own (inside a pattern it uses the
            pattern's).

    Raises:
        ConfigError: a bad name, two handoff tools with one name, handoff tools inside a
            ``ToolNode``, or guardrails naming tools it does not have.
    """
    check_agent_name(name, "create_handoff_agent()")
    opts = options or AgentOptions()
    if opts.max_steps < 1:
        raise ConfigError(
            f"create_handoff_agent(): max_steps must be at least 1, got {opts.max_steps}"
        )
    tool_node, handoffs = _split_tools(tools, name)
    names = [h.name for h in handoffs]
    clash = sorted(
        {n for n in names if names.count(n) > 1} | (set(names) & set(tool_node.tools.names()))
    )
    if clash:
        raise ConfigError(f"agent {name!r}: two tools are named {clash[0]!r}")
    guard = None if guardrails is None else guardrails.bind(agent=name, role=name)
    offered = tool_node.tools.specs()
    if guard is not None:
        tool_node = guard.tool_node(tool_node)
        offered = guard.offered(tool_node.tools)
    step = AgentStep(
        tools=(*offered, *(h.spec() for h in handoffs)),
        sampling=opts.sampling,
        final_answer=opts.final_answer,
    )
    built = None if model is None else resolve_model(model)
    card = AgentCard(name, built, prompt, step, handoffs)
    agent = _Agent(card, tool_node, opts, guard)
    graph = StateGraph(HandoffAgentState)
    graph.add_node("agent", agent.model_turn, metadata=role_metadata(name))
    graph.add_node("tools", agent.tool_turn)
    if guard is not None and guard.checks_input:
        graph.add_node("guard_input", agent.guard_input, destinations=("agent", END))
        graph.add_edge(START, "guard_input")
    else:
        graph.add_edge(START, "agent")
    graph.add_conditional_edges(
        "agent", agent.after_model, {"tools": "tools", "agent": "agent", END: END}
    )
    graph.add_conditional_edges("tools", agent.after_tools, {"agent": "agent", END: END})
    # Each step takes at most two super-steps (model, tools), then the final answer and the
    # input guardrails: the agent's own budget, not the runtime's limit, ends it.
    steps = max(25, 2 * opts.max_steps + 4)
    compiled = graph.compile(checkpointer, name=name).with_config(recursion_limit=steps)
    _CARDS[graph] = card
    return compiled
