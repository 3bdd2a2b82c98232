"""Policy-gradient losses (GRPO family) and the SFT loss, as pure functions over tensors.

``policy_loss`` reproduces TRL 1.16 ``GRPOTrainer._compute_loss`` line for line (golden vectors
in the tests are produced by TRL's own code). Shapes: ``B`` sequences, ``T`` positions; every
per-token tensor is aligned so that position ``t`` holds the log-probability of the token the
model predicts there (see :mod:`hone.train._samples` for the shift).

One deliberate extension makes gradient accumulation exact: the normalisers can be given for the
*whole optimizer batch* (``num_sequences``, ``num_items_in_batch``), so the losses of the
micro-batches add up to the loss of the full batch for every loss type. With the defaults
(normalisers taken from the tensors themselves) the value equals TRL's at one accumulation step.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, TypeAlias

import torch

from hone.errors import TrainingConfigError

__all__ = [
    "KLEstimator",
    "LossMetrics",
    "LossType",
    "policy_loss",
    "sft_loss",
    "token_logprobs",
]

#: ``grpo``: mean over sequences of per-sequence token means. ``bnpo``: token sum / token count.
#: ``dr_grpo``: token sum / (B · max_completion_length). ``dapo``: token sum / tokens in the whole
#: batch (TRL's default). ``gspo``: ``grpo`` with one length-normalised importance ratio per
#: sequence. ``cispo``: detached, clipped ratio × advantage × log π, aggregated like ``dapo``.
LossType: TypeAlias = Literal["grpo", "bnpo", "dr_grpo", "dapo", "gspo", "cispo"]
#: ``k3``: ``e^(ref − logp) − (ref − logp) − 1`` (TRL). ``k1``: ``logp − ref``.
KLEstimator: TypeAlias = Literal["k1", "k3"]

LOSS_TYPES: tuple[LossType, ...] = ("grpo", "bnpo", "dr_grpo", "dapo", "gspo", "cispo")
#: ε_max for CISPO when none is given: the value TRL's docs recommend (ScaleRL paper). TRL itself
#: falls back to ``epsilon`` (0.2), which clamps almost every ratio; pass ``eps_high`` to match it.
CISPO_EPS_HIGH = 5.0


@dataclass(frozen=True, slots=True)
class LossMetrics:
    """What a loss function measured on one (micro-)batch, besides the loss itself.

    Token fractions and means are over the masked tokens; a field a loss does not measure is
    None (``clip_low`` for ``cispo``, ``kl`` without a reference, ``nll`` for RL losses).

    Attributes:
        num_tokens: masked tokens in the batch.
        clip_low: fraction of tokens clipped below (ratio < 1 − ε_low with A < 0).
        clip_high: fraction clipped above (ratio > 1 + ε_high with A > 0).
        clip_region: fraction clipped either way.
        ratio_mean: mean importance ratio π_θ / π_old.
        kl: mean KL estimate against the reference.
        nll: SFT's token-mean negative log-likelihood.
    """

    num_tokens: float
    clip_low: float | None = None
    clip_high: float | None = None
    clip_region: float | None = None
    ratio_mean: float | None = None
    kl: float | None = None
    nll: float | None = None


def token_logprobs(logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Log-probability of each target token under ``logits``, computed in float32 or wider.

    Args:
        logits: (B, T, V)
        targets: token ids, aligned with ``logits`` (already shifted). (B, T)

    Returns:
        (B, T)
    """
    rows = []
    # One row at a time, as ``gather − logsumexp``: never a second (B, T, V) tensor in memory.
    for row_logits, row_targets in zip(logits, targets, strict=True):
        if row_logits.dtype in (torch.float16, torch.bfloat16):
            row_logits = row_logits.float()
        picked = row_logits.gather(-1, row_targets.unsqueeze(-1)).squeeze(-1)  # (T,)
        rows.append(picked - torch.logsumexp(row_logits, dim=-1))
    return torch.stack(rows)


def _kl(logp: torch.Tensor, ref_logp: torch.Tensor, kind: KLEstimator) -> torch.Tensor:
    """Per-token KL estimate of π_θ against π_ref. (B, T)"""
    if kind == "k3":
        delta = ref_logp - logp
        return torch.exp(delta) - delta - 1
    if kind == "k1":
        return logp - ref_logp
    raise TrainingConfigError(f"unknown KL estimator {kind!r}; use 'k3' or 'k1'.")


