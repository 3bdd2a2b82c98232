"""Tree of thoughts: grow partial solutions one thought at a time, keep the best few.

::

    START ─► root ─(Send × k per kept state)─► propose ─► evaluate ─┬─(Send × k ...)─► propose
                                                                    └─► END

Each round, every state in the beam gets ``k`` proposals of its next thought (one
``propose`` task each, fanned out with ``Send``, run concurrently); ``evaluate`` scores the
new states (with any hone :class:`~hone.rewards.Reward`, or a judge model answering a
:class:`ThoughtScore`), keeps the ``beam_width`` best, and stops once one reaches the
``threshold`` or the tree is ``max_depth`` thoughts deep. Proposals carry the role
``proposer``, judge calls ``judge``.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any, NotRequired, TypedDict

from pydantic import Field

from hone.agent._scope import StopReason, report_stop
from hone.agent._structured import StructuredStep
from hone.agents._roles import (
    Models,
    RoleModels,
    numbered,
    require_input,
    role_metadata,
    text_request,
)
from hone.errors import ConfigError
from hone.graph._builder import StateGraph
from hone.graph._model_stream import astream_model
from hone.graph._types import END, START, Overwrite, Send
from hone.messages import UserMessage
from hone.models._protocol import ChatRequest, SamplingOptions
from hone.rewards._protocol import Reward
from hone.trajectory import Episode, task_id_of

if TYPE_CHECKING:
    from hone.checkpoint import Checkpointer
    from hone.graph._compiled import CompiledGraph

__all__ = [
    "JUDGE_PROMPT",
    "PROPOSE_PROMPT",
    "Thought",
    "ThoughtScore",
    "TreeState",
    "create_tree_of_thoughts",
]

logger = logging.getLogger(__name__)

_PATTERN = "create_tree_of_thoughts"

#: The proposer's default system prompt.
PROPOSE_PROMPT = (
    "You solve a problem one step at a time. Given the problem and the steps so far, write "
    "the single next step, and nothing else."
)
#: The judge's default system prompt.
JUDGE_PROMPT = (
    "You rate partial solutions. Given a problem and the steps taken so far, rate how likely "
    "they lead to a correct solution, from 0 (a mistake, or a dead end) to 1 (solved). "
    'Reply with only JSON: {"score": <0 to 1>, "reason": "..."}.'
)


class Thought(TypedDict):
    """A state of the search: the thoughts so far, and its score (None before scoring)."""

    steps: list[str]
    score: float | None


class ThoughtScore(TypedDict):
    """The judge's rating of a state: 0 (dead end) to 1 (solved), and why."""

    # The bounds go into the request's schema, so constrained decoding keeps to them.
    score: Annotated[float, Field(ge=0, le=1)]
    reason: str


def _extend(current: list[Thought], new: list[Thought]) -> list[Thought]:
    return [*current, *new]


class TreeState(TypedDict):
    """The state of :func:`create_tree_of_thoughts`. Invoke with ``{"input": "..."}``; the
    answer is ``best``.

    Attributes:
        input: the problem.
        beam: the states kept after the last round, best first.
        candidates: the states proposed in the current round (emptied by ``evaluate``).
        depth: the rounds done (thoughts per state).
        best: the best state scored so far.
        solved: whether ``best`` reached the threshold.
    """

    input: str
    beam: NotRequired[list[Thought]]
    candidates: NotRequired[Annotated[list[Thought], _extend]]
    depth: NotRequired[int]
    best: NotRequired[Thought | None]
    solved: NotRequired[bool]


@dataclass(frozen=True, slots=True)
class _Settings:
    models: RoleModels
    reward: Reward | None
    judge: StructuredStep
    propose_prompt: str
    sampling: SamplingOptions
    k: int
    beam_width: int
    max_depth: int
    threshold: float | None


def _state_text(problem: str, steps: Sequence[str]) -> str:
    return f"Problem: {problem}\n\nSteps so far:\n{numbered(steps)}"


def _root(state: TreeState) -> dict[str, Any]:
    require_input(state, _PATTERN)
    # A new run on a thread starts a new tree.
    root = Thought(steps=[], score=None)
    return {"beam": [root], "candidates": Overwrite([]), "depth": 0, "best": None, "solved": False}


