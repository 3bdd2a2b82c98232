"""The token loop's KV cache: preallocated per-layer buffers, seeded with kept prefixes.

transformers' ``DynamicLayer`` concatenates at every step, copying the whole cache each time
(O(T²) bytes over a generation; for multi-turn prompts of a few hundred tokens that copy is a
tenth of generation time on CPU). The loop knows the most columns a batch can need (kept
columns + new prompt columns + the largest ``max_new_tokens``), so :class:`BufferLayer`
allocates that once and writes each step's states in place.

A batch whose rows start from kept states (a :class:`~hone.models._prefix_cache.Reuse`) is laid
out so that every row attends to exactly its own tokens, in order::

    cache columns (C = longest kept)         | new columns (N = longest rest of a prompt)
    row 0:  pad pad k k k k k k              | pad pad n n n n
    row 1:  k k k k k k k k                  | pad pad pad pad n n
    row 2:  pad pad pad pad pad pad pad pad  | n n n n n n          (nothing kept)

Padded columns are masked out (and hold zeros, never stale memory: a NaN there would spread
through the attention product even though its weight is zero), and each row's positions go
on from its own kept length.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

from hone.models._prefix_cache import PrefixState, Reuse

__all__ = ["BufferLayer", "Prefill", "new_cache", "prefill", "row_state", "supports_reuse"]


class BufferLayer(DynamicLayer):  # type: ignore[no-untyped-call]
    """A full-attention cache layer that writes new states into preallocated buffers.

    ``keys`` and ``values`` are views of the filled columns, (B, H, length, D), as
    ``DynamicLayer`` exposes them; the buffers grow (doubling) only if ``capacity`` was short.
    """

    def __init__(self, capacity: int) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.capacity = max(capacity, 1)
        self.length = 0
        self._keys = self._values = torch.empty(0)  # (B, H, capacity, D) once reserved

    def reserve(self, batch: int, like_keys: torch.Tensor, like_values: torch.Tensor) -> None:
        """Allocate zeroed buffers for ``batch`` rows, shaped after (H, *, D) states."""
        self.dtype, self.device = like_keys.dtype, like_keys.device
        self._keys = like_keys.new_zeros(
            (batch, like_keys.shape[-3], self.capacity, like_keys.shape[-1])
        )
        self._values = like_values.new_zeros(
            (batch, like_values.shape[-3], self.capacity, like_values.shape[-1])
        )
        self.is_initialized = True
        self._expose()

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        """Reserve buffers shaped after the first states written."""
        self.reserve(key_states.shape[0], key_states, value_states)

    def update(
        self, key_states: torch.Tensor, value_states: torch.Tensor, *args: Any, **kwargs: Any
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Write (B, H, n, D) new states after the filled columns; return all filled ones."""
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        end = self.length + key_states.shape[-2]
        if end > self.capacity:
            self._grow(max(end, 2 * self.capacity))
        self._keys[:, :, self.length : end] = key_states
        self._values[:, :, self.length : end] = value_states
        self.length = end
        return self._expose()

    def seed(self, row: int, end: int, keys: torch.Tensor, values: torch.Tensor) -> None:
        """Write kept (H, n, D) states of ``row`` so that they end at column ``end``."""
        n = keys.shape[-2]
        self._keys[row, :, end - n : end] = keys
        self._values[row, :, end - n : end] = values

    def advance(self, length: int) -> None:
        """Count the first ``length`` columns as filled (after :meth:`seed`)."""
        self.length = length
        self._expose()

    def get_seq_length(self) -> int:
        """How many columns are filled."""
        return self.length

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        """Keep only the rows ``indices`` (rows that finished leave the batch)."""
        if self.is_initialized:
            self._keys, self._values = self._keys[indices], self._values[indices]
            self._expose()

    def _grow(self, capacity: int) -> None:
        keys, values = self._keys, self._values
        self.capacity = capacity
        self.reserve(keys.shape[0], keys[0], values[0])
        self._keys[:, :, : self.length] = keys[:, :, : self.length]
        self._values[:, :, : self.length] = values[:, :, : self.length]

    def _expose(self) -> tuple[torch.Tensor, torch.Tensor]:
        self.keys = self._keys[:, :, : self.length]
        self.values = self._values[:, :, : self.length]
        return self.keys, self.values


