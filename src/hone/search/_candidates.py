"""What flat strategies sample and score: candidates, samplers and scorers.

A *sampler* is any callable of no arguments, sync or async, that returns a candidate answer:
a :class:`~hone.models.Completion` (its text is the answer and its usage counts toward token
budgets; one model call), a :class:`Sampled` (an answer with its :class:`~hone.search.Cost`,
for a sampler that is not one model call: an agent run) or any other value (one model call,
no tokens). :func:`model_sampler` makes one from a hone model backend.

A *scorer* is a hone :class:`~hone.rewards.Reward` (candidates become episodes, scored as one
group, so comparative judges see them together) or a verifier: a callable of the answer
returning a number or a bool, sync or async. A scorer that raises or returns None, NaN or ±inf
gives that candidate no score and an ``error``; the other candidates are unaffected.
"""

from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeAlias

from hone.messages import MessageLike, to_messages, to_openai
from hone.models import Completion, Usage
from hone.rewards import Reward
from hone.search._budget import Cost, model_calls_of
from hone.trajectory import Episode, task_id_of

__all__ = [
    "Candidate",
    "Sampled",
    "Sampler",
    "Scorer",
    "answer_of",
    "call_sampler",
    "score_candidates",
]

#: A function of no arguments (sync or async) returning a candidate (a Completion, a
#: :class:`Sampled` or a value).
Sampler: TypeAlias = Callable[[], Any]
#: A hone Reward, or a verifier ``answer -> number | bool`` (sync or async).
Scorer: TypeAlias = Reward | Callable[[Any], Any]


@dataclass(frozen=True, slots=True)
class Candidate:
    """One sampled answer.

    Attributes:
        index: the order it was sampled in (0, 1, ...).
        value: the answer: a completion's text, or what the sampler returned.
        score: its score; None when unscored or when scoring failed.
        error: why sampling or scoring failed, if it did.
        completion: the model's completion, when the sampler returned one.
        usage: the tokens the call reported (a :class:`~hone.search.Cost` when it reported
            its model calls too).
        round: the refinement round (0 for a first draft).
        feedback: the critique shown to the model for the next revision, if any.
    """

    index: int
    value: Any
    score: float | None = None
    error: str | None = None
    completion: Completion | None = None
    usage: Usage = field(default_factory=Usage)
    round: int = 0
    feedback: str | None = None

    @property
    def model_calls(self) -> int:
        """The model calls the sampler call made (one unless it reported a Cost)."""
        return model_calls_of(self.usage)


@dataclass(frozen=True, slots=True)
class Sampled:
    """A sampler's (or reviser's) answer with what it cost, for a call that is not exactly
    one model call (an agent run: ``Sampled(answer, Cost(model_calls=4, ...))``)."""

    value: Any
    cost: Cost = field(default_factory=Cost)


def answer_of(raw: Any) -> tuple[Any, Completion | None, Usage]:
    """A sampler's return value as ``(answer, completion, usage)``; the usage is a
    :class:`~hone.search.Cost` when the sampler reported one (a :class:`Sampled`)."""
    if isinstance(raw, Completion):
        return raw.message.text, raw, raw.usage
    if isinstance(raw, Sampled):
        return raw.value, None, raw.cost
    return raw, None, Usage()


async def call_sampler(fn: Callable[..., Any], *args: Any) -> Any:
    """Call a sync or async function and await what it returns if needed."""
    value = fn(*args)
    if inspect.isawaitable(value):
        value = await value
    return value


async def score_candidates(
    scorer: Scorer,
    candidates: Sequence[Candidate],
    *,
    task: Any = None,
    prompt: Sequence[MessageLike] | MessageLike | None = None,
) -> list[tuple[float | None, str | None]]:
    """``(score, error)`` per candidate; candidates that already failed are skipped."""
    live = [c for c in candidates if c.error is None]
    results: dict[int, tuple[float | None, str | None]] = {
        c.index: (None, c.error) for c in candidates if c.error is not None
    }
    if isinstance(scorer, Reward):
        episodes = [_episode(c, task, prompt) for c in live]
        try:
            rewards = await scorer.score(episodes) if episodes else []
        except Exception as exc:
            rewards = []
            for c in live:
                results[c.index] = (None, f"the reward raised {type(exc).__name__}: {exc}")
        for candidate, reward in zip(live, rewards, strict=False):
            results[candidate.index] = (reward.value, reward.error)
    else:
        verify: Callable[[Any], Any] = scorer
        for candidate in live:
            results[candidate.index] = await _verify(verify, candidate.value)
    return [results.get(c.index, (None, "the reward gave no result")) for c in candidates]


async def _verify(fn: Callable[[Any], Any], value: Any) -> tuple[float | None, str | None]:
    try:
        raw = await call_sampler(fn, value)
    except Exception as exc:
        return None, f"the verifier raised {type(exc).__name__}: {exc}"
    if isinstance(raw, bool):
        return float(raw), None
    if isinstance(raw, int | float) and math.isfinite(raw):
        return float(raw), None
    return None, f"the verifier returned {raw!r}, not a finite number or bool"


def _episode(candidate: Candidate, task: Any, prompt: Any) -> Episode:
    """A one-turn episode holding the candidate, for a hone Reward."""
    messages = [to_openai(m) for m in to_messages(prompt)] if prompt is not None else []
    text = candidate.value if isinstance(candidate.value, str) else str(candidate.value)
    messages.append({"role": "assistant", "content": text})
    return Episode(
        task_id=task_id_of(task) if task is not None else "search",
        task=task,
        messages=messages,
        output=candidate.value,
        metadata={"search_index": candidate.index},
    )
