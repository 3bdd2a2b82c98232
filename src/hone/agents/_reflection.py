"""Reflection: an author drafts, a critic critiques, the author revises, until the critic
accepts or the revisions run out; Reflexion when a tool's feedback on each draft (test
results, say) goes to the critic and the author.

::

    START ─► draft ─► [evaluate] ─► critique ─┬─► END (accepted, or out of revisions)
                          ▲                   └─► revise ─┐
                          └───────────────────────────────┘

The critic answers a :class:`Critique` (structured; a reply that does not fit is shown to it
and retried). The author's calls carry the role ``author``, the critic's ``critic``.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, NotRequired, TypedDict

from hone.agent._scope import report_stop
from hone.agent._structured import StructuredStep
from hone.agents._roles import Models, RoleModels, require_input, role_metadata, text_request
from hone.errors import ConfigError
from hone.graph._builder import StateGraph
from hone.graph._model_stream import astream_model
from hone.graph._types import END, START, Command, Overwrite
from hone.messages import AssistantMessage, SystemMessage, ToolCall, UserMessage, new_id, text_of
from hone.models._protocol import ChatRequest, SamplingOptions
from hone.tools import Tool, ToolLike, aexecute_tool_call
from hone.tools._convert import as_tool

if TYPE_CHECKING:
    from hone.checkpoint import Checkpointer
    from hone.graph._compiled import CompiledGraph

__all__ = [
    "AUTHOR_PROMPT",
    "CRITIC_PROMPT",
    "Critique",
    "ReflectionState",
    "ToolFeedback",
    "create_reflection_agent",
]

logger = logging.getLogger(__name__)

_PATTERN = "create_reflection_agent"
_ROLES = ("author", "critic")

#: The author's default system prompt.
AUTHOR_PROMPT = (
    "Do the task as well as you can. When you get a critique, rewrite your answer to "
    "address it. Reply with the answer only."
)
#: The critic's default system prompt.
CRITIC_PROMPT = (
    "You review an answer to a task. Accept it only when it is correct and complete; "
    "otherwise say precisely what to change. When tool feedback is shown (test results, "
    'say), weigh it first. Reply with only JSON: {"accept": true or false, "feedback": '
    '"what to change"}.'
)


class Critique(TypedDict):
    """The critic's verdict on a draft: accepted, and what to change."""

    accept: bool
    feedback: str


class ToolFeedback(TypedDict):
    """What the feedback tool said about a draft, and whether it passed (did not fail)."""

    tool: str
    output: str
    ok: bool


class ReflectionState(TypedDict):
    """The state of :func:`create_reflection_agent`. Invoke with ``{"input": "..."}``; the
    answer is ``response``.

    Attributes:
        input: the task.
        response: the current draft (the answer, when the run ends).
        critiques: the critic's verdicts, one per draft.
        tool_feedback: the feedback tool's output on each draft (Reflexion), in order.
        revisions: revisions made so far.
        accepted: whether the critic accepted the last draft (and, with a feedback tool,
            the tool passed it).
    """

    input: str
    response: NotRequired[str]
    critiques: NotRequired[Annotated[list[Critique], operator.add]]
    tool_feedback: NotRequired[Annotated[list[ToolFeedback], operator.add]]
    revisions: NotRequired[int]
    accepted: NotRequired[bool]


def _draft_parameter(tool: Tool) -> str:
    """The one parameter of ``tool`` that receives the draft.

    Raises:
        ConfigError: the tool does not have exactly one (required) parameter for it.
    """
    properties = list((tool.parameters.get("properties") or {}).keys())
    required = list(tool.parameters.get("required") or ())
    if len(properties) == 1:
        return str(properties[0])
    if len(required) == 1:
        return str(required[0])
    raise ConfigError(
        f"{_PATTERN}: feedback_tool {tool.name!r} must take the draft as its one required "
        f"parameter; it has {properties or 'none'} (required: {required or 'none'})"
    )


