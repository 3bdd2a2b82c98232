"""Plan-and-execute: a planner writes the steps, a ReAct executor carries them out one at a
time, a replanner revises what is left, and a synthesizer writes the answer.

::

    START ─► planner ─► [review_plan] ─► execute ─► execute | replanner | synthesize
             replanner ─► [review_plan] | execute | synthesize
             synthesize ─► END            ([review_plan] only with approve_plan)

Plans and revisions are structured replies (:class:`Plan`, :class:`Replan`): a reply that
does not parse is shown to the model with its problems and retried within ``max_attempts``;
each try is a recorded model call. Every node calls its role's model (``planner``,
``executor``, ``replanner``, ``synthesizer``), so a rollout records each role's calls apart.
"""

from __future__ import annotations

import logging
import operator
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, Literal, NotRequired, TypedDict

from hone.agent._scope import report_stop
from hone.agent._step import FinalAnswer
from hone.agent._structured import StructuredStep
from hone.agents._roles import (
    Models,
    RoleModels,
    numbered,
    require_input,
    role_metadata,
    text_request,
)
from hone.agents._subagent import run_subagent
from hone.errors import ConfigError
from hone.graph._builder import StateGraph
from hone.graph._interrupt import interrupt
from hone.graph._model_stream import astream_model
from hone.graph._types import END, START, Command, Overwrite
from hone.graph.prebuilt._react import create_react_agent
from hone.graph.prebuilt._tool_node import ToolNode, pattern_tools
from hone.messages import UserMessage
from hone.models._protocol import ChatRequest, SamplingOptions
from hone.tools import ToolLike, ToolRegistry

if TYPE_CHECKING:
    from hone.checkpoint import Checkpointer
    from hone.graph._compiled import CompiledGraph

__all__ = [
    "EXECUTOR_PROMPT",
    "PLANNER_PROMPT",
    "REPLANNER_PROMPT",
    "SYNTHESIZER_PROMPT",
    "Plan",
    "PlanExecuteState",
    "Replan",
    "StepResult",
    "create_plan_and_execute",
]

logger = logging.getLogger(__name__)

_PATTERN = "create_plan_and_execute"
_ROLES = ("planner", "executor", "replanner", "synthesizer")

#: The planner's default system prompt.
PLANNER_PROMPT = (
    "You plan before anyone acts. Break the objective into the few steps that, done in "
    "order, reach its answer. Each step must stand on its own (name what it works on) and "
    "the last step must produce the answer; leave out steps that are not needed. Reply "
    'with only JSON: {"steps": ["first step", "second step"]}.'
)
#: The executor's default system prompt (the objective, plan and results follow it).
EXECUTOR_PROMPT = (
    "You carry out one step of a plan. Use the tools when they help, then reply with the "
    "step's result."
)
#: The replanner's default system prompt.
REPLANNER_PROMPT = (
    "You revise a plan while it is carried out. If the results so far answer the "
    'objective, reply {"done": true}. Otherwise reply {"done": false, "steps": [...]} with '
    "the steps still to do: redo failed steps another way, do not repeat finished ones. "
    "Reply with only the JSON."
)
#: The synthesizer's default system prompt.
SYNTHESIZER_PROMPT = (
    "Write the final answer to the objective from the results of the steps below. Answer "
    "the objective directly; say what is missing if the steps did not get there."
)


class Plan(TypedDict):
    """The planner's reply: the steps, in order."""

    steps: list[str]


class Replan(TypedDict):
    """The replanner's reply: done (the results answer the objective), or the steps still
    to do."""

    done: bool
    steps: NotRequired[list[str]]


class StepResult(TypedDict):
    """One executed step: the step, the executor's answer, and whether it went through (the
    executor answered within its budget and its last tool call did not fail)."""

    step: str
    result: str
    ok: bool


class PlanExecuteState(TypedDict):
    """The state of :func:`create_plan_and_execute`. Invoke with ``{"input": "..."}``.

    Attributes:
        input: the objective.
        plan: the steps still to do (the next one first).
        past_steps: the steps done, with their results, in order.
        response: the final answer (the synthesizer's, or the reviewer's rejection).
        feedback: what the human reviewer said about the last plan proposed (``approve_plan``
            with a ``response`` answer), for the next planning call.
    """

    input: str
    plan: NotRequired[list[str]]
    past_steps: NotRequired[Annotated[list[StepResult], operator.add]]
    response: NotRequired[str]
    feedback: NotRequired[str | None]


def _steps_problem(steps: Sequence[str]) -> str | None:
    if not steps:
        return "The plan has no steps; give at least one step."
    if any(not s.strip() for s in steps):
        return "A step is empty; write every step as a short instruction."
    return None


