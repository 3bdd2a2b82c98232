"""The token loop's sampler: exponential-race draws follow the distribution exactly, never pick a
token of probability zero, and a seeded row draws the same whatever else is in the batch."""

from __future__ import annotations

import torch

from hone.models._transformers_loop import RowSpec, SpecialIds, _draw, _new_state, _RowState

IDS = SpecialIds(pad=0, end_of_turn=frozenset({1}))


def _states(seeds: list[int | None]) -> list[_RowState]:
    return [
        _new_state(RowSpec(prompt_ids=(5,), max_new_tokens=1, seed=s), IDS, torch.device("cpu"))
        for s in seeds
    ]


def test_draws_follow_the_probabilities() -> None:
    probs = torch.tensor([0.5, 0.0, 0.3, 0.0, 0.2, 0.0])
    torch.manual_seed(0)
    n = 20_000
    counts = torch.zeros(6)
    batch = probs.repeat(100, 1)  # (100, V): unseeded rows share one draw call
    states = _states([None] * 100)
    for _ in range(n // 100):
        for token in _draw(batch, states, list(range(100))).tolist():
            counts[token] += 1
    assert counts[1] == counts[3] == counts[5] == 0  # probability zero: never drawn
    frequencies = counts / n
    # Three standard deviations of a binomial proportion at n = 20,000 are below 0.011.
    assert torch.allclose(frequencies, probs, atol=0.011)


def test_a_seeded_row_draws_alike_in_any_batch() -> None:
    torch.manual_seed(1)
    probs = torch.softmax(torch.randn(4, 50), dim=-1)  # (4, V)
    alone, mixed = _states([7]), _states([None, 3, 7, None])
    by_itself = [_draw(probs[2:3], alone, [0]).item() for _ in range(10)]
    in_batch = [_draw(probs, mixed, [0, 1, 2, 3])[2].item() for _ in range(10)]
    assert by_itself == in_batch
    assert len(set(by_itself)) > 1  # ten draws of one stream, not one draw repeated


def test_rows_subset_is_respected() -> None:
    probs = torch.zeros(3, 4)
    probs[0, 3] = probs[1, 0] = probs[2, 2] = 1.0
    out = _draw(probs, _states([None, None, 5]), [0, 2])
    assert out.tolist() == [3, 2]
