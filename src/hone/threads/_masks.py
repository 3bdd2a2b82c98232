"""One forward pass over pruned episodes: the 4-D attention mask and position ids.

:func:`trace_batch` turns :class:`~hone.threads.ThreadTrace` records into model inputs: token
ids, the original position ids, and a (B, 1, T, T) mask where query ``j`` sees key ``i``
exactly when the trace says so. One forward pass over them reproduces, for every model
token, the logits decoding computed on the pruned (and compacted) KV cache; this is what a
trainer needs to score or train a pruned episode as one sequence. :func:`score_traces` does
the pass and returns the model tokens' logprobs.

A training step uses the batch like this (``policy_loss`` from ``hone.train`` or any loss)::

    batch = trace_batch(traces, pad_id=tokenizer.pad_token_id)
    logits = model(
        input_ids=batch.input_ids,
        attention_mask=attention_bias(batch.attention_mask, model),
        position_ids=batch.position_ids,
    ).logits                                                   # (B, T, V)
    logprobs = token_logprobs(logits, batch.input_ids)         # (B, T): logprob of token t
    loss = -(logprobs * batch.model_mask).sum() / batch.model_mask.sum()
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from hone._attention import attention_bias
from hone.errors import ConfigError
from hone.threads._trace import ThreadTrace

__all__ = ["TraceBatch", "attention_bias", "score_traces", "token_logprobs", "trace_batch"]


@dataclass(frozen=True, slots=True)
class TraceBatch:
    """Right-padded model inputs for a batch of traces."""

    #: (B, T) token ids, padded with ``pad_id``.
    input_ids: torch.Tensor
    #: (B, T) the tokens' original position ids (0 on padding).
    position_ids: torch.Tensor
    #: (B, 1, T, T) bool, True where query j attends to key i (pass it through
    #: :func:`attention_bias`); a padding query sees only itself.
    attention_mask: torch.Tensor
    #: (B, T) bool, True at model-written tokens (what training learns and scoring returns).
    model_mask: torch.Tensor
    #: (B, T) float, the logprobs decoding recorded at model tokens (0 elsewhere).
    old_logprobs: torch.Tensor
    #: (B,) real tokens per row.
    lengths: torch.Tensor


def trace_batch(
    traces: Sequence[ThreadTrace], *, pad_id: int = 0, device: torch.device | str | None = None
) -> TraceBatch:
    """The inputs of one forward pass over ``traces`` (see the module docstring).

    Raises:
        ConfigError: no traces.
    """
    if not traces:
        raise ConfigError("trace_batch needs at least one trace")
    width = max(len(t) for t in traces)
    rows = len(traces)
    ids = torch.full((rows, width), pad_id, dtype=torch.long)
    positions = torch.zeros((rows, width), dtype=torch.long)
    hidden = torch.full((rows, width), width + 1, dtype=torch.long)  # never hidden
    model_mask = torch.zeros((rows, width), dtype=torch.bool)
    old = torch.zeros((rows, width), dtype=torch.float64)
    lengths = torch.tensor([len(t) for t in traces], dtype=torch.long)
    for r, trace in enumerate(traces):
        n = len(trace)
        ids[r, :n] = torch.tensor(trace.token_ids, dtype=torch.long)
        positions[r, :n] = torch.tensor(trace.positions, dtype=torch.long)
        hidden[r, :n] = torch.tensor(
            [width + 1 if h is None else h for h in trace.hidden_from], dtype=torch.long
        )
        model_mask[r, :n] = torch.tensor([k == "model" for k in trace.kinds])
        old[r, :n] = torch.tensor([0.0 if v is None else v for v in trace.logprobs])
    index = torch.arange(width)
    real = index[None, :] < lengths[:, None]  # (B, T)
    causal = index[None, :, None] >= index[None, None, :]  # (1, Tq, Tk): key <= query
    kept = index[None, :, None] < hidden[:, None, :]  # (B, Tq, Tk): query before hidden_from
    mask = causal & kept & real[:, None, :] & real[:, :, None]  # (B, Tq, Tk)
    mask |= torch.eye(width, dtype=torch.bool)[None] & ~real[:, :, None]  # pads see themselves
    return TraceBatch(
        input_ids=ids.to(device),
        position_ids=positions.to(device),
        attention_mask=mask[:, None].to(device),
        model_mask=model_mask.to(device),
        old_logprobs=old.to(device),
        lengths=lengths.to(device),
    )


def token_logprobs(logits: torch.Tensor, input_ids: torch.Tensor) -> torch.Tensor:
    """Logprob of each token given the ones before it. logits: (B, T, V); returns (B, T),
    0 at the first column (nothing predicts it)."""
    if logits.dtype != torch.float64:
        logits = logits.float()
    logprobs = torch.log_softmax(logits[:, :-1], dim=-1)  # (B, T-1, V)
    picked = logprobs.gather(-1, input_ids[:, 1:, None])[..., 0]  # (B, T-1)
    return torch.cat([picked.new_zeros((picked.shape[0], 1)), picked], dim=1)


def score_traces(
    model: Any, traces: Sequence[ThreadTrace], *, pad_id: int = 0
) -> list[list[float]]:
    """The logprobs of every trace's model tokens from one forward pass (in the model's
    dtype, then float), in trace order; compare them with ``ThreadTrace.logprobs``."""
    device = next(model.parameters()).device
    batch = trace_batch(traces, pad_id=pad_id, device=device)
    with torch.no_grad():
        logits = model(
            input_ids=batch.input_ids,
            attention_mask=attention_bias(batch.attention_mask, model),
            position_ids=batch.position_ids,
        ).logits  # (B, T, V)
    scored = token_logprobs(logits, batch.input_ids)
    out: list[list[float]] = []
    for r in range(len(traces)):
        out.append(scored[r][batch.model_mask[r]].tolist())
    return out
