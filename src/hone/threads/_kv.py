"""A batch's KV cache that tokens can leave: logical pruning and physical compaction.

The cache is the backend's preallocated one (``hone.models._kv_cache``: one
:class:`~hone.models._kv_cache.BufferLayer` per layer); this module keeps, per cache column,
whether it is visible (``mask``, (B, T)), its token's original position id (``positions``)
and which trace index it holds (``held``, -1 for padding).

* **Logical pruning** (:meth:`PrunableCache.hide`) zeroes the mask of the pruned tokens'
  columns: every later query skips them, nothing moves.
* **Physical compaction** (:meth:`PrunableCache.compact`) runs once enough columns are dead:
  each row's visible columns are gathered, in order, into the first columns of the buffers
  (rows keep different numbers of columns, so they are left-padded with masked ones, as in
  the backend's prefill). Positions travel with their columns: a kept token keeps its
  original ("gap") position.

transformers' ``DynamicCache`` can only crop its tail; deleting from the middle is exactly
this per-row gather.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from hone.errors import CapabilityError
from hone.models._kv_cache import BufferLayer, new_cache

__all__ = ["PrunableCache"]


class PrunableCache:
    """The KV cache of a batch of rows, with per-column visibility and positions.

    Args:
        model: the causal LM whose cache this is (full-attention layers only).
        rows: rows of the batch.
        capacity: columns to reserve up front (the buffers grow if needed).

    Raises:
        CapabilityError: the model has sliding-window or recurrent layers, whose state
            cannot be pruned column by column.
    """

    def __init__(self, model: Any, rows: int, capacity: int) -> None:
        self.cache = new_cache(model, capacity)
        layers = list(getattr(self.cache, "layers", None) or ())
        if not layers or not all(isinstance(layer, BufferLayer) for layer in layers):
            raise CapabilityError(
                "the thread runtime prunes KV entries column by column, which needs a model "
                "whose layers are all full attention (no sliding-window or recurrent layers)"
            )
        self.device = next(model.parameters()).device
        config = getattr(model, "config", None)
        self._ready_masks = getattr(config, "_attn_implementation", None) == "sdpa"
        dtype = next(model.parameters()).dtype
        self._lowest = torch.finfo(dtype).min
        self._dtype = dtype
        self.mask = torch.zeros((rows, 0), dtype=torch.long, device=self.device)  # (B, T)
        self.positions = torch.zeros((rows, 0), dtype=torch.long, device=self.device)  # (B, T)
        self.held = torch.zeros((rows, 0), dtype=torch.long, device=self.device)  # (B, T)

    @property
    def width(self) -> int:
        """Columns in the cache (visible or not)."""
        return int(self.mask.shape[1])

    def visible(self) -> list[int]:
        """Visible columns per row."""
        return [int(v) for v in self.mask.sum(dim=1).tolist()]

    def step(
        self, chunks: Sequence[Sequence[tuple[int, int, int]]], pad: int
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Add one step's tokens: ``chunks[row]`` is a list of (token id, position, trace
        index), possibly empty. Rows are left-padded to the longest chunk with masked columns.

        Returns (input ids (B, n), position ids (B, n), the attention mask to pass).
        """
        n = max(len(c) for c in chunks)
        rows = len(chunks)
        ids = torch.full((rows, n), pad, dtype=torch.long)
        pos = torch.zeros((rows, n), dtype=torch.long)
        held = torch.full((rows, n), -1, dtype=torch.long)
        new = torch.zeros((rows, n), dtype=torch.long)
        for r, chunk in enumerate(chunks):
            if chunk:
                k = len(chunk)
                ids[r, n - k :] = torch.tensor([c[0] for c in chunk])
                pos[r, n - k :] = torch.tensor([c[1] for c in chunk])
                held[r, n - k :] = torch.tensor([c[2] for c in chunk])
                new[r, n - k :] = 1
        self.mask = torch.cat([self.mask, new.to(self.device)], dim=1)
        self.positions = torch.cat([self.positions, pos.to(self.device)], dim=1)
        self.held = torch.cat([self.held, held.to(self.device)], dim=1)
        if self._ready_masks and n == 1:
            # One query per row: causality adds nothing, so a ready (B, 1, 1, T) mask skips
            # transformers' mask construction. It is additive (0 or the dtype's minimum):
            # torch's CPU SDPA with a boolean mask over the cache's strided views takes a
            # path ~20x slower than with a float one.
            visible = self.mask.bool()[:, None, None, :]
            attention = self._zeros(visible.shape).masked_fill(~visible, self._lowest)
        else:
            attention = self.mask
        return ids.to(self.device), pos.to(self.device), attention

    def _zeros(self, shape: torch.Size) -> torch.Tensor:
        return torch.zeros(shape, dtype=self._dtype, device=self.device)

    def hide(self, row: int, indices: Sequence[int]) -> int:
        """Mask the columns holding trace ``indices`` of ``row``; return how many were
        visible (columns of tokens never fed, or gone already, are skipped)."""
        if not indices:
            return 0
        wanted = torch.tensor(list(indices), dtype=torch.long, device=self.device)
        columns = torch.isin(self.held[row], wanted) & (self.mask[row] == 1)  # (T,)
        count = int(columns.sum())
        self.mask[row, columns] = 0
        return count

    def dead(self) -> int:
        """Columns compaction would free: the width minus the most visible in any row."""
        return self.width - max(self.visible(), default=0)

    def compact(self) -> int:
        """Gather every row's visible columns to the front (left-padded); return the columns
        freed."""
        counts = self.visible()
        keep = max(counts, default=0)
        freed = self.width - keep
        if freed <= 0:
            return 0
        rows = self.mask.shape[0]
        index = torch.zeros((rows, keep), dtype=torch.long, device=self.device)  # (B, W)
        mask = torch.zeros((rows, keep), dtype=torch.long, device=self.device)
        for r, count in enumerate(counts):
            if count:
                index[r, keep - count :] = self.mask[r].nonzero()[:, 0]
                mask[r, keep - count :] = 1
        for layer in self.cache.layers:
            keys, values = layer.keys, layer.values  # (B, H, T, D)
            where = index[:, None, :, None]
            kept_keys = keys.gather(2, where.expand(-1, keys.shape[1], -1, keys.shape[3]))
            kept_values = values.gather(2, where.expand(-1, values.shape[1], -1, values.shape[3]))
            for r in range(rows):
                layer.seed(r, keep, kept_keys[r], kept_values[r])
            layer.advance(keep)
        self.positions = self.positions.gather(1, index) * mask
        self.held = torch.where(mask == 1, self.held.gather(1, index), -1)
        self.mask = mask
        return freed

    def select(self, rows: Sequence[int]) -> None:
        """Keep only ``rows`` (finished rows leave the batch)."""
        index = torch.tensor(list(rows), dtype=torch.long, device=self.device)
        self.cache.batch_select_indices(index)
        self.mask, self.positions, self.held = (
            self.mask[index],
            self.positions[index],
            self.held[index],
        )