def _masked_mean(x: torch.Tensor, mask: torch.Tensor) -> float:
    """Token-weighted mean of ``x`` ((B, T), or (B, 1) for one value per sequence)."""
    if x.shape[1] == 1:
        return float(x.mean().item()) if x.numel() else 0.0
    return float(((x * mask).sum() / mask.sum().clamp(min=1.0)).item())


def _aggregate(
    per_token_loss: torch.Tensor,
    mask: torch.Tensor,
    loss_type: LossType,
    *,
    num_sequences: int,
    num_items: torch.Tensor,
    max_completion_length: int,
) -> torch.Tensor:
    """Reduce (B, T) per-token losses to the scalar loss of ``loss_type``."""
    masked = per_token_loss * mask  # (B, T)
    if loss_type in ("grpo", "gspo"):
        per_sequence = masked.sum(-1) / mask.sum(-1).clamp(min=1.0)  # (B,)
        return per_sequence.sum() / num_sequences
    if loss_type == "dr_grpo":
        return masked.sum() / (num_sequences * max_completion_length)
    # bnpo, dapo, cispo: one token-weighted mean over the batch.
    return masked.sum() / num_items.clamp(min=1.0)


def _check_args(
    loss_type: str, beta: float, ref_logp: torch.Tensor | None, eps_low: float, eps_high: float
) -> None:
    """Raise :class:`TrainingConfigError` for arguments no loss can use."""
    if loss_type not in LOSS_TYPES:
        raise TrainingConfigError(
            f"unknown loss_type {loss_type!r}; use one of {', '.join(LOSS_TYPES)}."
        )
    if beta != 0.0 and ref_logp is None:
        raise TrainingConfigError(
            f"beta={beta} needs reference log-probabilities; pass ref_logp, or set beta=0."
        )
    if beta < 0.0 or eps_low < 0.0 or eps_high < 0.0:
        raise TrainingConfigError(
            f"beta, eps_low and eps_high must be >= 0 (got {beta}, {eps_low}, {eps_high})."
        )


