"""SFT from messages: the chat template renders, only assistant turns are in the loss mask."""

from __future__ import annotations

from typing import Any

import pytest

from hone.errors import ChatTemplateError, PrefixPropertyError
from hone.models._tiny_corpus import default_corpus
from hone.models.tiny import train_tokenizer
from hone.train import sft_samples
from hone.train._sft_data import ChatCall, render_call
from hone.trajectory import Episode, ModelCall


@pytest.fixture(scope="module")
def tokenizer() -> Any:
    return train_tokenizer(default_corpus(200), vocab_size=512)


def conversation() -> list[dict[str, Any]]:
    call = {"id": "c1", "type": "function", "function": {"name": "add", "arguments": '{"a": 2}'}}
    return [
        {"role": "system", "content": "Add."},
        {"role": "user", "content": "2+3?"},
        {"role": "assistant", "content": None, "tool_calls": [call]},
        {"role": "tool", "tool_call_id": "c1", "content": "5"},
        {"role": "assistant", "content": "It is 5."},
    ]


def trained_text(tokenizer: Any, episode: Episode) -> str:
    built = sft_samples(episode, tokenizer)
    assert built.merged is not None
    (sample,) = built.merged.samples
    return str(
        tokenizer.decode([t for t, m in zip(sample.input_ids, sample.loss_mask, strict=True) if m])
    )


def test_an_imported_conversation_trains_on_assistant_turns_only(tokenizer: Any) -> None:
    episode = Episode(task_id="t", messages=conversation())
    text = trained_text(tokenizer, episode)
    assert (
        text
        == '<tool_call>\n{"name": "add", "arguments": {"a": 2}}\n</tool_call><|im_end|>It is 5.<|im_end|>'
    )


def test_recorded_calls_merge_into_one_sequence(tokenizer: Any) -> None:
    messages = conversation()
    calls = [
        ModelCall(index=0, role="agent", model="m", messages=messages[:2], output=messages[2]),
        ModelCall(index=1, role="agent", model="m", messages=messages[:4], output=messages[4]),
    ]
    built = sft_samples(Episode(task_id="t", calls=calls), tokenizer)
    assert built.merged is not None and built.merged.merged
    assert built.broken_prefixes == 0 and built.template_breaks == 0
    assert "2+3?" not in trained_text(tokenizer, Episode(task_id="t", calls=calls))


def test_a_rewritten_history_splits_or_raises_when_strict(tokenizer: Any) -> None:
    messages = conversation()
    summary = [{"role": "user", "content": "(summary) 2+3 is being added"}, *messages[3:4]]
    calls = [
        ModelCall(index=0, role="agent", model="m", messages=messages[:2], output=messages[2]),
        ModelCall(index=1, role="agent", model="m", messages=summary, output=messages[4]),
    ]
    built = sft_samples(Episode(task_id="t", calls=calls), tokenizer)
    assert built.merged is not None and len(built.merged.samples) == 2
    assert built.broken_prefixes == 1
    with pytest.raises(PrefixPropertyError):
        sft_samples(Episode(task_id="t", calls=calls), tokenizer, strict=True)


def test_a_template_without_the_prefix_property_is_reported() -> None:
    # A template that writes the turn count into the header rewrites the generation prompt.
    tokenizer = train_tokenizer(default_corpus(50), vocab_size=400)
    tokenizer.chat_template = (
        "{% for m in messages %}[{{ messages|length }}]{{ m.role }}: {{ m.content }}\n{% endfor %}"
        "{% if add_generation_prompt %}[{{ messages|length }}]assistant: {% endif %}"
    )
    call = ChatCall(
        messages=[{"role": "user", "content": "hi"}],
        output={"role": "assistant", "content": "yo"},
        tools=[],
    )
    with pytest.raises(PrefixPropertyError):
        render_call(tokenizer, call, strict=True)
    with pytest.raises(ChatTemplateError, match="differently"):
        render_call(tokenizer, call)
