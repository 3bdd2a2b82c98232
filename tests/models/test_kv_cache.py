"""The loop's KV cache: buffers written in place (and grown when short), rows selected, and a
batch seeded with kept prefixes of different lengths laid out with its mask."""

from __future__ import annotations

from types import SimpleNamespace

import torch

from hone.models._kv_cache import BufferLayer, prefill
from hone.models._prefix_cache import PrefixState, Reuse


def _states(batch: int, n: int, start: float = 0.0) -> torch.Tensor:
    return torch.arange(batch * 2 * n * 3, dtype=torch.float32).reshape(batch, 2, n, 3) + start


def test_updates_write_in_place_and_grow_when_short() -> None:
    layer = BufferLayer(capacity=3)
    first, second = _states(2, 2), _states(2, 3, start=100.0)
    keys, _ = layer.update(first, first + 1)
    assert keys.shape == (2, 2, 2, 3) and layer.get_seq_length() == 2
    keys, values = layer.update(second, second + 1)  # 5 columns > capacity 3: the buffers grow
    assert layer.capacity >= 5 and layer.get_seq_length() == 5
    assert torch.equal(keys, torch.cat([first, second], dim=2))
    assert torch.equal(values, torch.cat([first, second], dim=2) + 1)
    layer.batch_select_indices(torch.tensor([1]))
    assert torch.equal(layer.keys, torch.cat([first, second], dim=2)[1:])


def test_prefill_lays_kept_prefixes_out_right_aligned() -> None:
    from transformers import Qwen2Config

    model = SimpleNamespace(config=Qwen2Config(num_hidden_layers=2))  # two full-attention layers
    kept = PrefixState(
        tokens=(5, 6, 7, 8),
        keys=(_states(1, 4)[0], _states(1, 4)[0]),
        values=(_states(1, 4)[0] + 1, _states(1, 4)[0] + 1),
    )
    prompts = [(5, 6, 7, 8, 9), (5, 6, 1, 2, 3, 4), (1, 2)]
    starts = [Reuse(kept, 4), Reuse(kept, 2), None]
    cache, ids, mask = prefill(model, prompts, starts, pad=0, room=3, device=torch.device("cpu"))
    # Rests of the prompts: (9,), (1, 2, 3, 4) and (1, 2), left-padded to 4 columns.
    assert ids.tolist() == [[0, 0, 0, 9], [1, 2, 3, 4], [0, 0, 1, 2]]
    assert mask.tolist() == [
        [1, 1, 1, 1, 0, 0, 0, 1],
        [0, 0, 1, 1, 1, 1, 1, 1],
        [0, 0, 0, 0, 0, 0, 1, 1],
    ]
    layer = cache.layers[0]
    assert layer.get_seq_length() == 4 and layer.capacity == 4 + 4 + 3
    assert torch.equal(layer.keys[0], kept.keys[0])
    assert torch.equal(layer.keys[1, :, 2:], kept.keys[0][:, :2])
    assert not layer.keys[2].any()  # nothing kept: zeros, never stale memory
