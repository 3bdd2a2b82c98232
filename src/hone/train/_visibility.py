"""Samples whose tokens do not all see each other: per-token visibility and position ids.

An ordinary sample is causal: token ``j`` attends to every token ``i <= j``, at position ``i``.
An episode whose working memory was pruned while it was decoded (``hone.threads``: finished
subtasks leave the KV cache, kept tokens keep their original "gap" positions) is not: a
token stops being seen from some later index on. :class:`TokenVisibility` records that per
token, and :func:`visibility_mask` turns it into the (B, 1, T, T) mask of one forward pass
that reproduces what decoding computed, so such an episode trains as one sequence.

``hidden_from[i]`` is the index of the first token that no longer sees token ``i`` (None:
seen to the end). Query ``j`` sees key ``i`` exactly when ``i <= j`` and
``(hidden_from[i] is None or j < hidden_from[i])``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch

from hone.errors import TrainingConfigError

__all__ = ["TokenVisibility", "visibility_mask"]


@dataclass(frozen=True, slots=True)
class TokenVisibility:
    """What each token of a sample sees, and its position id.

    Attributes:
        positions: the position id of each token (original positions: pruning never
            renumbers). (L,)
        hidden_from: the index of the first token that no longer sees each token, None
            when it is seen to the end; always after the token itself. (L,)
    """

    positions: tuple[int, ...]
    hidden_from: tuple[int | None, ...]

    def __post_init__(self) -> None:
        if len(self.positions) != len(self.hidden_from):
            raise TrainingConfigError(
                f"TokenVisibility has {len(self.positions)} positions for "
                f"{len(self.hidden_from)} hidden_from entries; give one of each per token."
            )
        for i, hidden in enumerate(self.hidden_from):
            if hidden is not None and hidden <= i:
                raise TrainingConfigError(
                    f"hidden_from[{i}] is {hidden}: a token must see itself, so it can only "
                    "be hidden from a later token (an index above its own)."
                )
        if any(p < 0 for p in self.positions):
            raise TrainingConfigError("TokenVisibility positions must be >= 0.")

    def __len__(self) -> int:
        return len(self.positions)


def visibility_mask(
    visibilities: Sequence[TokenVisibility | None], lengths: Sequence[int], width: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """The (B, 1, W, W) boolean mask and (B, W) position ids of right-padded rows.

    A row without visibility is causal at positions ``0..L-1``. Padding sees only itself
    and nobody sees padding (a query that sees nothing would make NaN).
    """
    rows = len(lengths)
    positions = torch.zeros((rows, width), dtype=torch.long)
    hidden = torch.full((rows, width), width + 1, dtype=torch.long)  # never hidden
    for r, (visibility, n) in enumerate(zip(visibilities, lengths, strict=True)):
        if visibility is None:
            positions[r, :n] = torch.arange(n)
            continue
        positions[r, :n] = torch.tensor(visibility.positions, dtype=torch.long)
        hidden[r, :n] = torch.tensor(
            [width + 1 if h is None else h for h in visibility.hidden_from], dtype=torch.long
        )
    index = torch.arange(width)
    real = index[None, :] < torch.tensor(list(lengths))[:, None]  # (B, W)
    causal = index[None, :, None] >= index[None, None, :]  # (1, Wq, Wk): key <= query
    kept = index[None, :, None] < hidden[:, None, :]  # (B, Wq, Wk): query before hidden_from
    mask = causal & kept & real[:, None, :] & real[:, :, None]  # (B, Wq, Wk)
    mask |= torch.eye(width, dtype=torch.bool)[None] & ~real[:, :, None]  # pads see themselves
    return mask[:, None], positions
