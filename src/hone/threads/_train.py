"""Threads as training samples for ``hone.train``'s trainer.

A single-request episode becomes **one** :class:`~hone.train.TrainingSample`: every token of
its :class:`~hone.threads.ThreadTrace` (prompt, model-written, runtime-written), the loss on
the model's tokens, the logprobs decoding recorded as ``old_logprobs``, and a
:class:`~hone.train.TokenVisibility` (each token's original position and when it left the
working memory). The trainer then scores it in one forward pass with the (B, 1, T, T) mask,
which reproduces what decoding computed on the pruned KV cache, so the loss of the pruned
episode in one pass equals the loss of the logprobs decoding recorded step by step.

A per-call episode (``runtime="per_call"``) and a flat agent's episode are ordinary calls:
their completions become samples through :func:`~hone.train.samples_from_calls` (one
sequence while each prompt extends the last; pruned re-sent text starts a new sample).
"""

from __future__ import annotations

from collections.abc import Sequence

from hone.errors import ConfigError
from hone.models._protocol import Completion
from hone.threads._flat import FlatResult
from hone.threads._options import ThreadResult
from hone.threads._trace import ThreadTrace
from hone.train import TokenVisibility, TrainingSample, samples_from_calls

__all__ = ["result_samples", "trace_sample"]


def trace_sample(
    trace: ThreadTrace,
    *,
    advantage: float = 0.0,
    group_id: int | str = 0,
    weight: float = 1.0,
) -> TrainingSample:
    """One training sample for a single-request episode (see the module docstring).

    Raises:
        ConfigError: the trace has no model-written token (nothing to learn).
    """
    loss_mask = [kind == "model" for kind in trace.kinds]
    if not any(loss_mask):
        raise ConfigError("this trace has no model-written token; there is nothing to train on")
    return TrainingSample(
        input_ids=list(trace.token_ids),
        loss_mask=loss_mask,
        old_logprobs=[
            lp if lp is not None and learned else 0.0
            for lp, learned in zip(trace.logprobs, loss_mask, strict=True)
        ],
        advantage=advantage,
        group_id=group_id,
        weight=weight,
        visibility=TokenVisibility(positions=trace.positions, hidden_from=trace.hidden_from),
    )


def result_samples(
    result: ThreadResult | FlatResult,
    *,
    advantage: float = 0.0,
    group_id: int | str = 0,
    weight: float = 1.0,
) -> list[TrainingSample]:
    """The training samples of one finished episode: a thread's trace (one sample), or the
    completions of a per-call thread or a flat agent (one sample per unbroken prefix).

    Raises:
        ConfigError: the episode recorded neither a trace nor completions with token ids.
    """
    if isinstance(result, ThreadResult) and result.trace is not None:
        trace = result.trace
        return [trace_sample(trace, advantage=advantage, group_id=group_id, weight=weight)]
    calls = [c for c in result.completions if c.token_ids]
    _require_ids(calls)
    merged = samples_from_calls(
        [c.prompt_token_ids or () for c in calls],
        [c.token_ids or () for c in calls],
        [c.logprobs for c in calls],
        advantage,
        group_id=group_id,
        weight=weight,
    )
    return merged.samples


def _require_ids(calls: Sequence[Completion]) -> None:
    if not calls:
        raise ConfigError(
            "this episode recorded no trace and no completion with token ids; run it on a "
            "backend that reports them (a local TransformersModel does)"
        )
    if any(c.prompt_token_ids is None for c in calls):
        raise ConfigError("a completion has no prompt token ids; its backend does not report them")