def policy_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor | None,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    *,
    loss_type: LossType,
    eps_low: float = 0.2,
    eps_high: float | None = None,
    beta: float = 0.0,
    ref_logp: torch.Tensor | None = None,
    kl: KLEstimator = "k3",
    kl_ratio_correction: bool = True,
    max_completion_length: int | None = None,
    num_items_in_batch: float | torch.Tensor | None = None,
    num_sequences: int | None = None,
) -> tuple[torch.Tensor, LossMetrics]:
    """The clipped policy-gradient loss of TRL 1.16's GRPO trainer, for one (micro-)batch.

    ``ρ = exp(logp − old_logp)`` per token (per sequence for ``gspo``: ``exp(Σ m·Δ / Σ m)``);
    per-token loss ``−min(ρA, clip(ρ, 1−eps_low, 1+eps_high)A)`` (``cispo``:
    ``−clamp(ρ, max=eps_high).detach()·A·logp``); plus ``beta·KL`` (times ρ when
    ``kl_ratio_correction``, TRL's default ``use_bias_correction_kl``); then aggregated by
    ``loss_type`` (see :data:`LossType`).

    Args:
        logp: log π_θ of each token, with gradient. (B, T)
        old_logp: log π_old from sampling; ``None`` means on-policy (``logp.detach()``). (B, T)
        advantages: one per sequence (B,) or one per token (B, T).
        mask: 1 for tokens that count (sampled assistant tokens), 0 elsewhere. (B, T)
        loss_type: the variant; see :data:`LossType`.
        eps_low: lower clip range (TRL ``epsilon``).
        eps_high: upper clip range; ``None`` means ``eps_low``, or 5.0 for ``cispo``.
        beta: KL weight; > 0 needs ``ref_logp``.
        ref_logp: log π_ref of each token. (B, T)
        kl: KL estimator, ``k3`` (TRL) or ``k1``.
        kl_ratio_correction: multiply the KL by ρ (TRL ``use_bias_correction_kl=True``).
        max_completion_length: ``dr_grpo`` divisor per sequence; default ``T``.
        num_items_in_batch: tokens in the whole optimizer batch (``bnpo``/``dapo``/``cispo``
            divisor); default ``mask.sum()`` of this micro-batch.
        num_sequences: sequences in the whole optimizer batch (``grpo``/``gspo``/``dr_grpo``
            divisor); default ``B``.

    Returns:
        ``(loss, metrics)``: a scalar tensor, and :class:`LossMetrics` with ``clip_low``,
        ``clip_high``, ``clip_region`` (``cispo``: ``clip_high`` only), ``ratio_mean``, ``kl``
        (if ``ref_logp``) and ``num_tokens``.
    """
    eps_high = (
        (CISPO_EPS_HIGH if loss_type == "cispo" else eps_low) if eps_high is None else eps_high
    )
    _check_args(loss_type, beta, ref_logp, eps_low, eps_high)
    mask = mask.to(logp.dtype)  # (B, T)
    old_logp = logp.detach() if old_logp is None else old_logp
    adv = advantages.unsqueeze(1) if advantages.dim() == 1 else advantages  # (B, 1) or (B, T)
    adv = adv.to(logp.dtype)

    log_ratio = logp - old_logp  # (B, T)
    if loss_type == "gspo":
        seq_log_ratio = (log_ratio * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)  # (B,)
        log_weights = seq_log_ratio.unsqueeze(-1)  # (B, 1)
    else:
        log_weights = log_ratio  # (B, T)
    ratio = torch.exp(log_weights)  # (B, T) or (B, 1)

    per_token_kl = None
    if ref_logp is not None:
        per_token_kl = _kl(logp, ref_logp, kl)  # (B, T)
        if kl_ratio_correction:
            per_token_kl = per_token_kl * ratio

    clip_low = clip_region = None
    if loss_type == "cispo":
        clamped = torch.clamp(ratio, max=eps_high).detach()
        per_token_loss = -clamped * adv * logp  # (B, T)
        clip_high = _masked_mean(((ratio > eps_high) & (adv > 0)).to(logp.dtype), mask)
    else:
        clipped = torch.clamp(ratio, 1 - eps_low, 1 + eps_high)
        per_token_loss = -torch.min(ratio * adv, clipped * adv)  # (B, T)
        low = ((ratio < 1 - eps_low) & (adv < 0)).to(logp.dtype)
        high = ((ratio > 1 + eps_high) & (adv > 0)).to(logp.dtype)
        clip_low = _masked_mean(low, mask)
        clip_high = _masked_mean(high, mask)
        clip_region = _masked_mean(torch.maximum(low, high), mask)
    if per_token_kl is not None and beta != 0.0:
        per_token_loss = per_token_loss + beta * per_token_kl

    num_items = mask.sum() if num_items_in_batch is None else torch.as_tensor(num_items_in_batch)
    loss = _aggregate(
        per_token_loss,
        mask,
        loss_type,
        num_sequences=logp.shape[0] if num_sequences is None else num_sequences,
        num_items=num_items.to(logp.dtype),
        max_completion_length=logp.shape[1]
        if max_completion_length is None
        else max_completion_length,
    )
    metrics = LossMetrics(
        num_tokens=float(mask.sum().item()),
        clip_low=clip_low,
        clip_high=clip_high,
        clip_region=clip_region,
        ratio_mean=_masked_mean(ratio.detach(), mask),
        kl=None if per_token_kl is None else _masked_mean(per_token_kl.detach(), mask),
    )
    return loss, metrics


def sft_loss(
    logp: torch.Tensor,
    mask: torch.Tensor,
    *,
    num_items_in_batch: float | torch.Tensor | None = None,
) -> tuple[torch.Tensor, LossMetrics]:
    """Token-mean negative log-likelihood over masked tokens.

    Args:
        logp: log-probability of each target token (see :func:`token_logprobs`). (B, T)
        mask: 1 for tokens to learn, 0 elsewhere. (B, T)
        num_items_in_batch: masked tokens in the whole optimizer batch; default this batch's.

    Returns:
        ``(loss, metrics)``: :class:`LossMetrics` with ``nll`` (this batch's token mean) and
        ``num_tokens``.
    """
    mask = mask.to(logp.dtype)
    total = -(logp * mask).sum()
    count = mask.sum()
    divisor = (
        count if num_items_in_batch is None else torch.as_tensor(num_items_in_batch).to(logp.dtype)
    )
    loss = total / divisor.clamp(min=1.0)
    metrics = LossMetrics(
        num_tokens=float(count.item()), nll=float((total / count.clamp(min=1.0)).item())
    )
    return loss, metrics
