"""Strategies over hone model backends: samplers, revisers and tree generators from a model.

Each call is one ``model.complete`` with its own seed (``seed + i``), so runs are
reproducible on backends that honour seeds (the tiny model, local Transformers models) and
distinct samples are drawn even when the sampling options carry a fixed seed.
"""

from __future__ import annotations

import itertools
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from hone.errors import SearchError
from hone.messages import AssistantMessage, MessageLike, UserMessage, to_messages
from hone.models import ChatRequest, Completion, ModelBackend, SamplingOptions
from hone.search._candidates import Candidate, Scorer, score_candidates
from hone.search._refine import Feedback

__all__ = ["model_generator", "model_reviser", "model_sampler", "revision_request"]


def revision_request(feedback: Feedback) -> str:
    """The default user turn asking for a revision: the score, the critique, the ask."""
    if feedback.score is None:
        head = "Your answer could not be scored."
    else:
        head = f"Your answer scored {feedback.score:.2f} (1.00 is best)."
    critique = f"\nCritique: {feedback.critique}" if feedback.critique else ""
    return f"{head}{critique}\nWrite an improved answer to the original request."


def _seeds(options: SamplingOptions, seed: int | None) -> Callable[[], SamplingOptions]:
    base = seed if seed is not None else options.seed
    counter = itertools.count()

    def next_options() -> SamplingOptions:
        i = next(counter)
        return options if base is None else options.with_(seed=base + i)

    return next_options


def model_sampler(
    model: ModelBackend,
    prompt: Sequence[MessageLike] | MessageLike,
    *,
    options: SamplingOptions | None = None,
    seed: int | None = None,
) -> Callable[[], Awaitable[Completion]]:
    """A sampler that completes ``prompt`` with ``model``, one seed per call."""
    messages = tuple(to_messages(prompt))
    next_options = _seeds(options or SamplingOptions(), seed)

    async def sample() -> Completion:
        return await model.complete(ChatRequest(messages=messages, options=next_options()))

    return sample


def model_reviser(
    model: ModelBackend,
    prompt: Sequence[MessageLike] | MessageLike,
    *,
    options: SamplingOptions | None = None,
    seed: int | None = None,
    request: Callable[[Feedback], str] = revision_request,
) -> Callable[[Any, Feedback], Awaitable[Completion]]:
    """A reviser: the prompt, the previous answer as the model's turn, then ``request``'s
    text (the score and critique) as the user's."""
    messages = tuple(to_messages(prompt))
    next_options = _seeds(options or SamplingOptions(), seed)

    async def revise(answer: Any, feedback: Feedback) -> Completion:
        turns = (
            *messages,
            AssistantMessage(content=str(answer)),
            UserMessage(content=request(feedback)),
        )
        return await model.complete(ChatRequest(messages=turns, options=next_options()))

    return revise


def model_generator(
    model: ModelBackend,
    prompt: Sequence[MessageLike] | MessageLike,
    score: Scorer,
    *,
    options: SamplingOptions | None = None,
    seed: int | None = None,
    request: Callable[[Feedback], str] = revision_request,
    task: Any = None,
) -> Callable[[Any], Awaitable[tuple[dict[str, Any], float, Any]]]:
    """A tree-search generator over a model: from the root it answers ``prompt``; from a node
    it revises that node's answer (as :func:`model_reviser`). Node states are
    ``{"answer": text, "score": s}``; the score (a verifier's or Reward's, which must be in
    [0, 1]) is the node's score, and the completion's usage counts toward token budgets."""
    sample = model_sampler(model, prompt, options=options, seed=seed)
    revise = model_reviser(
        model,
        prompt,
        options=options,
        seed=None if seed is None else seed + 1_000_003,
        request=request,
    )

    async def generate(parent: dict[str, Any] | None) -> tuple[dict[str, Any], float, Any]:
        if parent is None:
            completion = await sample()
        else:
            completion = await revise(parent["answer"], Feedback(parent.get("score")))
        text = completion.message.text
        [(value, error)] = await score_candidates(
            score, [Candidate(0, text, completion=completion)], task=task, prompt=prompt
        )
        if value is None:
            raise SearchError(f"the answer could not be scored: {error}")
        return {"answer": text, "score": value}, value, completion.usage

    return generate
