"""Logical pruning and per-row compaction of the batch KV cache."""

from __future__ import annotations

import torch

from hone.models import TransformersModel
from hone.threads._kv import PrunableCache


def _feed(
    model: TransformersModel, cache: PrunableCache, chunks: list[list[int]], start: list[int]
) -> torch.Tensor:
    steps = [
        [(t, start[r] + i, start[r] + i) for i, t in enumerate(c)] for r, c in enumerate(chunks)
    ]
    ids, positions, attention = cache.step(steps, pad=0)
    out = model.model(
        input_ids=ids,
        attention_mask=attention,
        position_ids=positions,
        past_key_values=cache.cache,
        use_cache=True,
        logits_to_keep=1,
    )
    return out.logits[:, -1]


@torch.inference_mode()
def test_compaction_gathers_each_rows_visible_columns(tiny64: TransformersModel) -> None:
    prompts = [[5, 6, 7, 8, 9, 10, 11, 12], [20, 21, 22, 23, 24]]
    lengths = [len(p) for p in prompts]
    caches = [PrunableCache(tiny64.model, 2, 4) for _ in range(2)]  # grows past 4 columns
    for cache in caches:
        _feed(tiny64, cache, prompts, [0, 0])
        assert cache.hide(0, [1, 2, 3]) == 3 and cache.hide(1, [0, 4]) == 2
        assert cache.hide(1, [0]) == 0  # hidden already
        _feed(tiny64, cache, [[30], [31]], lengths)
    compacted = caches[1]
    assert compacted.dead() == 3  # 9 columns; row 0 keeps 6, row 1 keeps 4 (+ a pad column)
    assert compacted.compact() == 3 and compacted.width == 6
    assert compacted.mask.tolist() == [[1] * 6, [0, 0, 1, 1, 1, 1]]
    # Kept tokens keep their original positions and trace indexes.
    assert compacted.positions[0].tolist() == [0, 4, 5, 6, 7, 8]
    assert compacted.positions[1, 2:].tolist() == [1, 2, 3, 5]
    assert compacted.held[1].tolist() == [-1, -1, 1, 2, 3, 5]
    after = [_feed(tiny64, c, [[40, 41], [42]], [9, 6]) for c in caches]
    assert torch.allclose(after[0], after[1], atol=1e-10, rtol=0)
    assert compacted.visible() == [8, 5] and compacted.width == 8


@torch.inference_mode()
def test_rows_leave_the_batch(tiny: TransformersModel) -> None:
    cache = PrunableCache(tiny.model, 3, 8)
    _feed(tiny, cache, [[1, 2], [3], [4, 5, 6]], [0, 0, 0])
    cache.select([2, 0])
    assert cache.mask.tolist() == [[1, 1, 1], [0, 1, 1]]
    assert cache.held.tolist() == [[0, 1, 2], [-1, 0, 1]]
