"""Tokens → spans: prompt or sampled, logprobs, sequences split where the prefix breaks,
and the trainer's loss mask laid over them."""

from __future__ import annotations

import pytest

from hone.trajectory import ModelCall
from hone.view import TokenSpan, token_sequences
from hone.view._training import loss_masks


def call(index: int, prompt: list[int], ids: list[int], logprobs: list[float] | None) -> ModelCall:
    return ModelCall(
        index=index, role="agent", model="m", messages=[], output={"role": "assistant"},
        prompt_token_ids=prompt, token_ids=ids, logprobs=logprobs,
    )  # fmt: skip


def test_one_call_gives_prompt_then_sampled_tokens_with_logprobs() -> None:
    [sequence] = token_sequences([call(0, [1, 2, 3], [7, 8], [-0.5, -1.25])], decode=str)
    assert sequence.calls == [0]
    assert sequence.tokens == [
        TokenSpan(1, "1", False, 0),
        TokenSpan(2, "2", False, 0),
        TokenSpan(3, "3", False, 0),
        TokenSpan(7, "7", True, 0, -0.5),
        TokenSpan(8, "8", True, 0, -1.25),
    ]


def test_append_only_calls_form_one_sequence_with_only_new_prompt_tokens() -> None:
    calls = [call(0, [1, 2], [5], [-0.1]), call(1, [1, 2, 5, 9], [6, 4], [-0.2, -0.3])]
    [sequence] = token_sequences(calls)
    assert sequence.calls == [0, 1]
    assert [t.id for t in sequence.tokens] == [1, 2, 5, 9, 6, 4]
    assert [t.sampled for t in sequence.tokens] == [False, False, True, False, True, True]
    assert [t.call for t in sequence.tokens] == [0, 0, 0, 1, 1, 1]
    assert sequence.tokens[0].text == "⟨1⟩"  # no tokenizer: the id, marked


def test_a_broken_prefix_starts_a_new_sequence() -> None:
    calls = [call(0, [1, 2], [5], [-0.1]), call(1, [1, 3, 5], [6], [-0.2])]
    first, second = token_sequences(calls)
    assert first.calls == [0] and second.calls == [1]
    assert [t.id for t in second.tokens] == [1, 3, 5, 6]  # the whole prompt again


def test_calls_without_token_ids_are_left_out_and_bad_logprobs_are_dropped() -> None:
    no_ids = ModelCall(index=0, role="agent", model="api", messages=[], output={})
    short = call(1, [1], [2, 3], [-0.5])  # one logprob for two tokens
    [sequence] = token_sequences([no_ids, short])
    assert sequence.calls == [1]
    assert [t.logprob for t in sequence.tokens] == [None, None, None]


def test_masks_mark_trained_tokens_and_a_misaligned_mask_is_ignored() -> None:
    calls = [call(0, [1, 2], [5, 6], [-0.1, -0.2])]
    [masked] = token_sequences(calls, masks=[[False, False, True, False]])
    assert [t.trained for t in masked.tokens] == [False, False, True, False]
    [ignored] = token_sequences(calls, masks=[[True]])
    assert [t.trained for t in ignored.tokens] == [None] * 4


def test_the_trainers_mask_covers_exactly_the_sampled_tokens() -> None:
    pytest.importorskip("torch")
    from hone.trajectory import Episode

    calls = [call(0, [1, 2], [5], [-0.1]), call(1, [1, 2, 5, 9], [6, 4], [-0.2, -0.3])]
    episode = Episode(task_id="t", calls=calls)
    masks = loss_masks(episode)
    assert masks == [[False, False, True, False, True, True]]
    [sequence] = token_sequences(calls, masks=masks)
    assert all(t.trained == t.sampled for t in sequence.tokens)


def test_no_mask_for_an_episode_without_token_ids() -> None:
    pytest.importorskip("torch")
    from hone.trajectory import Episode

    bare = ModelCall(index=0, role="agent", model="api", messages=[], output={})
    assert loss_masks(Episode(task_id="t", calls=[bare])) is None
