"""``create_supervisor``: a tool-calling supervisor that hands tasks to workers, one at a
time, reads their answers and answers the user; teams of teams nest.

::

    research = create_handoff_agent(model, [search], name="research")
    math = create_handoff_agent(model, [add], name="math")
    graph = create_supervisor([research, math], model=model, checkpointer=saver)

The supervisor is a :func:`~hone.agents.create_handoff_agent` agent whose handoff tools are
``transfer_to_<worker>`` (by default with a ``task`` argument; a pydantic model makes it
typed). A worker runs on a view of the conversation and control always comes back to the
supervisor. What each side sees is an explicit :class:`ContextPolicy`:

* ``worker_input``: ``"full_history"`` (the conversation, then the transfer and its task) or
  ``"task"`` (only the task, as a user message);
* ``output_mode``: what the supervisor receives: ``"last_message"`` (the worker's answer, as
  the result of the supervisor's transfer call when handoff messages are on), the worker's
  ``"full_history"``, or ``"forward"`` (the answer goes to the user verbatim and the run ends);
* ``handoff_messages``: keep the transfer calls and their results in the history (off: the
  calls are removed and the worker's answer appears as its own reply).

A handoff tool's ``input_filter`` narrows further what a worker that sees the conversation
reads of it.

hone adds no "transferring back to supervisor" messages: the worker's answer is always the
last thing the supervisor reads, never hidden behind one. The handoff semantics of parallel
calls and unknown workers are :func:`~hone.agents._handoff.plan_turn`'s, and the run's
budget (turns, handoffs, tokens, time, loops) is a :class:`~hone.agents.Budget`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypeAlias

from hone.agent._loop import AgentOptions
from hone.agents._budget import Budget, BudgetStop, BudgetUsage
from hone.agents._handoff import (
    Handoff,
    HandoffTool,
    InputFilter,
    TaskArgument,
    create_handoff_tool,
    strip_handoffs,
    transfer_message,
)
from hone.agents._handoff_agent import check_agent_name, create_handoff_agent
from hone.agents._handoff_member import (
    FINAL_ANSWER,
    FinalAnswerNode,
    Member,
    MemberTurn,
    check_handoffs,
    members,
    replace_result,
    run_member,
)
from hone.agents._handoff_messages import as_hone, in_family, is_langchain_conversation
from hone.agents._roles import role_metadata
from hone.errors import ConfigError
from hone.graph._builder import StateGraph
from hone.graph._messages import MessagesState
from hone.graph._types import END, START, Command
from hone.messages import AnyMessage, AssistantMessage, ToolMessage, UserMessage
from hone.tools import ToolLike

if TYPE_CHECKING:
    from hone.agents._guardrails import Guardrails
    from hone.checkpoint import Checkpointer
    from hone.graph._compiled import CompiledGraph
    from hone.interop._model import ModelLike

__all__ = [
    "SUPERVISOR_PROMPT",
    "ContextPolicy",
    "OutputMode",
    "SupervisorState",
    "WorkerInput",
    "create_supervisor",
]

#: What a worker sees: the whole conversation, or only its task.
WorkerInput: TypeAlias = Literal["full_history", "task"]
#: What the supervisor receives of a worker's turn (see the module docs).
OutputMode: TypeAlias = Literal["last_message", "full_history", "forward"]

#: The supervisor's default system prompt; ``{workers}`` lists the workers.
SUPERVISOR_PROMPT = (
    "You supervise a team of workers: {workers}. Give one task at a time to the worker best "
    "suited for it with its transfer tool, saying what it should do and what it needs to "
    "know. Read each worker's answer. When the answers settle the request, answer the user "
    "yourself, without transferring."
)


@dataclass(frozen=True, slots=True)
class ContextPolicy:
    """What workers and the supervisor see of each other (see the module docs).

    Attributes:
        worker_input: ``"full_history"`` or ``"task"``.
        output_mode: ``"last_message"``, ``"full_history"`` or ``"forward"``.
        handoff_messages: keep the transfer calls and their results in the history.

    Raises:
        ConfigError: a value outside those listed.
    """

    worker_input: WorkerInput = "full_history"
    output_mode: OutputMode = "last_message"
    handoff_messages: bool = True

    def __post_init__(self) -> None:
        if self.worker_input not in ("full_history", "task"):
            raise ConfigError(
                f"ContextPolicy.worker_input must be 'full_history' or 'task', got "
                f"{self.worker_input!r}"
            )
        if self.output_mode not in ("last_message", "full_history", "forward"):
            raise ConfigError(
                "ContextPolicy.output_mode must be 'last_message', 'full_history' or "
                f"'forward', got {self.output_mode!r}"
            )


class SupervisorState(MessagesState):
    """The state of a supervisor graph.

    Keys:
        messages: the conversation (replies carry their agent's name).
        handoff: the transfer being worked on (:class:`~hone.agents.Handoff`), None between.
        usage: the run's budget usage (:class:`~hone.agents.BudgetUsage`).
    """

    handoff: NotRequired[Handoff | None]
    usage: NotRequired[BudgetUsage]


@dataclass(frozen=True, slots=True)
class _Team:
    supervisor: Member
    policy: ContextPolicy
    budget: Budget
    handoff_names: frozenset[str]
    #: The input filters of the supervisor's handoff tools, by tool name.
    filters: Mapping[str, InputFilter]


def _withheld(policy: ContextPolicy) -> bool:
    """Whether the transfer's result waits for the worker's answer (it then *is* the result)."""
    return policy.handoff_messages and policy.output_mode == "last_message"


class _SupervisorNode:
    """The supervisor's turn: it answers (END), or hands a task to a worker."""

    def __init__(self, team: _Team) -> None:
        self.team = team

    async def __call__(self, state: SupervisorState) -> Command[Any]:
        team, name = self.team, self.team.supervisor.name
        usage = BudgetUsage.current(state.get("usage"))
        conversation = list(state["messages"])
        langchain = is_langchain_conversation(conversation)
        turn = await run_member(team.supervisor, as_hone(conversation), langchain=langchain)
        usage = turn.usage(usage, name, hub=True)
        handoff = None if turn.run is None else turn.run.handoff
        update: dict[str, Any] = {"handoff": None}
        if handoff is None:
            update["messages"] = in_family(turn.new, langchain)
            return Command(goto=END, update={**update, "usage": usage.ended()})
        admitted = team.budget.admit(usage, name, handoff.target)
        if admitted.stop is not None:
            new = replace_result(turn.new, handoff.tool_call_id, team.budget.refusal(admitted.stop))
            update["messages"] = in_family(new, langchain)
            return Command(goto=FINAL_ANSWER, update={**update, "usage": admitted})
        new = turn.new
        if not team.policy.handoff_messages:
            new = strip_handoffs(new, team.handoff_names)
        elif _withheld(team.policy):
            new = [m for m in new if getattr(m, "tool_call_id", None) != handoff.tool_call_id]
        update = {"messages": in_family(new, langchain), "handoff": handoff, "usage": admitted}
        return Command(goto=handoff.target, update=update)


def _answer(turn: MemberTurn, name: str) -> AssistantMessage:
    found = turn.answer or next(
        (m for m in reversed(turn.new) if isinstance(m, AssistantMessage)), None
    )
    if found is None:
        return AssistantMessage(content=f"{name} gave no answer.", name=name)
    return found.model_copy(update={"tool_calls": ()}) if found.tool_calls else found


class _WorkerNode:
    """A worker's turn on its view; its answer goes back to the supervisor (or, with
    ``forward``, to the user)."""

    def __init__(self, member: Member, team: _Team) -> None:
        self.member = member
        self.team = team

    def _view(self, history: list[AnyMessage], task: Handoff | None) -> list[AnyMessage]:
        policy = self.team.policy
        if policy.worker_input == "task":
            if task is not None and task.task:
                given: list[AnyMessage] = [UserMessage(content=task.task)]
                return given
            asked: list[AnyMessage] = [m for m in history if isinstance(m, UserMessage)]
            return asked[-1:]
        if task is None:
            return history
        chosen = self.team.filters.get(task.tool_name)
        if chosen is not None:
            history = chosen(history)
        if _withheld(policy):
            return [*history, transfer_message(task)]
        if not policy.handoff_messages and task.task:
            return [*history, UserMessage(content=task.task)]
        return history

    def _output(self, turn: MemberTurn, task: Handoff | None) -> list[AnyMessage]:
        policy, name = self.team.policy, self.member.name
        answer = _answer(turn, name)
        if policy.output_mode == "full_history":
            return turn.new if turn.new else [answer]
        if _withheld(policy) and task is not None:
            result = ToolMessage(
                content=answer.content, tool_call_id=task.tool_call_id, name=task.tool_name
            )
            return [result]
        return [answer]

    async def __call__(self, state: SupervisorState) -> Command[Any]:
        name = self.member.name
        usage = BudgetUsage.current(state.get("usage"))
        task = state.get("handoff")
        task = task if task is not None and task.target == name else None
        conversation = list(state["messages"])
        langchain = is_langchain_conversation(conversation)
        turn = await run_member(
            self.member, self._view(as_hone(conversation), task), langchain=langchain
        )
        usage = turn.usage(usage, name)
        update = {"messages": in_family(self._output(turn, task), langchain), "handoff": None}
        if self.team.policy.output_mode == "forward":
            return Command(goto=END, update={**update, "usage": usage.ended()})
        spent = self.team.budget.spent(usage)
        if spent is not None:  # no room for another turn: the supervisor's last is its answer
            stop = BudgetStop(spent[0], self.team.supervisor.name, spent[1])
            return Command(goto=FINAL_ANSWER, update={**update, "usage": usage.ended(stop)})
        return Command(goto=self.team.supervisor.name, update={**update, "usage": usage})


def _handoff_tools(
    tools: Sequence[ToolLike], workers: Sequence[Member], task: TaskArgument, pattern: str
) -> tuple[list[ToolLike], list[HandoffTool]]:
    """The supervisor's ordinary tools, and its handoff tools: the ones given, and a default
    ``transfer_to_<worker>`` for each worker none of them reaches."""
    names = {m.name for m in workers}
    given = [t for t in tools if isinstance(t, HandoffTool)]
    for tool in given:
        if tool.agent_name not in names:
            raise ConfigError(
                f"{pattern}: handoff tool {tool.name!r} transfers to {tool.agent_name!r}, "
                f"which is not a worker ({', '.join(sorted(names))})"
            )
    covered = {t.agent_name for t in given}
    defaults = [
        create_handoff_tool(agent_name=m.name, task=task) for m in workers if m.name not in covered
    ]
    return [t for t in tools if not isinstance(t, HandoffTool)], [*given, *defaults]


def _check_workers(
    workers: Sequence[Member], handoffs: Sequence[HandoffTool], policy: ContextPolicy
) -> None:
    for member in workers:
        if member.card is not None and member.card.handoffs:
            raise ConfigError(
                f"create_supervisor(): worker {member.name!r} has handoff tools; a worker "
                "reports back to its supervisor (for agents that pass control among "
                "themselves, use create_swarm)"
            )
    check_handoffs(workers, "create_supervisor()")
    if policy.worker_input == "task":
        untasked = [h.name for h in handoffs if not h.has_task]
        if untasked:
            raise ConfigError(
                f"create_supervisor(): workers see only their task, but {untasked} carry no "
                "task; create them with create_handoff_tool(..., task=True)"
            )


def create_supervisor(
    agents: Sequence[CompiledGraph],
    *,
    model: ModelLike | None,
    tools: Sequence[ToolLike] = (),
    prompt: str | None = None,
    supervisor_name: str = "supervisor",
    context: ContextPolicy | None = None,
    task: TaskArgument = True,
    budget: Budget | None = None,
    options: AgentOptions | None = None,
    guardrails: Guardrails | None = None,
    checkpointer: Checkpointer | None = None,
    name: str | None = None,
) -> CompiledGraph:
    """A compiled supervisor over ``agents`` (see the module docs).

    Invoke it with ``{"messages": [...]}``; the state is :class:`SupervisorState`. Nodes: the
    supervisor (named ``supervisor_name``), one per worker (each runs its worker as a
    subgraph), and ``final_answer`` (the supervisor's last word when a budget ends the run).
    A supervisor graph is itself an agent: pass it as a worker of another supervisor to build
    hierarchical teams.

    Args:
        agents: the workers: graphs from :func:`~hone.agents.create_handoff_agent` (without handoff
            tools), ``create_react_agent`` graphs (built with ``role=`` their name, so per-role
            runs give them their model), other teams, or any compiled graph with a name that
            takes and returns ``messages``.
        model: the supervisor's model (a backend, spec string or LangChain chat model; None:
            the run gives it, for the role ``supervisor_name``).
        tools: the supervisor's own tools, and any handoff tools of your own (a worker no
            given handoff tool reaches gets ``transfer_to_<worker>``).
        prompt: the supervisor's system prompt (default :data:`SUPERVISOR_PROMPT`).
        supervisor_name: the supervisor's node name, reply name and role.
        context: what workers and the supervisor see (:class:`ContextPolicy`).
        task: the default handoff tools' task argument (True: a ``task`` string; a pydantic
            model: a typed task; False: none).
        budget: limits of each run (default :class:`~hone.agents.Budget`'s).
        options: the supervisor's agent options (steps per turn, sampling, final answer).
        guardrails: the supervisor's guardrails (workers have their own: build them with
            ``create_handoff_agent(..., guardrails=...)``).
        checkpointer: saves each step; needed for threads and interrupts inside workers.
        name: the graph's name (default ``supervisor_name``); a team's node name when it is
            a worker of another supervisor.

    Raises:
        ConfigError: no workers, a worker without a name, two agents with one name (the
            supervisor's included), a worker with handoff tools, a handoff tool to a
            non-worker, or workers that see only their task with handoff tools carrying none.
    """
    pattern = "create_supervisor()"
    check_agent_name(supervisor_name, f"{pattern} supervisor_name")
    policy = context or ContextPolicy()
    workers = members(agents, pattern=pattern, taken=(supervisor_name, FINAL_ANSWER))
    plain, handoffs = _handoff_tools(tools, workers, task, pattern)
    _check_workers(workers, handoffs, policy)
    listed = ", ".join(m.name for m in workers)
    brain = create_handoff_agent(
        model,
        [*plain, *handoffs],
        name=supervisor_name,
        prompt=SUPERVISOR_PROMPT.format(workers=listed) if prompt is None else prompt,
        options=options,
        guardrails=guardrails,
    )
    supervisor = members([brain], pattern=pattern)[0]
    plan = budget or Budget()
    filters = {h.name: h.input_filter for h in handoffs if h.input_filter is not None}
    team = _Team(supervisor, policy, plan, frozenset(h.name for h in handoffs), filters)
    graph = StateGraph(SupervisorState)
    graph.add_node(
        supervisor_name,
        _SupervisorNode(team),
        destinations=(*(m.name for m in workers), FINAL_ANSWER, END),
        metadata=role_metadata(supervisor_name),
    )
    back = (END,) if policy.output_mode == "forward" else (supervisor_name,)
    for member in workers:
        graph.add_node(
            member.name,
            _WorkerNode(member, team),
            destinations=back,
            metadata=role_metadata(*member.roles),
        )
    cards: Mapping[str, Any] = {supervisor_name: supervisor.card}
    graph.add_node(
        FINAL_ANSWER, FinalAnswerNode(cards, plan), metadata=role_metadata(supervisor_name)
    )
    graph.add_edge(START, supervisor_name)
    graph.add_edge(FINAL_ANSWER, END)
    limit = plan.recursion_limit(steps_per_turn=1, extra=4)
    compiled = graph.compile(checkpointer, name=name or supervisor_name)
    return compiled.with_config(recursion_limit=limit)
