"""Sequential refinement: generate, score (and optionally critique), revise, repeat.

Each round shows the model its previous answer with its score and critique and asks for a
better one; the best-scoring answer over all rounds is kept. It stops at ``rounds`` revisions,
at the budget, or as soon as an answer reaches ``target``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal

from hone._sync import run_sync
from hone.errors import ConfigError
from hone.messages import MessageLike
from hone.models import Usage
from hone.search._budget import Budget, Spend, StopReason
from hone.search._candidates import (
    Candidate,
    Sampler,
    Scorer,
    answer_of,
    call_sampler,
    score_candidates,
)

__all__ = ["Feedback", "RefineResult", "Reviser", "arefine", "refine"]


@dataclass(frozen=True, slots=True)
class Feedback:
    """What a revision is told about the answer it revises."""

    score: float | None
    #: A critique's text, when a critic is given.
    critique: str | None = None


#: ``revise(previous_answer, feedback)`` -> a new candidate (a Completion or a value).
Reviser = Callable[[Any, Feedback], Any]


@dataclass(frozen=True, slots=True)
class RefineResult:
    """What refinement found.

    Attributes:
        best: the best-scoring answer over all rounds (the earliest among equals).
        history: every answer in order (``round`` 0 is the first draft).
        calls: generator, reviser and critic calls made.
        usage: tokens they reported.
        stopped: ``target`` (an answer reached it), ``done`` (rounds ran out), or the budget
            (``calls``, ``model_calls``, ``tokens``).
        model_calls: model calls they reported (one per call unless it reported a
            :class:`~hone.search.Cost`); may exceed a model-call budget by what the last call
            spent beyond one.
    """

    best: Candidate | None
    history: tuple[Candidate, ...]
    calls: int
    usage: Usage
    stopped: StopReason
    model_calls: int = 0


async def arefine(
    generate: Sampler,
    revise: Reviser,
    score: Scorer,
    *,
    rounds: int = 3,
    budget: Budget | None = None,
    target: float | None = None,
    critique: Callable[[Any, float | None], Any] | None = None,
    revise_from: Literal["latest", "best"] = "latest",
    task: Any = None,
    prompt: Sequence[MessageLike] | MessageLike | None = None,
) -> RefineResult:
    """Generate a draft, then revise it up to ``rounds`` times.

    Args:
        generate: the first draft's sampler (also used again if a draft fails).
        revise: ``(answer, Feedback) -> new answer`` (:func:`model_reviser` wraps a model).
        score: a hone Reward or a verifier, applied to every answer.
        rounds: revisions at most.
        budget: calls, model calls and/or tokens over generate, revise and critique calls,
            checked before each call (so the last one may overshoot it).
        target: stop once an answer scores at least this.
        critique: ``(answer, score) -> critique text`` (or a Completion), shown to ``revise``.
        revise_from: revise the latest answer (self-refine) or the best so far.
        task: the task, for a Reward.
        prompt: the prompt messages, for a Reward's episodes.
    """
    if rounds < 0:
        raise ConfigError(f"rounds must be >= 0, got {rounds}")
    if revise_from not in ("latest", "best"):
        raise ConfigError(f"revise_from must be 'latest' or 'best', got {revise_from!r}")
    limits = budget or Budget()
    spend = Spend()
    history: list[Candidate] = []
    for round_ in range(rounds + 1):
        reason = spend.exhausted(limits)
        if reason is not None:
            return _result(history, spend, reason)
        base = _base(history, revise_from)
        spend.start()
        if base is None:
            candidate = await _call(generate, (), len(history), round_)
        else:
            feedback = Feedback(base.score, base.feedback)
            candidate = await _call(revise, (base.value, feedback), len(history), round_)
        spend.charge(candidate.usage)
        [(value, error)] = await score_candidates(score, [candidate], task=task, prompt=prompt)
        candidate = replace(candidate, score=value, error=candidate.error or error)
        if critique is not None and candidate.error is None and spend.exhausted(limits) is None:
            spend.start()
            text, usage = await _critique(critique, candidate)
            spend.charge(usage)
            candidate = replace(candidate, feedback=text)
        history.append(candidate)
        if target is not None and candidate.score is not None and candidate.score >= target:
            return _result(history, spend, "target")
    return _result(history, spend, "done")


def _base(history: list[Candidate], revise_from: str) -> Candidate | None:
    """The answer the next round revises; None when there is none yet (draft again)."""
    usable = [c for c in history if c.error is None]
    if not usable:
        return None
    if revise_from == "latest":
        return usable[-1]
    scored = [c for c in usable if c.score is not None]
    return max(scored, key=lambda c: (c.score, -c.index)) if scored else usable[-1]


async def _call(
    fn: Callable[..., Any], args: tuple[Any, ...], index: int, round_: int
) -> Candidate:
    try:
        raw = await call_sampler(fn, *args)
    except Exception as exc:
        who = "the reviser" if args else "the generator"
        return Candidate(
            index, None, error=f"{who} raised {type(exc).__name__}: {exc}", round=round_
        )
    value, completion, usage = answer_of(raw)
    return Candidate(index, value, completion=completion, usage=usage, round=round_)


async def _critique(
    critique: Callable[[Any, float | None], Any], candidate: Candidate
) -> tuple[str | None, Usage]:
    try:
        raw = await call_sampler(critique, candidate.value, candidate.score)
    except Exception as exc:
        return f"(the critic raised {type(exc).__name__}: {exc})", Usage()
    text, _, usage = answer_of(raw)
    return (None if text is None else str(text)), usage


def _result(history: list[Candidate], spend: Spend, stopped: StopReason) -> RefineResult:
    scored = [c for c in history if c.score is not None]
    best = max(scored, key=lambda c: (c.score, -c.index)) if scored else None
    return RefineResult(best, tuple(history), spend.calls, spend.usage, stopped, spend.model_calls)


def refine(
    generate: Sampler,
    revise: Reviser,
    score: Scorer,
    *,
    rounds: int = 3,
    budget: Budget | None = None,
    target: float | None = None,
    critique: Callable[[Any, float | None], Any] | None = None,
    revise_from: Literal["latest", "best"] = "latest",
    task: Any = None,
    prompt: Sequence[MessageLike] | MessageLike | None = None,
) -> RefineResult:
    """Sequential refinement (the sync shell of :func:`arefine`)."""
    return run_sync(
        arefine(
            generate,
            revise,
            score,
            rounds=rounds,
            budget=budget,
            target=target,
            critique=critique,
            revise_from=revise_from,
            task=task,
            prompt=prompt,
        )
    )