def _replan_problem(value: Replan) -> str | None:
    if value["done"]:
        return None
    problem = _steps_problem(value.get("steps", []))
    return None if problem is None else f'With "done": false, {problem[0].lower()}{problem[1:]}'


def _progress(state: Mapping[str, Any]) -> str:
    """The objective, the steps done (with results) and the steps left, as text."""
    done = [
        f"{r['step']}\n   result{'' if r['ok'] else ' (FAILED)'}: {r['result']}"
        for r in state.get("past_steps") or ()
    ]
    return (
        f"Objective: {state['input']}\n\nSteps done:\n{numbered(done)}\n\n"
        f"Steps left:\n{numbered(state.get('plan') or ())}"
    )


def _feedback_note(state: Mapping[str, Any]) -> str:
    feedback = state.get("feedback")
    return f"\n\nA reviewer said about the last plan: {feedback}" if feedback else ""


@dataclass(frozen=True, slots=True)
class _Settings:
    models: RoleModels
    planner: StructuredStep
    replanner: StructuredStep
    executor_prompt: str
    synthesizer_prompt: str
    sampling: SamplingOptions
    max_steps: int
    executor_steps: int
    replan_after: Literal["each_step", "failure"]
    approve_plan: bool


def _planner_node(s: _Settings) -> Callable[[Any], Awaitable[dict[str, Any]]]:
    async def planner(state: PlanExecuteState) -> dict[str, Any]:
        objective = require_input(state, _PATTERN)
        turn = await s.planner.arun(
            s.models.get("planner"),
            [UserMessage(content=f"Objective: {objective}{_feedback_note(state)}")],
            complete=astream_model,
        )
        steps = [step.strip() for step in turn.value["steps"]] if turn.ok else [objective]
        if not turn.ok:
            logger.warning(
                "the planner gave no usable plan in %d attempts (%s); executing the objective "
                "as one step",
                len(turn.attempts),
                "; ".join(turn.problems),
            )
        return {"plan": steps, "past_steps": Overwrite([]), "feedback": None}

    return planner


def _execute_node(
    s: _Settings, executor: CompiledGraph
) -> Callable[[Any], Awaitable[dict[str, Any]]]:
    async def execute(state: PlanExecuteState) -> dict[str, Any]:
        plan = list(state.get("plan") or ())
        step = plan[0]
        run = await run_subagent(
            executor,
            text_request(
                f"{s.executor_prompt}\n\n{_progress(state)}", f"Carry out this step: {step}"
            ),
            max_steps=s.executor_steps,
        )
        answer = run.answer
        result = StepResult(
            step=step,
            result="(no result: the executor ran out of steps)" if answer is None else answer,
            ok=answer is not None and not run.failed,
        )
        return {"plan": plan[1:], "past_steps": [result]}

    return execute


def _next_for(s: _Settings, state: Mapping[str, Any], plan: Sequence[str], *, new: bool) -> str:
    """Where a run goes once it has ``plan``: a new plan to review, the next step, or the
    answer (no steps left, or the step budget spent)."""
    if not plan or len(state.get("past_steps") or ()) >= s.max_steps:
        return "synthesize"
    return "review_plan" if new and s.approve_plan else "execute"


def _replanner_node(s: _Settings) -> Callable[[Any], Awaitable[Command[str]]]:
    async def replanner(state: PlanExecuteState) -> Command[str]:
        turn = await s.replanner.arun(
            s.models.get("replanner"),
            [UserMessage(content=_progress(state) + _feedback_note(state))],
            complete=astream_model,
        )
        if not turn.ok:
            logger.warning(
                "the replanner gave no usable reply in %d attempts (%s); keeping the plan",
                len(turn.attempts),
                "; ".join(turn.problems),
            )
            plan = list(state.get("plan") or ())
            return Command(update={"feedback": None}, goto=_next_for(s, state, plan, new=False))
        value: Replan = turn.value
        plan = [] if value["done"] else [step.strip() for step in value.get("steps", [])]
        return Command(
            update={"plan": plan, "feedback": None}, goto=_next_for(s, state, plan, new=True)
        )

    return replanner


#: What a reviewer may answer to a plan.
_DECISIONS = ("accept", "edit", "response", "reject")


