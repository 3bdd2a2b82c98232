"""Flat strategies: repeated sampling with best-of-N selection, and self-consistency.

Both draw up to ``n`` candidates (``concurrency`` at a time) within a :class:`Budget` (of
sampler calls, model calls and/or tokens), then pick one: the best-scoring (best-of-N) or the most frequent normalised answer
(self-consistency). Async cores with sync shells, like the rest of hone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from hone._sync import run_sync
from hone.errors import ConfigError
from hone.messages import MessageLike
from hone.models import Usage
from hone.search._answers import extract_answer, majority_vote, normalize_answer
from hone.search._budget import Budget, Spend, StopReason
from hone.search._candidates import (
    Candidate,
    Sampler,
    Scorer,
    answer_of,
    call_sampler,
    score_candidates,
)

__all__ = [
    "SampleResult",
    "VoteResult",
    "abest_of_n",
    "aself_consistency",
    "best_of_n",
    "draw_candidates",
    "self_consistency",
]


@dataclass(frozen=True, slots=True)
class SampleResult:
    """What best-of-N found.

    Attributes:
        best: the highest-scoring candidate (the earliest among equals); None when no
            candidate got a score.
        candidates: every candidate, in the order sampled.
        calls: sampler calls made.
        usage: tokens the calls reported.
        stopped: why sampling stopped (``done``: n candidates; ``target``: one reached it;
            or the budget: ``calls``, ``model_calls``, ``tokens``).
        model_calls: model calls the sampler calls reported (one each unless a sampler
            reported a :class:`~hone.search.Cost`); may exceed a model-call budget by what the
            calls in flight spent.
    """

    best: Candidate | None
    candidates: tuple[Candidate, ...]
    calls: int
    usage: Usage
    stopped: StopReason
    model_calls: int = 0

    def solved(self, threshold: float = 1.0) -> bool:
        """Whether any candidate scored at least ``threshold`` (oracle pass@k)."""
        return any(c.score is not None and c.score >= threshold for c in self.candidates)


@dataclass(frozen=True, slots=True)
class VoteResult:
    """What self-consistency found.

    Attributes:
        answer: the winning normalised answer; None when no candidate had one.
        votes: normalised answer -> votes, in the order first seen.
        agreement: the winner's share of the votes cast (0 without votes).
        chosen: the first candidate that gave the winning answer.
        candidates: every candidate, in the order sampled.
        calls: sampler calls made.
        usage: tokens the calls reported.
        stopped: why sampling stopped.
        model_calls: model calls the sampler calls reported.
    """

    answer: str | None
    votes: dict[str, int]
    agreement: float
    chosen: Candidate | None
    candidates: tuple[Candidate, ...]
    calls: int
    usage: Usage
    stopped: StopReason
    model_calls: int = 0


async def draw_candidates(
    sample: Sampler,
    *,
    n: int,
    budget: Budget | None = None,
    concurrency: int = 1,
    accept: Callable[[Candidate], Any] | None = None,
) -> tuple[list[Candidate], Spend, StopReason]:
    """Sample up to ``n`` candidates within ``budget``, ``concurrency`` at a time. A sampler
    that raises gives a candidate with an ``error`` (one model call). ``accept(candidate)``
    (sync or async) may return True to stop early (reported as ``target``). The budget is
    checked before each call, a call in flight counting as one model call until it reports,
    so the calls in flight may overshoot it."""
    if n < 1:
        raise ConfigError(f"n must be at least 1, got {n}")
    if concurrency < 1:
        raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
    limits = budget or Budget()
    spend = Spend()
    candidates: list[Candidate] = []
    in_flight: dict[asyncio.Future[Candidate], int] = {}
    stopped: StopReason | None = None
    try:
        while True:
            while stopped is None and len(in_flight) < concurrency and spend.calls < n:
                reason = spend.exhausted(limits)
                if reason is not None:
                    stopped = reason
                    break
                in_flight[asyncio.ensure_future(_one(sample, spend.calls))] = spend.calls
                spend.start()
            if not in_flight:
                break
            done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            for future in sorted(done, key=in_flight.__getitem__):
                in_flight.pop(future)
                candidate = future.result()
                spend.charge(candidate.usage)
                candidates.append(candidate)
                if accept is not None and stopped is None and await call_sampler(accept, candidate):
                    stopped = "target"
    finally:
        for future in in_flight:
            future.cancel()
    candidates.sort(key=lambda c: c.index)
    return candidates, spend, stopped or "done"


async def _one(sample: Sampler, index: int) -> Candidate:
    try:
        raw = await call_sampler(sample)
    except Exception as exc:
        return Candidate(index, None, error=f"the sampler raised {type(exc).__name__}: {exc}")
    value, completion, usage = answer_of(raw)
    return Candidate(index, value, completion=completion, usage=usage)


async def abest_of_n(
    sample: Sampler,
    score: Scorer,
    *,
    n: int = 8,
    budget: Budget | None = None,
    concurrency: int = 1,
    target: float | None = None,
    task: Any = None,
    prompt: Sequence[MessageLike] | MessageLike | None = None,
) -> SampleResult:
    """Repeated sampling: draw up to ``n`` candidates, score them, keep the best.

    Args:
        sample: the sampler (see :data:`~hone.search.Sampler`; :func:`model_sampler` wraps a
            model).
        score: a hone Reward (candidates scored together, as one group) or a verifier.
        n: candidates to draw at most.
        budget: sampler calls, model calls and/or tokens; sampling stops at whichever limit
            comes first (checked before each call: the calls in flight may overshoot it).
        concurrency: sampler calls in flight at once.
        target: stop as soon as a candidate scores at least this (each candidate is then
            scored on arrival, a Reward seeing one candidate at a time).
        task: the task, passed to a Reward through the episodes.
        prompt: the prompt messages, put before the answer in those episodes.
    """

    async def reached(candidate: Candidate) -> bool:
        scored = await _scored(score, [candidate], task, prompt)
        accepted[candidate.index] = scored[0]
        return scored[0].score is not None and target is not None and scored[0].score >= target

    accepted: dict[int, Candidate] = {}
    candidates, spend, stopped = await draw_candidates(
        sample,
        n=n,
        budget=budget,
        concurrency=concurrency,
        accept=reached if target is not None else None,
    )
    if target is None:
        candidates = await _scored(score, candidates, task, prompt)
    else:
        candidates = [accepted.get(c.index, c) for c in candidates]
    scored = [c for c in candidates if c.score is not None]
    best = max(scored, key=lambda c: (c.score, -c.index)) if scored else None
    return SampleResult(
        best, tuple(candidates), spend.calls, spend.usage, stopped, spend.model_calls
    )


async def _scored(
    score: Scorer, candidates: Sequence[Candidate], task: Any, prompt: Any
) -> list[Candidate]:
    results = await score_candidates(score, candidates, task=task, prompt=prompt)
    return [
        replace(c, score=value, error=c.error or error)
        for c, (value, error) in zip(candidates, results, strict=True)
    ]


def best_of_n(
    sample: Sampler,
    score: Scorer,
    *,
    n: int = 8,
    budget: Budget | None = None,
    concurrency: int = 1,
    target: float | None = None,
    task: Any = None,
    prompt: Sequence[MessageLike] | MessageLike | None = None,
) -> SampleResult:
    """Repeated sampling with best-of-N selection (the sync shell of :func:`abest_of_n`)."""
    return run_sync(
        abest_of_n(
            sample,
            score,
            n=n,
            budget=budget,
            concurrency=concurrency,
            target=target,
            task=task,
            prompt=prompt,
        )
    )


async def aself_consistency(
    sample: Sampler,
    *,
    n: int = 8,
    budget: Budget | None = None,
    concurrency: int = 1,
    extract: Callable[[Any], str | None] | None = None,
    normalize: Callable[[str], str] = normalize_answer,
) -> VoteResult:
    """Self-consistency (Wang et al., 2023): draw up to ``n`` answers and return the most
    frequent one after normalisation.

    Args:
        sample: the sampler.
        n: answers to draw at most.
        budget: sampler calls, model calls and/or tokens.
        concurrency: sampler calls in flight at once.
        extract: answer -> the part to vote on, or None to abstain (default:
            :func:`extract_answer` on text, ``str`` of anything else).
        normalize: the canonical form answers are compared in (default:
            :func:`normalize_answer`).
    """
    candidates, spend, stopped = await draw_candidates(
        sample, n=n, budget=budget, concurrency=concurrency
    )
    pick = extract or _default_extract
    keys: list[str | None] = []
    for candidate in candidates:
        raw = pick(candidate.value) if candidate.error is None else None
        keys.append(normalize(raw) if raw is not None else None)
    answer, votes = majority_vote(keys)
    cast = sum(votes.values())
    chosen = next((c for c, k in zip(candidates, keys, strict=True) if k == answer), None)
    return VoteResult(
        answer=answer,
        votes=votes,
        agreement=votes.get(answer, 0) / cast if answer is not None and cast else 0.0,
        chosen=chosen if answer is not None else None,
        candidates=tuple(candidates),
        calls=spend.calls,
        usage=spend.usage,
        stopped=stopped,
        model_calls=spend.model_calls,
    )


def _default_extract(value: Any) -> str | None:
    if value is None:
        return None
    return extract_answer(value) if isinstance(value, str) else str(value)


def self_consistency(
    sample: Sampler,
    *,
    n: int = 8,
    budget: Budget | None = None,
    concurrency: int = 1,
    extract: Callable[[Any], str | None] | None = None,
    normalize: Callable[[str], str] = normalize_answer,
) -> VoteResult:
    """Majority vote over sampled answers (the sync shell of :func:`aself_consistency`)."""
    return run_sync(
        aself_consistency(
            sample,
            n=n,
            budget=budget,
            concurrency=concurrency,
            extract=extract,
            normalize=normalize,
        )
    )
