"""What the multi-agent patterns share: running one member agent on a view of the
conversation, and the final answer a budget stop ends with.

A member is any compiled graph that takes ``{"messages": [...]}`` and returns its
conversation under ``messages``: an agent from :func:`~hone.agents.create_handoff_agent`, a
``create_react_agent``, or a whole team (a supervisor or swarm graph). It runs inside the
pattern's node, in its own checkpoint namespace, so an interrupt inside it pauses the pattern
and a resume continues it where it stopped: no finished model call or tool runs again.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hone.agent._step import FinalAnswer
from hone.agents._budget import Budget, BudgetUsage
from hone.agents._handoff import HandoffTool
from hone.agents._handoff_agent import AgentCard, AgentRun, card_of, check_agent_name
from hone.agents._handoff_messages import as_hone, in_family, is_langchain_conversation, named
from hone.agents._roles import roles_of
from hone.errors import ConfigError
from hone.graph._compiled import CompiledGraph
from hone.graph._model_stream import astream_model
from hone.graph.prebuilt._tool_node import ToolNode
from hone.messages import AnyMessage, AssistantMessage, ToolMessage, new_id
from hone.observability._agents import agent_span

__all__ = [
    "FINAL_ANSWER",
    "FinalAnswerNode",
    "Member",
    "MemberTurn",
    "check_handoffs",
    "members",
    "replace_result",
    "run_member",
]

#: The node that gives the final answer when a budget ends the run.
FINAL_ANSWER = "final_answer"

#: The name LangGraph gives a graph compiled without one: no name at all, for a member.
_NO_NAME = "LangGraph"


@dataclass(frozen=True, slots=True)
class Member:
    """A member of a pattern: its name, its graph, and its card when ``create_handoff_agent`` built
    it."""

    name: str
    graph: CompiledGraph
    card: AgentCard | None

    @property
    def roles(self) -> tuple[str, ...]:
        """The roles whose models the member calls (its own name when it names none)."""
        return roles_of(self.graph) or (self.name,)


def members(agents: Sequence[Any], *, pattern: str, taken: Sequence[str] = ()) -> list[Member]:
    """The members of a pattern, checked.

    Raises:
        ConfigError: no agents, one that is not a compiled graph, one without a name, or two
            with one name (or a name in ``taken``: the pattern's own node names).
    """
    if not agents:
        raise ConfigError(f"{pattern} needs at least one agent")
    seen: dict[str, int] = {name: -1 for name in taken}
    out: list[Member] = []
    for index, agent in enumerate(agents):
        if not isinstance(agent, CompiledGraph):
            raise ConfigError(
                f"{pattern}: agent #{index} is a {type(agent).__name__}, not a compiled graph; "
                "build it with create_handoff_agent(...) or compile a graph"
            )
        name = getattr(agent, "name", None)
        if name is None or name == _NO_NAME:
            raise ConfigError(
                f"{pattern}: agent #{index} has no name; build it with create_handoff_agent(..., "
                "name=...) or compile it with name=..."
            )
        check_agent_name(name, f"{pattern}: agent #{index}")
        if name in seen:
            clash = "the pattern's own node" if seen[name] < 0 else f"agent #{seen[name]}"
            raise ConfigError(f"{pattern}: agent #{index} is named {name!r}, as {clash} is")
        seen[name] = index
        out.append(Member(name, agent, card_of(agent)))
    return out


@dataclass(frozen=True, slots=True)
class MemberTurn:
    """One turn of a member: what it added, and what its run reported.

    Attributes:
        new: the messages it added (hone messages, replies named after it).
        run: its run (agents built by ``create_handoff_agent``), else None.
        seconds: how long the turn took.
        tokens: tokens its model calls used (as its run or its team's usage reports them).
    """

    new: list[AnyMessage]
    run: AgentRun | None
    seconds: float
    tokens: int = 0

    @property
    def answer(self) -> AssistantMessage | None:
        """The reply the turn ended with, when it ended with an answer (not a handoff)."""
        if self.run is not None and self.run.handoff is not None:
            return None
        for message in reversed(self.new):
            if isinstance(message, AssistantMessage):
                return None if message.tool_calls else message
        return None

    def usage(self, usage: BudgetUsage, name: str, *, hub: bool = False) -> BudgetUsage:
        """``usage`` after this turn of ``name``."""
        answer = self.answer
        return usage.after_turn(
            name,
            tokens=self.tokens,
            seconds=self.seconds,
            tool_successes=_successes(self),
            answer=None if answer is None else answer.text,
            hub=hub,
        )


def _successes(turn: MemberTurn) -> int:
    if turn.run is not None:
        return turn.run.tool_successes
    return sum(1 for m in turn.new if isinstance(m, ToolMessage) and not m.is_error)


def _with_ids(view: Sequence[AnyMessage]) -> list[AnyMessage]:
    return [m if m.id else m.model_copy(update={"id": new_id("msg_")}) for m in view]


async def run_member(member: Member, view: Sequence[AnyMessage], *, langchain: bool) -> MemberTurn:
    """Run ``member`` on ``view`` (hone messages; given to it in the conversation's family).

    Raises:
        ConfigError: the member's output has no ``messages``.
    """
    given = _with_ids(view)
    seen = {m.id for m in given}
    start = time.perf_counter()
    with agent_span(member.name):
        out = await member.graph.ainvoke({"messages": in_family(given, langchain)})
    seconds = time.perf_counter() - start
    if not isinstance(out, Mapping) or not isinstance(out.get("messages"), list):
        raise ConfigError(
            f"agent {member.name!r} returned no 'messages': a member of a pattern must take "
            "and return a conversation under 'messages'"
        )
    new = [named(m, member.name) for m in as_hone(out["messages"]) if m.id not in seen]
    run = out.get("run")
    if isinstance(run, AgentRun):
        return MemberTurn(new, run, seconds, run.tokens)
    team = out.get("usage")  # a team (a pattern's graph) reports its run's usage
    return MemberTurn(new, None, seconds, team.tokens if isinstance(team, BudgetUsage) else 0)


def replace_result(messages: Sequence[AnyMessage], call_id: str, content: str) -> list[AnyMessage]:
    """``messages`` with the result of call ``call_id`` replaced by an error result."""
    return [
        m.model_copy(update={"content": content, "is_error": True})
        if isinstance(m, ToolMessage) and m.tool_call_id == call_id
        else m
        for m in messages
    ]


class FinalAnswerNode:
    """The node a budget stop routes to: the agent named in ``usage.stop`` answers once more
    with its tools withheld (an agent not built by ``create_handoff_agent`` cannot be asked: a fixed
    reply says why the run stopped)."""

    def __init__(self, cards: Mapping[str, AgentCard], budget: Budget) -> None:
        self.cards = dict(cards)
        self.budget = budget

    async def __call__(self, state: Mapping[str, Any]) -> dict[str, Any]:
        usage: BudgetUsage = state.get("usage") or BudgetUsage()
        stop = usage.stop
        if stop is None:  # reached only through a stop; keep the run well-formed regardless
            return {"usage": usage.ended()}
        conversation = list(state["messages"])
        card = self.cards.get(stop.agent)
        if card is None:
            reply = AssistantMessage(
                content=f"I have to stop here: the team reached its limit ({stop.detail}).",
                name=stop.agent,
            )
            messages: list[AnyMessage] = [reply]
        else:
            step = dataclasses.replace(
                card.step, final_answer=FinalAnswer(self.budget.final_prompt(stop))
            )
            turn = await step.arun(
                card.backend(),
                card.conversation(as_hone(conversation)),
                final=True,
                complete=astream_model,
            )
            messages = [named(m, card.name) for m in turn.messages]
        langchain = is_langchain_conversation(conversation)
        return {"messages": in_family(messages, langchain), "usage": usage.ended()}


def _hidden_handoffs(graph: Any) -> list[str]:
    """Handoff tools inside a plain graph's ``ToolNode`` (they would run as ordinary tools)."""
    builder = getattr(graph, "builder", None)
    found: list[str] = []
    for node in getattr(builder, "nodes", {}).values():
        action = getattr(node, "action", None)
        if isinstance(action, ToolNode):
            found += [t.name for t in action.tools if isinstance(t, HandoffTool)]
    return found


def check_handoffs(team: Sequence[Member], pattern: str) -> None:
    """Every handoff target is a member, and no plain graph hides handoff tools.

    Raises:
        ConfigError: a handoff to an agent outside the team, or handoff tools in a graph not
            built by ``create_handoff_agent``.
    """
    names = {m.name for m in team}
    for member in team:
        if member.card is None:
            hidden = _hidden_handoffs(member.graph)
            if hidden:
                raise ConfigError(
                    f"{pattern}: agent {member.name!r} has handoff tools {hidden} inside a "
                    "graph not built by create_handoff_agent; build it with create_handoff_agent(...) so its "
                    "handoffs are resolved"
                )
            continue
        for tool in member.card.handoffs:
            if tool.agent_name not in names:
                raise ConfigError(
                    f"{pattern}: agent {member.name!r} hands off to {tool.agent_name!r} "
                    f"({tool.name}), which is not in the team ({', '.join(sorted(names))})"
                )