def _decision(value: Any) -> tuple[str, Any] | str:
    """``(type, payload)`` for a reviewer's answer, or why it is not one (a sentence)."""
    answer: Mapping[str, Any] = value if isinstance(value, Mapping) else {"type": value}
    kind = "accept" if value is True else answer.get("type")
    if kind not in _DECISIONS:
        return (
            f"{value!r} is not a plan decision; answer with {{'type': ...}} where type is one "
            f"of {list(_DECISIONS)}"
        )
    if kind == "accept":
        return "accept", None
    if kind == "edit":
        plan = answer.get("plan")
        if not isinstance(plan, list) or not all(isinstance(x, str) for x in plan):
            return "an 'edit' decision needs 'plan': the list of steps to run instead"
        problem = _steps_problem(plan)
        return problem if problem is not None else ("edit", [x.strip() for x in plan])
    message = answer.get("message")
    if not isinstance(message, str) or not message.strip():
        return f"a {kind!r} decision needs 'message': the reviewer's words"
    return kind, message


def _review_plan(state: PlanExecuteState) -> Command[str]:
    """Pause for a human's decision on the plan (see :func:`create_plan_and_execute`)."""
    question: dict[str, Any] = {
        "question": "Approve this plan?",
        "plan": list(state.get("plan") or ()),
        "allowed": list(_DECISIONS),
    }
    while True:  # a malformed answer is asked again, with the problem
        decision = _decision(interrupt(question))
        if not isinstance(decision, str):
            break
        question = {**question, "error": decision}
    kind, payload = decision
    if kind == "accept":
        return Command(goto="execute")
    if kind == "edit":
        return Command(update={"plan": payload}, goto="execute")
    if kind == "reject":
        return Command(
            update={"plan": [], "response": f"The plan was rejected: {payload}"}, goto=END
        )
    # Feedback: the planner (nothing done yet) or the replanner plans again with it.
    again = "replanner" if state.get("past_steps") else "planner"
    return Command(update={"feedback": payload}, goto=again)


def _synthesize_node(s: _Settings) -> Callable[[Any], Awaitable[dict[str, Any]]]:
    async def synthesize(state: PlanExecuteState) -> dict[str, Any]:
        backend = s.models.get("synthesizer")
        request = ChatRequest(
            messages=tuple(text_request(s.synthesizer_prompt, _progress(state))),
            options=s.sampling,
        )
        completion = await astream_model(backend, request)
        # The pattern's own budget ended the run when steps were left undone.
        report_stop("step_budget" if state.get("plan") else "answered", backend)
        return {"response": completion.message.text}

    return synthesize


def _after_planner(s: _Settings) -> Callable[[Any], str]:
    def route(state: PlanExecuteState) -> str:
        return _next_for(s, state, state.get("plan") or (), new=True)

    return route


def _after_execute(s: _Settings) -> Callable[[Any], str]:
    def route(state: PlanExecuteState) -> str:
        past = state.get("past_steps") or ()
        if len(past) >= s.max_steps:
            return "synthesize"
        if s.replan_after == "each_step" or (past and not past[-1]["ok"]):
            return "replanner"
        return "execute" if state.get("plan") else "synthesize"

    return route