@dataclass(frozen=True, slots=True)
class _Settings:
    models: RoleModels
    critic: StructuredStep
    author_prompt: str
    sampling: SamplingOptions
    max_revisions: int
    tool: Tool | None
    parameter: str


def _feedback_text(feedback: ToolFeedback | None) -> str:
    if feedback is None:
        return ""
    verdict = "passed" if feedback["ok"] else "FAILED"
    return f"\n\nFeedback from {feedback['tool']} ({verdict}):\n{feedback['output']}"


def _last(state: Mapping[str, Any], key: str) -> Any:
    items = state.get(key) or ()
    return items[-1] if items else None


async def _write(s: _Settings, messages: list[Any]) -> str:
    request = ChatRequest(messages=tuple(messages), options=s.sampling)
    completion = await astream_model(s.models.get("author"), request)
    return str(completion.message.text)


def _draft_node(s: _Settings) -> Callable[[Any], Awaitable[dict[str, Any]]]:
    async def draft(state: ReflectionState) -> dict[str, Any]:
        task = require_input(state, _PATTERN)
        text = await _write(s, text_request(s.author_prompt, task))
        # A new run on a thread starts its record afresh.
        return {
            "response": text,
            "critiques": Overwrite([]),
            "tool_feedback": Overwrite([]),
            "revisions": 0,
            "accepted": False,
        }

    return draft


def _revise_node(s: _Settings) -> Callable[[Any], Awaitable[dict[str, Any]]]:
    async def revise(state: ReflectionState) -> dict[str, Any]:
        critiques = state.get("critiques") or []
        latest = critiques[-1]
        earlier = [c["feedback"] for c in critiques[:-1] if not c["accept"]]
        memory = (
            "\n\nEarlier critiques (keep them addressed):\n" + "\n".join(f"- {f}" for f in earlier)
            if earlier
            else ""
        )
        request = (
            f"Critique: {latest['feedback']}{_feedback_text(_last(state, 'tool_feedback'))}{memory}"
            "\n\nRewrite your answer."
        )
        messages = [
            SystemMessage(content=s.author_prompt),
            UserMessage(content=state["input"]),
            AssistantMessage(content=state.get("response", "")),
            UserMessage(content=request),
        ]
        text = await _write(s, messages)
        return {"response": text, "revisions": state.get("revisions", 0) + 1}

    return revise


def _evaluate_node(tool: Tool, parameter: str) -> Callable[[Any], Awaitable[dict[str, Any]]]:
    async def evaluate(state: ReflectionState) -> dict[str, Any]:
        call = ToolCall(
            id=new_id("call_"), name=tool.name, arguments={parameter: state["response"]}
        )
        result = await aexecute_tool_call(call, [tool])
        output = result.content if isinstance(result.content, str) else text_of(result.content)
        return {
            "tool_feedback": [ToolFeedback(tool=tool.name, output=output, ok=not result.is_error)]
        }

    return evaluate


def _critique_node(s: _Settings) -> Callable[[Any], Awaitable[Command[str]]]:
    async def critique(state: ReflectionState) -> Command[str]:
        tool_feedback: ToolFeedback | None = _last(state, "tool_feedback") if s.tool else None
        prompt = (
            f"Task:\n{state['input']}\n\nAnswer:\n{state.get('response', '')}"
            f"{_feedback_text(tool_feedback)}"
        )
        turn = await s.critic.arun(
            s.models.get("critic"), [UserMessage(content=prompt)], complete=astream_model
        )
        if not turn.ok:
            logger.warning(
                "the critic gave no usable verdict in %d attempts (%s); keeping the draft",
                len(turn.attempts),
                "; ".join(turn.problems),
            )
            report_stop("answered", s.models.get("author"))
            return Command(update={"accepted": False}, goto=END)
        verdict = Critique(accept=turn.value["accept"], feedback=turn.value["feedback"])
        # A draft the tool fails is never accepted, whatever the critic says.
        accepted = verdict["accept"] and (tool_feedback is None or tool_feedback["ok"])
        update = {"critiques": [verdict], "accepted": accepted}
        if not accepted and state.get("revisions", 0) < s.max_revisions:
            return Command(update=update, goto="revise")
        report_stop("answered" if accepted else "step_budget", s.models.get("author"))
        return Command(update=update, goto=END)

    return critique


