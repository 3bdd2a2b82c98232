"""Solver–judge: N solvers answer the same problem concurrently, a judge picks one.

::

    START ─► root ─(Send × N)─► solve ─► judge ─► END

Each solver is a ReAct agent (with tools, or a single answer without) whose calls carry the
role ``solver_<i>``; the judge answers a :class:`JudgePick` with the index of the answer it
picks (role ``judge``). An index out of range is shown to the judge and retried; a judge
that never gives a usable pick falls back to the most common answer. Keeping each solver's
role apart lets training reward every solver by its own answer and the judge by its pick.
"""

from __future__ import annotations

import logging
import operator
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, NotRequired, TypedDict

from hone.agent._scope import report_stop
from hone.agent._step import FinalAnswer
from hone.agent._structured import StructuredStep
from hone.agents._roles import RoleModels, require_input, role_metadata
from hone.agents._subagent import run_subagent
from hone.errors import ConfigError
from hone.graph._builder import StateGraph
from hone.graph._model_stream import astream_model
from hone.graph._types import END, START, Overwrite, Send
from hone.graph.prebuilt._react import create_react_agent
from hone.graph.prebuilt._tool_node import ToolNode, pattern_tools
from hone.interop._model import ModelLike
from hone.messages import UserMessage
from hone.models._protocol import SamplingOptions
from hone.tools import ToolLike, ToolRegistry

if TYPE_CHECKING:
    from hone.checkpoint import Checkpointer
    from hone.graph._compiled import CompiledGraph

__all__ = [
    "JUDGE_PICK_PROMPT",
    "SOLVER_PROMPT",
    "JudgePick",
    "SolverAnswer",
    "SolverJudgeState",
    "create_solver_judge",
    "solver_role",
]

logger = logging.getLogger(__name__)

_PATTERN = "create_solver_judge"

#: The solvers' default system prompt.
SOLVER_PROMPT = "Solve the problem. Use the tools when they help; end with your answer."
#: The judge's default system prompt.
JUDGE_PICK_PROMPT = (
    "Several solvers answered the same problem. Check their answers and pick the best one "
    'by its number. Reply with only JSON: {"index": <number>, "reason": "..."}.'
)


def solver_role(index: int) -> str:
    """The role of solver ``index`` (``solver_0``, ``solver_1``, ...)."""
    return f"solver_{index}"


class SolverAnswer(TypedDict):
    """One solver's answer.

    Attributes:
        solver: the solver's index.
        answer: its final answer's text.
        ok: whether it answered within its budget (and its last tool call did not fail).
    """

    solver: int
    answer: str
    ok: bool


class JudgePick(TypedDict):
    """The judge's pick: the index of the best answer, and why."""

    index: int
    reason: str


class SolverJudgeState(TypedDict):
    """The state of :func:`create_solver_judge`. Invoke with ``{"input": "..."}``; the
    answer is ``response``.

    Attributes:
        input: the problem.
        candidates: the solvers' answers, in the order they finished (``solver`` says whose).
        choice: the solver whose answer was picked (None before the judge ran).
        reason: the judge's reason, or why the fallback picked.
        response: the picked answer.
    """

    input: str
    candidates: NotRequired[Annotated[list[SolverAnswer], operator.add]]
    choice: NotRequired[int | None]
    reason: NotRequired[str]
    response: NotRequired[str]


@dataclass(frozen=True, slots=True)
class _Settings:
    models: RoleModels
    solvers: tuple[CompiledGraph, ...]
    judge: StructuredStep
    solver_steps: int


def _root(state: SolverJudgeState) -> dict[str, Any]:
    require_input(state, _PATTERN)
    return {"candidates": Overwrite([]), "choice": None}  # a new run on a thread starts afresh


def _fan_out(s: _Settings) -> Callable[[Any], list[Send]]:
    def solve_all(state: SolverJudgeState) -> list[Send]:
        return [
            Send("solve", {"input": state["input"], "solver": i}) for i in range(len(s.solvers))
        ]

    return solve_all


def _solve_node(s: _Settings) -> Callable[[Any], Awaitable[dict[str, Any]]]:
    # The input is a Send packet {"input", "solver"}, not the graph's state.
    async def solve(packet: Any) -> dict[str, Any]:
        index = int(packet["solver"])
        run = await run_subagent(
            s.solvers[index], [UserMessage(content=packet["input"])], max_steps=s.solver_steps
        )
        answer = run.answer
        candidate = SolverAnswer(
            solver=index,
            answer="" if answer is None else answer,
            ok=answer is not None and not run.failed,
        )
        return {"candidates": [candidate]}

    return solve


def _majority(candidates: Sequence[SolverAnswer]) -> int:
    """The position of the most common answer (the first of them on a tie)."""
    counts = Counter(c["answer"].strip() for c in candidates)
    top = max(counts.values())
    return next(i for i, c in enumerate(candidates) if counts[c["answer"].strip()] == top)


def _pick_schema(solvers: int) -> dict[str, Any]:
    """The JSON schema of a :class:`JudgePick` among ``solvers`` answers: the index bounds
    are in the schema, so constrained decoding keeps to them and every backend's check
    reports an index out of range to the judge."""
    return {
        "title": "JudgePick",
        "description": "The index of the best answer, and why.",
        "type": "object",
        "properties": {
            "index": {"type": "integer", "minimum": 0, "maximum": solvers - 1},
            "reason": {"type": "string"},
        },
        "required": ["index", "reason"],
        "additionalProperties": False,
    }