def _fan_out(s: _Settings) -> Callable[[Any], list[Send] | str]:
    def expand(state: TreeState) -> list[Send] | str:
        if state.get("solved") or state.get("depth", 0) >= s.max_depth:
            return END
        sends = [
            Send("propose", {"input": state["input"], "steps": list(thought["steps"])})
            for thought in state.get("beam") or ()
            for _ in range(s.k)
        ]
        return sends or END  # every state was a dead end

    return expand


def _propose_node(s: _Settings) -> Callable[[Any], Awaitable[dict[str, Any]]]:
    # The input is a Send packet {"input", "steps"}, not the graph's state.
    async def propose(packet: Any) -> dict[str, Any]:
        steps = list(packet["steps"])
        request = ChatRequest(
            messages=tuple(
                text_request(
                    s.propose_prompt, _state_text(packet["input"], steps) + "\n\nNext step:"
                )
            ),
            options=s.sampling,
        )
        completion = await astream_model(s.models.get("proposer"), request)
        thought = completion.message.text.strip()
        if not thought:  # an empty proposal is no state; the trajectory keeps the call
            return {"candidates": []}
        return {"candidates": [Thought(steps=[*steps, thought], score=None)]}

    return propose


def _unique(candidates: Sequence[Thought]) -> list[Thought]:
    seen: set[tuple[str, ...]] = set()
    out = []
    for thought in candidates:
        key = tuple(thought["steps"])
        if key not in seen:
            seen.add(key)
            out.append(thought)
    return out


async def _reward_scores(
    reward: Reward, problem: str, candidates: Sequence[Thought], depth: int
) -> list[float | None]:
    """Each state scored as an episode whose output is its thoughts, one per line."""
    episodes = [
        Episode(
            task_id=task_id_of(problem),
            task=problem,
            role="proposer",
            messages=[
                {"role": "user", "content": problem},
                {"role": "assistant", "content": "\n".join(c["steps"])},
            ],
            output="\n".join(c["steps"]),
            metadata={"steps": list(c["steps"]), "depth": depth},
        )
        for c in candidates
    ]
    results = await reward.score(episodes)
    return [r.value for r in results]


async def _judge_scores(
    s: _Settings, problem: str, candidates: Sequence[Thought]
) -> list[float | None]:
    judge = s.models.get("judge")

    async def one(thought: Thought) -> float | None:
        prompt = _state_text(problem, thought["steps"])
        turn = await s.judge.arun(judge, [UserMessage(content=prompt)], complete=astream_model)
        return float(turn.value["score"]) if turn.ok else None

    return list(await asyncio.gather(*(one(c) for c in candidates)))


def _evaluate_node(s: _Settings) -> Callable[[Any], Awaitable[dict[str, Any]]]:
    async def evaluate(state: TreeState) -> dict[str, Any]:
        problem, depth = state["input"], state.get("depth", 0) + 1
        candidates = _unique(state.get("candidates") or ())
        if s.reward is not None:
            scores = await _reward_scores(s.reward, problem, candidates, depth)
        else:
            scores = await _judge_scores(s, problem, candidates)
        unscored = sum(score is None for score in scores)
        if unscored:
            logger.info("%d of %d states could not be scored; dropped", unscored, len(scores))
        scored = [
            Thought(steps=c["steps"], score=score)
            for c, score in zip(candidates, scores, strict=True)
            if score is not None
        ]
        scored.sort(key=lambda t: -(t["score"] or 0.0))  # stable: ties keep proposal order
        beam = scored[: s.beam_width]
        best = state.get("best")
        if beam and (best is None or (beam[0]["score"] or 0.0) > (best["score"] or 0.0)):
            best = beam[0]
        solved = _reached(s.threshold, best)
        if solved or depth >= s.max_depth or not beam:
            stop: StopReason = "answered" if solved or s.threshold is None else "step_budget"
            report_stop(stop, s.models.get("proposer"))
        return {
            "beam": beam,
            "candidates": Overwrite([]),
            "depth": depth,
            "best": best,
            "solved": solved,
        }

    return evaluate