def create_reflection_agent(
    model: Models,
    *,
    feedback_tool: ToolLike | None = None,
    author_prompt: str = AUTHOR_PROMPT,
    critic_prompt: str = CRITIC_PROMPT,
    options: SamplingOptions | None = None,
    max_revisions: int = 3,
    max_attempts: int = 3,
    checkpointer: Checkpointer | None = None,
    name: str = "reflection",
) -> CompiledGraph:
    """A compiled reflection agent (state :class:`ReflectionState`; invoke with
    ``{"input": "..."}``, read ``response`` and ``accepted``).

    ``draft`` writes a first answer (role ``author``); ``critique`` (role ``critic``)
    answers a :class:`Critique`; until it accepts, ``revise`` rewrites the draft from the
    latest critique (and the earlier ones, so fixed problems stay fixed), at most
    ``max_revisions`` times. A critic reply that does not fit is shown to it and retried
    (``max_attempts`` calls, each recorded); a critic that never gives one ends the run
    with the current draft, not accepted.

    Reflexion: with ``feedback_tool`` (a tool taking the draft as its one parameter: a
    test runner, a linter, a checker), node ``evaluate`` runs it on every draft; the critic
    and the next revision see its output, and a draft the tool fails (the tool raised, so
    its result is an error) is never accepted.

    Args:
        model: one model for both roles, a mapping of role (``author``, ``critic``) to
            model, or None (the run gives them). Models are hone backends, spec strings or
            LangChain chat models.
        feedback_tool: the tool whose feedback on each draft the critic sees (Reflexion).
        author_prompt: the author's system prompt.
        critic_prompt: the critic's system prompt.
        options: sampling options for every call.
        max_revisions: revisions at most.
        max_attempts: calls per critique, first try included.
        checkpointer: saves each step; needed for threads and resumes.
        name: the graph's name.

    Raises:
        ConfigError: ``max_revisions`` below 0 or ``max_attempts`` below 1; a feedback
            tool without exactly one parameter for the draft; a models mapping that does not
            name exactly the roles.
    """
    if max_revisions < 0:
        raise ConfigError(f"{_PATTERN}: max_revisions must be at least 0, got {max_revisions}")
    if max_attempts < 1:
        raise ConfigError(f"{_PATTERN}: max_attempts must be at least 1, got {max_attempts}")
    tool = None if feedback_tool is None else as_tool(feedback_tool)
    sampling = options or SamplingOptions()
    s = _Settings(
        models=RoleModels(model, _ROLES, pattern=_PATTERN),
        critic=StructuredStep(
            Critique, system=critic_prompt, sampling=sampling, max_attempts=max_attempts
        ),
        author_prompt=author_prompt,
        sampling=sampling,
        max_revisions=max_revisions,
        tool=tool,
        parameter="" if tool is None else _draft_parameter(tool),
    )
    graph = StateGraph(ReflectionState)
    graph.add_node("draft", _draft_node(s), metadata=role_metadata("author"))
    graph.add_node(
        "critique",
        _critique_node(s),
        metadata=role_metadata("critic"),
        destinations=("revise", END),
    )
    graph.add_node("revise", _revise_node(s), metadata=role_metadata("author"))
    checked = "critique"
    if tool is not None:
        graph.add_node("evaluate", _evaluate_node(tool, s.parameter))
        graph.add_edge("evaluate", "critique")
        checked = "evaluate"
    graph.add_edge(START, "draft")
    graph.add_edge("draft", checked)
    graph.add_edge("revise", checked)
    return graph.compile(checkpointer, name=name)
