"""The one conversion of a boolean attention mask into what a model's attention takes.

Training on visibility masks (:mod:`hone.train`) and scoring thread traces
(:mod:`hone.threads`) both run one forward pass with a 4-D mask; this module needs torch.
"""

from __future__ import annotations

from typing import Any

import torch

__all__ = ["attention_bias"]


def attention_bias(mask: torch.Tensor, model: Any) -> torch.Tensor:
    """A boolean (B, 1, T, T) mask in the form ``model``'s attention takes: as is for SDPA,
    flex and flash-style kernels that read booleans; an additive float mask (0 or the dtype's
    minimum) for eager attention."""
    config = getattr(model, "config", None)
    implementation = getattr(config, "_attn_implementation", None) or "sdpa"
    if implementation != "eager":
        return mask
    dtype = next(model.parameters()).dtype
    bias = torch.zeros(mask.shape, dtype=dtype, device=mask.device)
    return bias.masked_fill(~mask, torch.finfo(dtype).min)