def _reached(threshold: float | None, best: Mapping[str, Any] | None) -> bool:
    return threshold is not None and best is not None and (best["score"] or 0.0) >= threshold


def create_tree_of_thoughts(
    model: Models,
    *,
    reward: Reward | None = None,
    k: int = 3,
    beam_width: int = 2,
    max_depth: int = 3,
    threshold: float | None = None,
    propose_prompt: str = PROPOSE_PROMPT,
    judge_prompt: str = JUDGE_PROMPT,
    options: SamplingOptions | None = None,
    max_attempts: int = 3,
    checkpointer: Checkpointer | None = None,
    name: str = "tree_of_thoughts",
) -> CompiledGraph:
    """A compiled tree-of-thoughts search (state :class:`TreeState`; invoke with
    ``{"input": "..."}``, read ``best`` and ``solved``).

    A state is a list of thoughts (steps). Each round, every state in the beam gets ``k``
    proposals of its next thought (role ``proposer``; ``propose`` tasks sent with ``Send``,
    run concurrently); repeated proposals count once and empty ones are dropped. The new
    states are scored by ``reward`` — each as an :class:`~hone.trajectory.Episode` whose
    ``output`` is its thoughts one per line, with ``metadata["steps"]`` the list and
    ``task`` the problem — or, without one, by a judge model (role ``judge``) answering a
    :class:`ThoughtScore` (retried when it does not fit, ``max_attempts`` calls); states
    without a score are dropped. The ``beam_width`` best are kept; the run stops when the
    best state so far reaches ``threshold``, after ``max_depth`` rounds, or when no state
    is left.

    Args:
        model: one model for every role, a mapping of role (``proposer``, and ``judge``
            when no ``reward`` is given) to model, or None (the run gives them).
        reward: scores the states (any hone reward); None: the judge model does.
        k: proposals per kept state and round.
        beam_width: states kept per round.
        max_depth: rounds at most (thoughts per state).
        threshold: the score that ends the search; None: search to ``max_depth``.
        propose_prompt: the proposer's system prompt.
        judge_prompt: the judge's system prompt.
        options: sampling options for every call (sample with temperature > 0, or the k
            proposals of a state will mostly be the same).
        max_attempts: calls per judge rating, first try included.
        checkpointer: saves each step; needed for threads and resumes.
        name: the graph's name.

    Raises:
        ConfigError: ``k``, ``beam_width``, ``max_depth`` or ``max_attempts`` below 1; a
            ``reward`` that is not a hone Reward; a models mapping that does not name
            exactly the roles.
    """
    for label, value in (
        ("k", k),
        ("beam_width", beam_width),
        ("max_depth", max_depth),
        ("max_attempts", max_attempts),
    ):
        if value < 1:
            raise ConfigError(f"{_PATTERN}: {label} must be at least 1, got {value}")
    if reward is not None and not isinstance(reward, Reward):
        raise ConfigError(
            f"{_PATTERN}: reward must be a hone Reward (an object with an async "
            f"score(episodes) method, e.g. hone.rewards.reward_fn(fn)), got {reward!r}"
        )
    roles = ("proposer",) if reward is not None else ("proposer", "judge")
    sampling = options or SamplingOptions()
    s = _Settings(
        models=RoleModels(model, roles, pattern=_PATTERN),
        reward=reward,
        judge=StructuredStep(
            ThoughtScore,
            system=judge_prompt,
            sampling=sampling,
            max_attempts=max_attempts,
        ),
        propose_prompt=propose_prompt,
        sampling=sampling,
        k=k,
        beam_width=beam_width,
        max_depth=max_depth,
        threshold=threshold,
    )
    graph = StateGraph(TreeState)
    graph.add_node("root", _root)
    graph.add_node("propose", _propose_node(s), metadata=role_metadata("proposer"))
    graph.add_node("evaluate", _evaluate_node(s), metadata=role_metadata(*roles[1:]))
    graph.add_edge(START, "root")
    graph.add_conditional_edges("root", _fan_out(s), ["propose", END])
    graph.add_edge("propose", "evaluate")
    graph.add_conditional_edges("evaluate", _fan_out(s), ["propose", END])
    return graph.compile(checkpointer, name=name)