def new_cache(model: Any, capacity: int) -> Any:
    """A ``DynamicCache`` for ``model`` whose full-attention layers are :class:`BufferLayer`
    (other layer kinds, sliding-window or recurrent, are kept as transformers makes them)."""
    cache = DynamicCache(config=getattr(model, "config", None))
    layers = getattr(cache, "layers", None)
    if layers:
        for i, layer in enumerate(layers):
            if type(layer) is DynamicLayer:
                layers[i] = BufferLayer(capacity)
    return cache


def supports_reuse(model: Any) -> bool:
    """Whether kept KV states can seed ``model``'s cache: every layer is plain full attention
    (a sliding-window or recurrent layer keeps state that a kept prefix cannot restore)."""
    layers: list[Any] = list(getattr(new_cache(model, 1), "layers", None) or ())
    return bool(layers) and all(type(layer) is BufferLayer for layer in layers)


Prefill = tuple[Any, torch.Tensor, torch.Tensor]


def prefill(
    model: Any,
    prompts: Sequence[Sequence[int]],
    starts: Sequence[Reuse | None],
    *,
    pad: int,
    room: int,
    device: torch.device,
) -> Prefill:
    """(cache seeded with the kept states, first input ids (B, N), mask (B, C + N)).

    ``room`` is the most tokens any row will sample; it sizes the buffers.
    """
    kept = [s.length if s is not None else 0 for s in starts]  # (B,)
    input_ids, input_mask = _left_pad(
        [p[c:] for p, c in zip(prompts, kept, strict=True)], pad, device
    )
    width = max(kept)
    cache = new_cache(model, width + input_ids.shape[1] + room)
    if width == 0:
        return cache, input_ids, input_mask
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, length in enumerate(kept):
        mask[row, width - length :] = 1  # an empty slice when nothing is kept
    first = next(s for s in starts if s is not None)
    for index, layer in enumerate(cache.layers):
        layer.reserve(len(prompts), first.state.keys[index], first.state.values[index])
        for row, start in enumerate(starts):
            if start is not None:
                keys = start.state.keys[index][:, : start.length]  # (H, n, D)
                values = start.state.values[index][:, : start.length]
                layer.seed(row, width, keys, values)
        layer.advance(width)
    return cache, input_ids, torch.cat([mask.to(device), input_mask], dim=-1)


def row_state(
    cache: Any, mask: torch.Tensor, row: int, tokens: tuple[int, ...]
) -> PrefixState | None:
    """Row ``row``'s KV states over its unmasked columns, which hold ``tokens``; None if the
    counts disagree (a cache this module did not build)."""
    columns = mask[row].nonzero()[:, 0]  # (T,)
    if columns.numel() != len(tokens):
        return None
    keys = tuple(layer.keys[row].index_select(1, columns) for layer in cache.layers)
    values = tuple(layer.values[row].index_select(1, columns) for layer in cache.layers)
    return PrefixState(tokens=tokens, keys=keys, values=values)


def _left_pad(
    prompts: Sequence[Sequence[int]], pad: int, device: torch.device
) -> tuple[torch.Tensor, torch.Tensor]:
    width = max(len(p) for p in prompts)
    ids = torch.full((len(prompts), width), pad, dtype=torch.long)
    mask = torch.zeros((len(prompts), width), dtype=torch.long)
    for row, prompt in enumerate(prompts):
        ids[row, width - len(prompt) :] = torch.tensor(prompt, dtype=torch.long)
        mask[row, width - len(prompt) :] = 1
    return ids.to(device), mask.to(device)
