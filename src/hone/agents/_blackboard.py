"""``create_blackboard``: roles take turns on a shared board until the work is done, then a
synthesizer writes the answer (the blackboard orchestrator of the "LLM-based Agents" essay).

::

    START ─► begin ─► schedule ─┬─► <role> ─► schedule   (one node per role)
                                └─► synthesize ─► END

* **Roles** (:class:`Role`) have their own prompt, tools and model; each is a
  :func:`~hone.agents.create_handoff_agent` agent whose calls carry its name as their role.
* **The shared context** is the state: the ``request``, the ``plan``, named ``artifacts``,
  and the ``posts`` (:class:`~hone.agents.Post`: each turn's text and what it did). Roles
  change the plan and the artifacts with the board tools ``update_plan`` and
  ``write_artifact``; a call that succeeded is applied to the board after the turn.
* **Each role sees a filtered view** (:class:`~hone.agents.View`): whose posts, how many,
  which artifacts, whether the plan.
* **Turn-taking** is a policy: :class:`~hone.agents.RoundRobin`,
  :class:`~hone.agents.Mentions` (``@role``), or :class:`~hone.agents.Coordinator` (a model).
* **Termination**: a post that says ``DONE``, the coordinator choosing ``DONE``, ``max_rounds``
  rounds (a round is as many turns as there are roles), a ``stop_when(board)`` condition, or a
  :class:`~hone.agents.Budget` limit (turns, tokens, time). ``stop`` records which.
* **A final synthesis** reads the whole board and answers (``answer``, and the last message).
* **Per-role logs and evaluation**: the posts are the log; :func:`role_stats` sums them per
  role, and a rollout records one episode per role for per-role rewards.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Annotated, Any, Literal, NotRequired, TypeAlias, TypedDict

from hone.agent._loop import AgentOptions
from hone.agent._scope import get_model
from hone.agent._step import AgentStep
from hone.agents._blackboard_board import (
    DONE,
    Board,
    Coordinator,
    Post,
    RoundRobin,
    TurnPolicy,
    View,
    mentions_in,
    render_board,
)
from hone.agents._budget import Budget, BudgetUsage
from hone.agents._handoff_agent import check_agent_name, create_handoff_agent
from hone.agents._handoff_member import Member, MemberTurn, members, run_member
from hone.agents._handoff_messages import as_hone, named
from hone.agents._roles import role_metadata
from hone.errors import ConfigError
from hone.graph._builder import StateGraph
from hone.graph._messages import add_messages
from hone.graph._model_stream import astream_model
from hone.graph._types import END, START, Command
from hone.interop import resolve_model
from hone.messages import AnyMessage, AssistantMessage, SystemMessage, ToolMessage, UserMessage
from hone.tools import Tool, ToolLike, tool

if TYPE_CHECKING:
    from hone.agents._guardrails import Guardrails
    from hone.checkpoint import Checkpointer
    from hone.graph._compiled import CompiledGraph
    from hone.interop._model import ModelLike

__all__ = [
    "SYNTHESIS_PROMPT",
    "BlackboardState",
    "BoardStop",
    "Role",
    "RoleStats",
    "create_blackboard",
    "role_stats",
]

#: Why the work on the board ended.
BoardStop: TypeAlias = Literal["done", "max_rounds", "condition", "turns", "tokens", "seconds"]

#: The synthesizer's default system prompt.
SYNTHESIS_PROMPT = (
    "You write the team's final answer. Read the request and everything on the board, and "
    "answer the request fully and directly, using the artifacts. Do not describe the process."
)

_TURN = (
    "You are {role}. It is your turn: add your contribution to the board. Use "
    "write_artifact to save work others should build on and update_plan to change the "
    "plan. Mention @role to ask another role to act next. Write DONE when the request is "
    "fully answered."
)
_NODES = ("begin", "schedule", "synthesize")


@tool
def write_artifact(name: str, content: str) -> str:
    """Save a named artifact on the shared board (replacing one with the same name).

    Args:
        name: The artifact's name.
        content: Its full content.
    """
    return f"Saved artifact {name!r} ({len(content)} characters)."


@tool
def update_plan(steps: list[str]) -> str:
    """Replace the shared plan.

    Args:
        steps: The plan's steps, in order.
    """
    return f"Plan updated ({len(steps)} steps)."


_BOARD_TOOLS: tuple[Tool, ...] = (write_artifact, update_plan)


@dataclass(frozen=True)
class Role:
    """A role on the board.

    Attributes:
        name: its name (its node, and the role its calls carry).
        prompt: its system prompt.
        tools: its own tools (the board tools are added).
        model: its model (None: the blackboard's).
        view: what it sees of the board.
        options: its agent options (steps per turn, sampling, final answer).

    Raises:
        ConfigError: an empty prompt.
    """

    name: str
    prompt: str
    tools: Sequence[ToolLike] = ()
    model: ModelLike | None = None
    view: View = field(default_factory=View)
    options: AgentOptions | None = None

    def __post_init__(self) -> None:
        check_agent_name(self.name, "Role")
        if not self.prompt.strip():
            raise ConfigError(f"Role {self.name!r} has an empty prompt")
        object.__setattr__(self, "tools", tuple(self.tools))


class BlackboardState(TypedDict):
    """The state of a blackboard run.

    Keys:
        messages: the conversation: the request as a user message, the synthesis last.
        request: what the team works on (or the last user message).
        plan: the plan's steps.
        artifacts: named artifacts (name -> content).
        posts: the run's posts (:class:`~hone.agents.Post`), in order: the per-role log.
        round: the round of the latest turn (1-based).
        stop: why the work ended (:data:`BoardStop`).
        answer: the synthesis.
        usage: the run's budget usage.
    """

    messages: NotRequired[Annotated[list[AnyMessage], add_messages]]
    request: NotRequired[str]
    plan: NotRequired[list[str]]
    artifacts: NotRequired[dict[str, str]]
    posts: NotRequired[list[Post]]
    round: NotRequired[int]
    stop: NotRequired[BoardStop | None]
    answer: NotRequired[str | None]
    usage: NotRequired[BudgetUsage]


@dataclass(frozen=True, slots=True)
class RoleStats:
    """One role's share of a run (see :func:`role_stats`)."""

    turns: int = 0
    tokens: int = 0
    seconds: float = 0.0
    tool_calls: int = 0
    tool_errors: int = 0
    artifacts: int = 0
    plan_updates: int = 0
    done_votes: int = 0
    mentioned: int = 0


def role_stats(state: Mapping[str, Any]) -> dict[str, RoleStats]:
    """Per-role totals of a blackboard run's posts: turns, tokens, time, tool calls and
    errors, artifacts written, plan updates, DONE votes, and mentions by other roles."""
    stats: dict[str, RoleStats] = {}
    for post in state.get("posts") or ():
        own = stats.get(post.role, RoleStats())
        stats[post.role] = dataclasses.replace(
            own,
            turns=own.turns + 1,
            tokens=own.tokens + post.tokens,
            seconds=own.seconds + post.seconds,
            tool_calls=own.tool_calls + post.tool_calls,
            tool_errors=own.tool_errors + post.tool_errors,
            artifacts=own.artifacts + len(post.artifacts),
            plan_updates=own.plan_updates + int(post.plan_updated),
            done_votes=own.done_votes + int(post.done),
        )
        for role in post.mentions:
            if role != post.role:
                other = stats.get(role, RoleStats())
                stats[role] = dataclasses.replace(other, mentioned=other.mentioned + 1)
    return stats


def _board(state: Mapping[str, Any], roles: tuple[str, ...]) -> Board:
    return Board(
        request=state.get("request") or "",
        plan=tuple(state.get("plan") or ()),
        artifacts=dict(state.get("artifacts") or {}),
        posts=tuple(state.get("posts") or ()),
        roles=roles,
    )


def _says_done(text: str) -> bool:
    lines = [line.strip() for line in text.strip().splitlines()]
    words = text.split()
    return DONE in lines or (bool(words) and words[-1].strip(".!*_`") == DONE)


def _begin(state: BlackboardState) -> dict[str, Any]:
    """A run starts: the request from the last user message (a new one) or ``request``;
    the plan and artifacts carry over; posts, rounds and usage start anew."""
    history = as_hone(state.get("messages") or [])
    asked = history[-1] if history and isinstance(history[-1], UserMessage) else None
    request = asked.text if asked is not None else state.get("request")
    if not request or not request.strip():
        raise ConfigError(
            "create_blackboard(): invoke it with {'request': '...'} or {'messages': "
            "[('user', '...')]}"
        )
    update: dict[str, Any] = {
        "request": request,
        "plan": list(state.get("plan") or []),
        "artifacts": dict(state.get("artifacts") or {}),
        "posts": [],
        "round": 0,
        "stop": None,
        "answer": None,
        "usage": BudgetUsage(),
    }
    if asked is None:
        update["messages"] = [UserMessage(content=request)]
    return update


class _Schedule:
    """Decides who acts next, or that the work has ended."""

    def __init__(
        self,
        roles: tuple[str, ...],
        policy: TurnPolicy,
        max_rounds: int,
        stop_when: Callable[[Board], bool] | None,
        budget: Budget,
    ) -> None:
        self.roles = roles
        self.policy = policy
        self.max_rounds = max_rounds
        self.stop_when = stop_when
        self.budget = budget

    def _ended(self, state: BlackboardState, board: Board) -> BoardStop | None:
        if board.posts and board.posts[-1].done:
            return "done"
        if self.stop_when is not None and board.posts and self.stop_when(board):
            return "condition"
        spent = self.budget.spent(state.get("usage") or BudgetUsage())
        if spent is not None:
            return spent[0]
        if len(board.posts) >= self.max_rounds * len(self.roles):
            return "max_rounds"
        return None

    async def __call__(self, state: BlackboardState) -> Command[Any]:
        board = _board(state, self.roles)
        stop = self._ended(state, board)
        if stop is None:
            chosen = await self.policy.choose(board)
            if chosen == DONE:
                stop = "done"
            else:
                turn = len(board.posts) // len(self.roles) + 1
                return Command(goto=chosen, update={"round": turn})
        return Command(goto="synthesize", update={"stop": stop})


def _board_changes(turn: MemberTurn) -> tuple[dict[str, str], list[str] | None]:
    """The artifacts written and the last plan set by the turn's successful board calls."""
    failed = {m.tool_call_id for m in turn.new if isinstance(m, ToolMessage) and m.is_error}
    written: dict[str, str] = {}
    plan: list[str] | None = None
    for message in turn.new:
        if not isinstance(message, AssistantMessage):
            continue
        for call in message.tool_calls:
            if call.id in failed or call.error is not None:
                continue
            args = call.arguments
            if call.name == write_artifact.name and isinstance(args.get("name"), str):
                written[args["name"]] = str(args.get("content", ""))
            elif call.name == update_plan.name and isinstance(args.get("steps"), list):
                plan = [str(s) for s in args["steps"]]
    return written, plan


class _RoleNode:
    """One role's turn: it reads its view of the board and posts."""

    def __init__(self, member: Member, role: Role, roles: tuple[str, ...]) -> None:
        self.member = member
        self.role = role
        self.roles = roles

    async def __call__(self, state: BlackboardState) -> dict[str, Any]:
        board = _board(state, self.roles)
        ask = _TURN.format(role=self.role.name)
        view = [UserMessage(content=f"{render_board(board, self.role.view)}\n\n{ask}")]
        turn = await run_member(self.member, view, langchain=False)
        answer = turn.answer
        content = "" if answer is None else answer.text
        written, plan = _board_changes(turn)
        ran = [m for m in turn.new if isinstance(m, ToolMessage)]
        post = Post(
            role=self.role.name,
            round=state.get("round") or 1,
            content=content,
            mentions=mentions_in(content, self.roles),
            done=_says_done(content),
            tool_calls=len(ran),
            tool_errors=sum(1 for m in ran if m.is_error),
            tokens=turn.tokens,
            seconds=turn.seconds,
            artifacts=tuple(written),
            plan_updated=plan is not None,
        )
        usage = turn.usage(BudgetUsage.current(state.get("usage")), self.role.name)
        update: dict[str, Any] = {
            "posts": [*(state.get("posts") or []), post],
            "artifacts": {**(state.get("artifacts") or {}), **written},
            "usage": usage,
        }
        if plan is not None:
            update["plan"] = plan
        return update


class _Synthesize:
    """The final answer, from the whole board."""

    def __init__(self, role: Role, backend: Any, roles: tuple[str, ...]) -> None:
        self.role = role
        self.backend = backend
        self.roles = roles
        self.step = AgentStep(sampling=(role.options or AgentOptions()).sampling, final_answer=None)

    async def __call__(self, state: BlackboardState) -> dict[str, Any]:
        board = _board(state, self.roles)
        ask = "Write the final answer to the request."
        messages: list[AnyMessage] = [
            SystemMessage(content=self.role.prompt),
            UserMessage(content=f"{render_board(board)}\n\n{ask}"),
        ]
        model = get_model(self.role.name, default=self.backend)
        turn = await self.step.arun(model, messages, complete=astream_model)
        reply = turn.reply.model_copy(update={"tool_calls": ()})
        answer = named(reply, self.role.name)
        usage = state.get("usage") or BudgetUsage()
        return {"messages": [answer], "answer": reply.text, "usage": usage.ended()}


def create_blackboard(
    roles: Sequence[Role],
    *,
    model: ModelLike | None,
    turns: TurnPolicy | None = None,
    max_rounds: int = 3,
    stop_when: Callable[[Board], bool] | None = None,
    synthesizer: Role | None = None,
    budget: Budget | None = None,
    guardrails: Guardrails | None = None,
    checkpointer: Checkpointer | None = None,
    name: str = "blackboard",
) -> CompiledGraph:
    """A compiled blackboard orchestrator (see the module docs).

    Invoke it with ``{"request": "..."}`` or ``{"messages": [("user", "...")]}`` (and, if you
    like, a starting ``plan`` and ``artifacts``); the state is :class:`BlackboardState`, the
    answer is ``answer`` and the last message.

    Args:
        roles: the roles (:class:`Role`), in turn order.
        model: the model of every role without its own, of the coordinator without its
            own, and of the synthesizer (a backend, spec string or LangChain chat model;
            None: the run gives each role's).
        turns: who acts next (default :class:`~hone.agents.RoundRobin`).
        max_rounds: rounds at most (a round is ``len(roles)`` turns).
        stop_when: ends the work when it returns True for the board after a turn.
        synthesizer: the role that writes the answer (default: ``"synthesizer"`` with
            :data:`SYNTHESIS_PROMPT`; its tools are not used).
        budget: limits of each run (its turns, tokens and time apply).
        guardrails: every role's guardrails (bound to each role's name).
        checkpointer: saves each step.
        name: the graph's name.

    Raises:
        ConfigError: no roles, two with one name (or a name the graph uses: ``begin``,
            ``schedule``, ``synthesize``, the coordinator's, the synthesizer's), or
            ``max_rounds`` below 1.
    """
    pattern = "create_blackboard()"
    if max_rounds < 1:
        raise ConfigError(f"{pattern}: max_rounds must be at least 1, got {max_rounds}")
    policy = turns or RoundRobin()
    built = None if model is None else resolve_model(model)
    if isinstance(policy, Coordinator) and policy.model is None and built is not None:
        policy = dataclasses.replace(policy, model=built)
    synth = synthesizer or Role("synthesizer", SYNTHESIS_PROMPT)
    taken = [*_NODES, synth.name]
    if isinstance(policy, Coordinator):
        taken.append(policy.name)
    agents = [
        create_handoff_agent(
            role.model if role.model is not None else built,
            [*role.tools, *_BOARD_TOOLS],
            name=role.name,
            prompt=role.prompt,
            options=role.options,
            guardrails=guardrails,
        )
        for role in roles
    ]
    team = members(agents, pattern=pattern, taken=taken)
    names = tuple(m.name for m in team)
    plan = budget or Budget()
    schedule = _Schedule(names, policy, max_rounds, stop_when, plan)
    graph = StateGraph(BlackboardState)
    graph.add_node("begin", _begin)
    coordinator = (policy.name,) if isinstance(policy, Coordinator) else ()
    graph.add_node(
        "schedule",
        schedule,
        destinations=(*names, "synthesize"),
        metadata=role_metadata(*coordinator),
    )
    for member, role in zip(team, roles, strict=True):
        graph.add_node(
            member.name, _RoleNode(member, role, names), metadata=role_metadata(*member.roles)
        )
        graph.add_edge(member.name, "schedule")
    synth_model = synth.model if synth.model is not None else built
    graph.add_node(
        "synthesize",
        _Synthesize(synth, None if synth_model is None else resolve_model(synth_model), names),
        metadata=role_metadata(synth.name),
    )
    graph.add_edge(START, "begin")
    graph.add_edge("begin", "schedule")
    graph.add_edge("synthesize", END)
    most = max_rounds * len(names)  # each turn is two super-steps: schedule, then the role
    limit = plan.recursion_limit(steps_per_turn=2, extra=6, turns=most)
    return graph.compile(checkpointer, name=name).with_config(recursion_limit=limit)