def create_plan_and_execute(
    model: Models,
    tools: ToolRegistry | Sequence[ToolLike] | ToolNode = (),
    *,
    planner_prompt: str = PLANNER_PROMPT,
    executor_prompt: str = EXECUTOR_PROMPT,
    replanner_prompt: str = REPLANNER_PROMPT,
    synthesizer_prompt: str = SYNTHESIZER_PROMPT,
    options: SamplingOptions | None = None,
    max_steps: int = 10,
    executor_steps: int = 5,
    max_attempts: int = 3,
    replan_after: Literal["each_step", "failure"] = "each_step",
    approve_plan: bool = False,
    checkpointer: Checkpointer | None = None,
    name: str = "plan_and_execute",
) -> CompiledGraph:
    """A compiled plan-and-execute agent (state :class:`PlanExecuteState`; invoke with
    ``{"input": "..."}``, read ``response``).

    ``planner`` writes a :class:`Plan`; ``execute`` runs its next step with a ReAct agent
    (``create_react_agent`` over ``tools``, role ``executor``) that sees the objective, the
    steps done with their results, and the steps left, and records a :class:`StepResult`;
    ``replanner`` (after every step, or with ``replan_after="failure"`` only after a failed
    step) answers a :class:`Replan`: done, or the steps still to do; ``synthesize`` writes
    the answer from the results. A step fails when the executor runs out of its
    ``executor_steps`` or its last tool call failed; a failed step always goes to the
    replanner. When ``max_steps`` steps have run, the synthesizer answers from what was
    done (the run's stop reason is then ``step_budget``).

    Bad replies are recovered inside the run: a plan that does not parse is shown to the
    model with its problems and retried (``max_attempts`` calls in all, each recorded in the
    trajectory); a planner that never gives one has the objective run as a single step, a
    replanner that never does keeps the plan.

    With ``approve_plan``, every new plan pauses at ``review_plan`` with
    ``interrupt({"question", "plan", "allowed"})``; resume with ``Command(resume=...)``::

        {"type": "accept"}                      # or True: run the plan
        {"type": "edit", "plan": ["...", ...]}  # run these steps instead
        {"type": "response", "message": "..."}  # plan again with this feedback
        {"type": "reject", "message": "why"}    # stop; ``response`` says it was rejected

    A malformed answer is asked again with an ``error``. Approval needs a ``checkpointer``.

    Args:
        model: one model for every role, a mapping of role (``planner``, ``executor``,
            ``replanner``, ``synthesizer``) to model, or None (the run gives them:
            :func:`~hone.graph.use_model`). Models are hone backends, spec strings or
            LangChain chat models.
        tools: the executor's tools (a list, a registry, or a ready ``ToolNode``).
        planner_prompt: the planner's system prompt.
        executor_prompt: the executor's system prompt.
        replanner_prompt: the replanner's system prompt.
        synthesizer_prompt: the synthesizer's system prompt.
        options: sampling options for every call.
        max_steps: steps executed at most, over all plans.
        executor_steps: tool rounds the executor may take per step before it must answer.
        max_attempts: calls per structured reply (plan, replan), first try included.
        replan_after: ``"each_step"`` (LangGraph's plan-and-execute) or ``"failure"``.
        approve_plan: pause for a human's approval of every new plan.
        checkpointer: saves each step; needed for approval, threads and resumes.
        name: the graph's name.

    Raises:
        ConfigError: a budget below 1, an unknown ``replan_after``, a models mapping that
            does not name exactly the roles, or ``approve_plan`` without a checkpointer.
    """
    for label, value in (
        ("max_steps", max_steps),
        ("executor_steps", executor_steps),
        ("max_attempts", max_attempts),
    ):
        if value < 1:
            raise ConfigError(f"{_PATTERN}: {label} must be at least 1, got {value}")
    if replan_after not in ("each_step", "failure"):
        raise ConfigError(
            f"{_PATTERN}: replan_after must be 'each_step' or 'failure', got {replan_after!r}"
        )
    if approve_plan and checkpointer is None:
        raise ConfigError(
            f"{_PATTERN}: approve_plan pauses the run for a human, which needs a checkpointer "
            "(checkpointer=InMemorySaver() or a database saver)"
        )
    sampling = options or SamplingOptions()
    models = RoleModels(model, _ROLES, pattern=_PATTERN)
    settings = _Settings(
        models=models,
        planner=StructuredStep(
            Plan,
            system=planner_prompt,
            sampling=sampling,
            max_attempts=max_attempts,
            check=lambda v: _steps_problem(v["steps"]),
        ),
        replanner=StructuredStep(
            Replan,
            system=replanner_prompt,
            sampling=sampling,
            max_attempts=max_attempts,
            check=_replan_problem,
        ),
        executor_prompt=executor_prompt,
        synthesizer_prompt=synthesizer_prompt,
        sampling=sampling,
        max_steps=max_steps,
        executor_steps=executor_steps,
        replan_after=replan_after,
        approve_plan=approve_plan,
    )
    executor = create_react_agent(
        models.built("executor"),
        pattern_tools(tools),
        options=sampling,
        final_answer=FinalAnswer(),
        role="executor",
        name="executor",
    )
    return _build(settings, executor).compile(checkpointer, name=name)


def _build(s: _Settings, executor: CompiledGraph) -> StateGraph:
    review = ("review_plan",) if s.approve_plan else ()
    graph = StateGraph(PlanExecuteState)
    graph.add_node("planner", _planner_node(s), metadata=role_metadata("planner"))
    if s.approve_plan:
        graph.add_node(
            "review_plan", _review_plan, destinations=("execute", "planner", "replanner", END)
        )
    graph.add_node("execute", _execute_node(s, executor), metadata=role_metadata("executor"))
    graph.add_node(
        "replanner",
        _replanner_node(s),
        metadata=role_metadata("replanner"),
        destinations=(*review, "execute", "synthesize"),
    )
    graph.add_node("synthesize", _synthesize_node(s), metadata=role_metadata("synthesizer"))
    graph.add_edge(START, "planner")
    graph.add_conditional_edges("planner", _after_planner(s), [*review, "execute", "synthesize"])
    graph.add_conditional_edges(
        "execute", _after_execute(s), ["execute", "replanner", "synthesize"]
    )
    graph.add_edge("synthesize", END)
    return graph
