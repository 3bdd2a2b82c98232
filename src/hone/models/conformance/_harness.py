"""What the model-backend checks are given: how to make and close a backend, and what it
promises beyond the protocol (exact prompt ids, re-scorable logprobs, reproducible seeds, a
context window)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from hone import _compute
from hone.models._protocol import ChatRequest, ModelBackend

__all__ = ["BackendHarness", "Scorer", "causal_lm_scorer", "expect"]

#: Teacher-forced logprobs: ``(prompt ids, completion ids) -> one logprob per completion id``.
Scorer = Callable[[Sequence[int], Sequence[int]], Sequence[float]]


@dataclass(frozen=True)
class BackendHarness:
    """How the checks get a backend, and what they may expect of it.

    Attributes:
        make: a new backend (or wrapper) to check; each check makes its own.
        close: releases a backend after a check (awaited; default: nothing).
        score: re-scores sampled ids under the model; the reported logprobs must match it
            (within ``tolerance``). None: the check of re-scored logprobs is skipped.
        encode: the exact prompt ids of a request; ``prompt_token_ids`` must equal them.
            None: that check is skipped.
        reproducible: a request with a seed gives the same ids every time, and in a batch
            the same as alone.
        context_window: a prompt longer than this many tokens must raise
            ``ContextOverflowError``; None: the backend has no limit to check.
        structured: the backend honours ``tool_choice="required"`` (every real backend
            does; a scripted one only if its script does).
        tolerance: the largest logprob difference accepted between two computations of
            the same tokens (batched vs alone, reported vs re-scored).
        max_tokens: the token limit of the checks' requests.
    """

    make: Callable[[], ModelBackend]
    close: Callable[[ModelBackend], Awaitable[None]] | None = None
    score: Scorer | None = None
    encode: Callable[[ChatRequest], Sequence[int]] | None = None
    reproducible: bool = True
    context_window: int | None = None
    structured: bool = True
    tolerance: float = 1e-4
    max_tokens: int = 16


def expect(condition: bool, message: str) -> None:
    """Raise AssertionError with ``message`` unless ``condition`` holds."""
    if not condition:
        raise AssertionError(message)


def causal_lm_scorer(model: Any) -> Scorer:
    """A :data:`Scorer` for a Hugging Face causal LM (in eval mode): one forward pass over
    prompt + completion, the log-softmax of the raw logits at each completion token."""

    def forward(prompt: Sequence[int], completion: Sequence[int]) -> list[float]:
        import torch

        device = next(model.parameters()).device
        ids = torch.tensor([[*prompt, *completion]], device=device)  # (1, T)
        with torch.inference_mode():
            logits = model(input_ids=ids).logits[0].float()  # (T, V)
        start = len(prompt)
        logprobs = torch.log_softmax(logits[start - 1 : -1], dim=-1)  # (n, V)
        chosen = torch.tensor(list(completion), device=device)[:, None]  # (n, 1)
        return [float(v) for v in logprobs.gather(-1, chosen)[:, 0].tolist()]

    def score(prompt: Sequence[int], completion: Sequence[int]) -> list[float]:
        # On hone's compute thread, like generation: torch on a second thread slows both.
        return _compute.call(forward, prompt, completion) if completion else []

    return score
