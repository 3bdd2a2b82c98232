"""A seeded row samples the same ids whatever batch it is in: its draws come from its own
generator, never from its neighbours' (what repeatable rollouts rely on)."""

from __future__ import annotations

import torch

from hone.models._protocol import SamplingOptions, make_request
from hone.models._transformers import TransformersModel
from hone.models._transformers_loop import RowSpec, StepRow, sample_step


def _row(seed: int | None, **options: float) -> StepRow:
    generator = None
    if seed is not None:
        generator = torch.Generator().manual_seed(seed)
    spec = RowSpec(prompt_ids=(1,), max_new_tokens=1, seed=seed, **options)  # type: ignore[arg-type]
    return StepRow(spec, generator)


def _tokens_of_row_zero(logits: list[torch.Tensor], neighbours: list[int | None]) -> list[int]:
    """Row 0's token at each step when sampled beside rows seeded with ``neighbours``."""
    mine = _row(7, temperature=0.9, top_p=0.95)
    others = [_row(s, temperature=1.3, top_k=5) for s in neighbours]
    out = []
    for step in logits:  # step: (1 + len(neighbours), V)
        out.append(sample_step(step[: 1 + len(neighbours)], [mine, *others])[0].token)
    return out


def test_a_seeded_row_samples_the_same_tokens_beside_any_neighbours() -> None:
    torch.manual_seed(0)
    logits = [torch.randn(5, 50) * 2 for _ in range(40)]  # per step: (5, V)
    alone = _tokens_of_row_zero(logits, [])
    assert alone == _tokens_of_row_zero(logits, [3])
    assert alone == _tokens_of_row_zero(logits, [None, 11, None, 5])  # unseeded neighbours too
    assert len(set(alone)) > 5  # really sampled, not a constant


async def test_batch_composition_does_not_change_a_rows_sampled_ids(
    tiny_model: TransformersModel,
) -> None:
    """The same seeded request, alone and inside batches of other prompts (other lengths,
    other positions, other sampling settings), samples the same ids."""
    options = SamplingOptions(max_tokens=12, temperature=1.0, seed=123)
    mine = make_request("what is 2 + 2?", options=options)
    other = SamplingOptions(max_tokens=20, temperature=0.7, top_p=0.9, seed=5)
    longer = make_request("a much longer prompt that pads the short ones " * 3, options=other)
    short = make_request("hi", options=SamplingOptions(max_tokens=3, temperature=0.0))
    alone = (await tiny_model.complete_batch([mine]))[0].token_ids
    for batch in ([longer, mine], [mine, short, longer], [short, short, mine]):
        completions = await tiny_model.complete_batch(batch)
        assert completions[batch.index(mine)].token_ids == alone
    assert alone is not None and len(set(alone)) > 2
