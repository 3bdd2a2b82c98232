"""``create_swarm``: agents that pass control to each other with handoff tools; the agent
that last held control answers the next message of the thread.

::

    alice = create_handoff_agent(model, [add, create_handoff_tool(agent_name="bob")], name="alice")
    bob = create_handoff_agent(model, [create_handoff_tool(agent_name="alice")], name="bob")
    swarm = create_swarm([alice, bob], default_active_agent="alice", checkpointer=saver)

The shape is langgraph-swarm's (``SwarmState`` with ``active_agent``, a router from START to
the active agent, one node per agent), with the semantics defined where it breaks:

* **Parallel calls.** An agent's ordinary tool calls run with its handoff; every call gets a
  result; the first handoff wins and later ones get an error result (``plan_turn``).
* **The active agent is remembered** across turns of a thread (``active_agent``), and also
  when the swarm runs inside a parent graph whose state has no ``active_agent`` key: the
  router then reads it from the history (the last reply named after an agent, or the last
  successful handoff), so a nested swarm does not fall back to its default agent.
* **Budgets and loops** (:class:`~hone.agents.Budget`): a handoff past a limit, or one more
  A → B → A bounce without progress than allowed, is refused and the run ends with the
  refusing agent's final answer (node ``final_answer``).
* **Input filters.** A handoff tool's ``input_filter`` decides what the receiving agent sees
  of the conversation (the stored history keeps everything).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, NotRequired

from hone.agents._budget import Budget, BudgetUsage
from hone.agents._handoff import Handoff, InputFilter, strip_handoffs
from hone.agents._handoff_member import (
    FINAL_ANSWER,
    FinalAnswerNode,
    Member,
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
from hone.interop import from_langchain, is_langchain_message
from hone.messages import AssistantMessage, ToolMessage, to_message

if TYPE_CHECKING:
    from hone.checkpoint import Checkpointer
    from hone.graph._compiled import CompiledGraph

__all__ = ["SwarmState", "create_swarm"]


class SwarmState(MessagesState):
    """The state of a swarm.

    Keys:
        messages: the conversation (every agent's replies carry its name).
        active_agent: the agent that answers next (the last to hold control).
        handoff: the last handoff (:class:`~hone.agents.Handoff`).
        usage: the run's budget usage (:class:`~hone.agents.BudgetUsage`).
    """

    active_agent: NotRequired[str | None]
    handoff: NotRequired[Handoff | None]
    usage: NotRequired[BudgetUsage]


class _Swarm:
    """The swarm's members and settings, shared by its nodes and router."""

    def __init__(
        self,
        team: list[Member],
        default: str,
        budget: Budget,
        handoff_messages: bool,
    ) -> None:
        self.team = {m.name: m for m in team}
        self.default = default
        self.budget = budget
        self.handoff_messages = handoff_messages
        self.targets: dict[str, str] = {}  # handoff tool name -> target, for the router
        self.filters: dict[tuple[str, str], InputFilter] = {}
        for member in team:
            for tool in member.card.handoffs if member.card else ():
                self.targets[tool.name] = tool.agent_name
                if tool.input_filter is not None:
                    self.filters[(member.name, tool.name)] = tool.input_filter
        self.handoff_names = frozenset(self.targets)

    def active(self, state: Mapping[str, Any]) -> str:
        """The agent the next message goes to (the router from START)."""
        given = state.get("active_agent")
        if isinstance(given, str) and given in self.team:
            return given
        return self._from_history(state.get("messages") or []) or self.default

    def _from_history(self, messages: Sequence[Any]) -> str | None:
        for value in reversed(messages):
            message = from_langchain(value) if is_langchain_message(value) else to_message(value)
            if isinstance(message, AssistantMessage) and message.name in self.team:
                return message.name
            if (
                isinstance(message, ToolMessage)
                and not message.is_error
                and message.name in self.targets
            ):
                return self.targets[message.name]
        return None


class _AgentNode:
    """One agent's node: run it on its view, then route to END, its handoff's target, or the
    final answer when the budget refuses the handoff."""

    def __init__(self, member: Member, swarm: _Swarm) -> None:
        self.member = member
        self.swarm = swarm

    async def __call__(self, state: SwarmState) -> Command[Any]:
        stored = state.get("usage")
        usage = BudgetUsage.current(stored)
        conversation = list(state["messages"])
        langchain = is_langchain_conversation(conversation)
        history = as_hone(conversation)
        received = state.get("handoff")
        in_run = stored is not None and not stored.finished
        view = history
        if in_run and received is not None and received.target == self.member.name:
            chosen = self.swarm.filters.get((received.source, received.tool_name))
            view = history if chosen is None else chosen(history)
        turn = await run_member(self.member, view, langchain=langchain)
        usage = turn.usage(usage, self.member.name)
        name = self.member.name
        handoff = None if turn.run is None else turn.run.handoff
        update: dict[str, Any] = {"active_agent": name}
        if handoff is None:
            update["messages"] = in_family(turn.new, langchain)
            return Command(goto=END, update={**update, "usage": usage.ended()})
        admitted = self.swarm.budget.admit(usage, name, handoff.target)
        if admitted.stop is not None:
            refusal = self.swarm.budget.refusal(admitted.stop)
            new = replace_result(turn.new, handoff.tool_call_id, refusal)
            update["messages"] = in_family(new, langchain)
            return Command(goto=FINAL_ANSWER, update={**update, "usage": admitted})
        new = turn.new
        if not self.swarm.handoff_messages:
            new = strip_handoffs(new, self.swarm.handoff_names)
        update = {
            "messages": in_family(new, langchain),
            "active_agent": handoff.target,
            "handoff": handoff,
            "usage": admitted,
        }
        return Command(goto=handoff.target, update=update)


def create_swarm(
    agents: Sequence[CompiledGraph],
    *,
    default_active_agent: str,
    budget: Budget | None = None,
    handoff_messages: bool = True,
    checkpointer: Checkpointer | None = None,
    name: str = "swarm",
) -> CompiledGraph:
    """A compiled swarm: the active agent answers, and agents pass control with handoff tools
    (see the module docs for the semantics).

    Invoke it with ``{"messages": [...]}`` (and ``active_agent`` to choose who answers);
    with a checkpointer, each turn of a thread goes to the agent that last held control. The
    state is :class:`SwarmState`. Each agent node runs its agent as a subgraph, so
    ``stream(..., subgraphs=True)`` streams their steps and tokens.

    Args:
        agents: the agents: graphs from :func:`~hone.agents.create_handoff_agent` (their handoff
            tools name the others) or any compiled graph with a name that takes and returns
            ``messages`` (an agent that cannot hand off: it answers; build a
            ``create_react_agent`` with ``role=`` its name, so per-role runs give it its model).
        default_active_agent: who answers when no agent has held control yet.
        budget: limits of each run (default :class:`~hone.agents.Budget`'s).
        handoff_messages: keep the handoff calls and their results in the history (False:
            they are removed; the receiving agent still gets the conversation).
        checkpointer: saves each step; needed to remember the active agent across turns.
        name: the graph's name (its node name when it is an agent of another pattern).

    Raises:
        ConfigError: no agents, an agent without a name, two with one name, an unknown
            default agent, a handoff to an agent outside the swarm, or handoff tools in a
            graph not built by ``create_handoff_agent``.
    """
    team = members(agents, pattern="create_swarm()", taken=(FINAL_ANSWER,))
    names = [m.name for m in team]
    if default_active_agent not in names:
        raise ConfigError(
            f"create_swarm(): default_active_agent {default_active_agent!r} is not one of the "
            f"agents ({', '.join(names)})"
        )
    check_handoffs(team, "create_swarm()")
    plan = budget or Budget()
    swarm = _Swarm(team, default_active_agent, plan, handoff_messages)
    cards = {m.name: m.card for m in team if m.card is not None}
    graph = StateGraph(SwarmState)
    for member in team:
        targets = [h.agent_name for h in member.card.handoffs] if member.card else []
        graph.add_node(
            member.name,
            _AgentNode(member, swarm),
            destinations=(*dict.fromkeys(targets), FINAL_ANSWER, END),
            metadata=role_metadata(*member.roles),
        )
    graph.add_node(FINAL_ANSWER, FinalAnswerNode(cards, plan), metadata=role_metadata(*cards))
    graph.add_conditional_edges(START, swarm.active, names)
    graph.add_edge(FINAL_ANSWER, END)
    limit = plan.recursion_limit(steps_per_turn=1, extra=4)
    return graph.compile(checkpointer, name=name).with_config(recursion_limit=limit)
