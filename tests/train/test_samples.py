"""Training samples: validation, collation with the shift, and merging multi-turn episodes."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from hone.errors import PrefixPropertyError, TrainingConfigError
from hone.train import TrainingSample, collate, samples_from_calls


def test_sample_validation() -> None:
    with pytest.raises(TrainingConfigError, match="2 entries for 3"):
        TrainingSample([1, 2, 3], [False, True])
    with pytest.raises(TrainingConfigError, match="loss_mask\\[0\\]"):
        TrainingSample([1, 2], [True, True])
    with pytest.raises(TrainingConfigError, match="old_logprobs"):
        TrainingSample([1, 2], [False, True], old_logprobs=[0.0])
    with pytest.raises(TrainingConfigError, match="at least two tokens"):
        TrainingSample([1], [False])


def test_collate_shifts_once_and_pads_right() -> None:
    a = TrainingSample([5, 6, 7, 8], [False, False, True, True], [0, 0, -1.0, -2.0], advantage=1.5)
    b = TrainingSample([9, 10], [False, True], None, advantage=-1.0, weight=0.5)
    batch = collate([a, b], pad_id=0)
    assert batch.inputs.tolist() == [[5, 6, 7], [9, 10, 0]]
    assert batch.targets.tolist() == [[6, 7, 8], [10, 0, 0]]
    assert batch.attention_mask.tolist() == [[1, 1, 1], [1, 1, 0]]
    assert batch.mask.tolist() == [[0, 1, 1], [1, 0, 0]]
    assert batch.old_logprobs is not None
    assert batch.old_logprobs.tolist() == [[0, -1.0, -2.0], [0, 0, 0]]
    assert batch.has_old_logprobs.tolist() == [True, False]
    assert batch.advantages.tolist() == [1.5, -0.5]  # weight multiplies the advantage
    assert batch.ref_logprobs is None


def test_collate_per_token_advantages() -> None:
    a = TrainingSample([1, 2, 3], [False, True, True], advantage=[0.0, 2.0, 3.0])
    b = TrainingSample([1, 2], [False, True], advantage=1.0)
    batch = collate([a, b], dtype=torch.float64)
    assert batch.advantages.tolist() == [[2.0, 3.0], [1.0, 0.0]]


def test_append_only_episode_becomes_one_sequence() -> None:
    result = samples_from_calls(
        [[1, 2], [1, 2, 3, 4, 5, 6]],
        [[3, 4], [7]],
        [[-0.1, -0.2], [-0.3]],
        2.0,
        group_id="task-1",
    )
    assert result.merged and result.broken_prefixes == 0
    (sample,) = result.samples
    assert sample.input_ids == [1, 2, 3, 4, 5, 6, 7]
    assert sample.loss_mask == [False, False, True, True, False, False, True]
    assert sample.old_logprobs == [0.0, 0.0, -0.1, -0.2, 0.0, 0.0, -0.3]
    assert sample.advantage == 2.0 and sample.group_id == "task-1"


def test_per_call_advantages_become_per_token() -> None:
    result = samples_from_calls([[1], [1, 2, 3]], [[2], [4]], None, [0.5, -1.0])
    (sample,) = result.samples
    assert sample.advantage == [0.0, 0.5, 0.0, -1.0]
    assert sample.old_logprobs is None


def test_broken_prefix_splits_or_raises() -> None:
    prompts = [[1, 2], [1, 9, 3, 5], [1, 9, 3, 5, 6, 7]]
    completions = [[3], [6], [8]]
    result = samples_from_calls(prompts, completions, None, 1.0)
    assert result.broken_prefixes == 1 and not result.merged
    assert [s.input_ids for s in result.samples] == [[1, 2, 3], [1, 9, 3, 5, 6, 7, 8]]
    assert result.call_to_sample == [0, 1, 1]
    with pytest.raises(PrefixPropertyError, match=r"call 1.*token 1"):
        samples_from_calls(prompts, completions, None, 1.0, strict=True)


def test_samples_from_calls_errors() -> None:
    with pytest.raises(TrainingConfigError, match="one of each per call"):
        samples_from_calls([[1]], [], None, 1.0)
    with pytest.raises(TrainingConfigError, match="2 advantages for 1"):
        samples_from_calls([[1]], [[2]], None, [1.0, 2.0])


@given(
    st.lists(
        st.tuples(
            st.lists(
                st.integers(0, 50), min_size=1, max_size=4
            ),  # new prompt tokens (tool output, template)
            st.lists(st.integers(0, 50), min_size=1, max_size=4),  # sampled tokens
        ),
        min_size=1,
        max_size=5,
    )
)
def test_merged_mask_selects_exactly_the_completions(
    turns: list[tuple[list[int], list[int]]],
) -> None:
    prompts, completions, history = [], [], []
    for new, sampled in turns:
        history = history + new
        prompts.append(list(history))
        completions.append(sampled)
        history = history + sampled
    result = samples_from_calls(prompts, completions, None, 1.0)
    (sample,) = result.samples
    assert sample.input_ids == history
    learned = [t for t, m in zip(sample.input_ids, sample.loss_mask, strict=True) if m]
    assert learned == [t for c in completions for t in c]