def _judge_node(s: _Settings) -> Callable[[Any], Awaitable[dict[str, Any]]]:
    async def judge(state: SolverJudgeState) -> dict[str, Any]:
        candidates = sorted(state.get("candidates") or (), key=lambda c: c["solver"])
        listed = "\n\n".join(f"[{i}] {c['answer']}" for i, c in enumerate(candidates))
        backend = s.models.get("judge")
        prompt = f"Problem: {state['input']}\n\nAnswers:\n{listed}\n\nWhich answer is best?"
        turn = await s.judge.arun(backend, [UserMessage(content=prompt)], complete=astream_model)
        report_stop("answered", backend)
        if turn.ok:
            picked, reason = turn.value["index"], turn.value["reason"]
        else:
            picked = _majority(candidates)
            reason = (
                f"the judge gave no usable pick in {len(turn.attempts)} attempts "
                f"({'; '.join(turn.problems)}); the most common answer was taken"
            )
            logger.warning("solver-judge: %s", reason)
        chosen = candidates[picked]
        return {"choice": chosen["solver"], "reason": reason, "response": chosen["answer"]}

    return judge


def create_solver_judge(
    solvers: Sequence[ModelLike | None],
    judge: ModelLike | None,
    tools: ToolRegistry | Sequence[ToolLike] | ToolNode = (),
    *,
    solver_prompt: str = SOLVER_PROMPT,
    judge_prompt: str = JUDGE_PICK_PROMPT,
    options: SamplingOptions | None = None,
    solver_steps: int = 5,
    max_attempts: int = 3,
    checkpointer: Checkpointer | None = None,
    name: str = "solver_judge",
) -> CompiledGraph:
    """A compiled solver–judge system (state :class:`SolverJudgeState`; invoke with
    ``{"input": "..."}``, read ``response`` and ``choice``).

    Every solver answers the problem concurrently (one ``solve`` task each, sent with
    ``Send``): a ReAct agent over ``tools`` (``create_react_agent``, role
    :func:`solver_role` ``(i)``) with at most ``solver_steps`` tool rounds before its final
    answer. The judge (role ``judge``) sees the problem and the answers numbered from 0 and
    answers a :class:`JudgePick` (the index bounds are in the request's schema, so
    constrained decoding keeps to them); a reply that does not fit or an index out of
    range is shown to it and retried (``max_attempts`` calls, each recorded); a judge that
    never gives a usable pick falls back to the most common answer (``reason`` says so).

    To train the solvers and the judge, roll the graph out with ``roles=roles_of(graph)``:
    each solver's calls and the judge's become episodes of their own, which a reward can
    score per role.

    Args:
        solvers: each solver's model (a hone backend, spec string or LangChain chat model;
            None: the run gives it). The same model several times is one model sampled
            several times.
        judge: the judge's model (None: the run gives it).
        tools: the solvers' tools (a list, a registry, or a ready ``ToolNode``).
        solver_prompt: the solvers' system prompt.
        judge_prompt: the judge's system prompt.
        options: sampling options for every call.
        solver_steps: tool rounds per solver before it must answer.
        max_attempts: calls per pick, first try included.
        checkpointer: saves each step; needed for threads and resumes.
        name: the graph's name.

    Raises:
        ConfigError: no solvers, ``solver_steps`` or ``max_attempts`` below 1.
    """
    if isinstance(solvers, str) or not isinstance(solvers, Sequence) or not solvers:
        raise ConfigError(
            f"{_PATTERN}: solvers must be a non-empty list of models (one per solver), "
            f"got {solvers!r}"
        )
    for label, value in (("solver_steps", solver_steps), ("max_attempts", max_attempts)):
        if value < 1:
            raise ConfigError(f"{_PATTERN}: {label} must be at least 1, got {value}")
    roles = [solver_role(i) for i in range(len(solvers))]
    models = RoleModels(
        {**dict(zip(roles, solvers, strict=True)), "judge": judge},
        [*roles, "judge"],
        pattern=_PATTERN,
    )
    sampling = options or SamplingOptions()
    agents = tuple(
        create_react_agent(
            models.built(role),
            pattern_tools(tools),
            prompt=solver_prompt,
            options=sampling,
            final_answer=FinalAnswer(),
            role=role,
            name=role,
        )
        for role in roles
    )
    s = _Settings(
        models=models,
        solvers=agents,
        judge=StructuredStep(
            _pick_schema(len(agents)),
            system=judge_prompt,
            sampling=sampling,
            max_attempts=max_attempts,
        ),
        solver_steps=solver_steps,
    )
    graph = StateGraph(SolverJudgeState)
    graph.add_node("root", _root)
    graph.add_node("solve", _solve_node(s), metadata=role_metadata(*roles))
    graph.add_node("judge", _judge_node(s), metadata=role_metadata("judge"))
    graph.add_edge(START, "root")
    graph.add_conditional_edges("root", _fan_out(s), ["solve"])
    graph.add_edge("solve", "judge")
    graph.add_edge("judge", END)
    return graph.compile(checkpointer, name=name)
