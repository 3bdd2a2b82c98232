"""The built-in tiny model: tokenizer, chat template (and its prefix property), build/ensure."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hone.messages import AssistantMessage, SystemMessage, ToolCall, ToolMessage, UserMessage
from hone.models._protocol import SamplingOptions, make_request
from hone.models._transformers import TransformersModel
from hone.models.tiny import (
    END_OF_TURN,
    PAD,
    TAG_TOKENS,
    TinyConfig,
    build_tiny_model,
    default_tiny_path,
    ensure_tiny_model,
    train_tokenizer,
)

ADD_TOOL = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add two integers.",
        "parameters": {
            "type": "object",
            "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            "required": ["a", "b"],
        },
    },
}


def _history() -> list[Any]:
    return [
        SystemMessage(content="You add numbers."),
        UserMessage(content="What is 12 + 30, and 1 + 1?"),
        AssistantMessage(
            reasoning="I will call add twice.",
            tool_calls=(
                ToolCall(id="c1", name="add", arguments={"a": 12, "b": 30}),
                ToolCall(
                    id="c2",
                    name="add",
                    raw_arguments='{"a": 1, "b": 1}',
                    arguments={"a": 1, "b": 1},
                ),
            ),
        ),
        ToolMessage(content="42", tool_call_id="c1"),
        ToolMessage(content="2", tool_call_id="c2"),
        AssistantMessage(content="42 and 2.", reasoning="Both results are in."),
        UserMessage(content="Thanks!"),
        AssistantMessage(content="You are welcome."),
    ]


def test_tokenizer_special_and_tag_tokens_are_single_ids(tiny_model: TransformersModel) -> None:
    tok = tiny_model.tokenizer
    for token in (PAD, "<|im_start|>", END_OF_TURN, *TAG_TOKENS):
        assert len(tok.encode(token, add_special_tokens=False)) == 1, token
    assert tok.eos_token == END_OF_TURN
    assert tok.pad_token == PAD
    # Tags survive decoding, so the parser can see them.
    ids = tok.encode(
        "<think>\nhm\n</think>\n\n<tool_call>\n{}\n</tool_call>", add_special_tokens=False
    )
    assert tok.decode(ids, skip_special_tokens=True).startswith("<think>")


def test_digits_are_split_one_per_token(tiny_model: TransformersModel) -> None:
    tok = tiny_model.tokenizer
    pieces = tok.convert_ids_to_tokens(tok.encode("1234 + 567", add_special_tokens=False))
    digits = [p for p in pieces if any(c.isdigit() for c in p)]
    assert digits == list("1234567")


def test_train_tokenizer_respects_vocab_size() -> None:
    corpus = [f"word{i} and text {i * 7}" for i in range(300)]
    tok = train_tokenizer(corpus, vocab_size=300)
    assert len(tok) <= 300
    assert (
        tok.decode(tok.encode("text 42 and words", add_special_tokens=False)) == "text 42 and words"
    )
    with pytest.raises(ValueError, match="vocab_size"):
        train_tokenizer(corpus, vocab_size=100)


def test_render_with_tools_tool_calls_and_responses(tiny_model: TransformersModel) -> None:
    text = tiny_model.render(make_request(_history()[:5], tools=[ADD_TOOL]))
    assert text.startswith("<|im_start|>system\nYou add numbers.\n\n# Tools\n")
    assert json.dumps(ADD_TOOL) in text
    assert '<tool_call>\n{"name": <function-name>' in text
    assert (
        "<|im_start|>assistant\n<think>\nI will call add twice.\n</think>\n\n"
        '<tool_call>\n{"name": "add", "arguments": {"a": 12, "b": 30}}\n</tool_call>\n'
        '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 1}}\n</tool_call><|im_end|>\n'
    ) in text
    # Consecutive tool results share one user turn.
    assert (
        "<|im_start|>user\n<tool_response>\n42\n</tool_response>\n"
        "<tool_response>\n2\n</tool_response><|im_end|>\n"
    ) in text
    assert text.endswith("<|im_start|>assistant\n")


def test_render_without_tools_or_system(tiny_model: TransformersModel) -> None:
    text = tiny_model.render(make_request([UserMessage(content="hi")]))
    assert text == "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n"


def test_render_default_system_prompt_with_tools(tiny_model: TransformersModel) -> None:
    text = tiny_model.render(make_request("hi", tools=[ADD_TOOL]))
    assert text.startswith("<|im_start|>system\nYou are a helpful assistant.\n\n# Tools")


def test_unparseable_arguments_render_as_written(tiny_model: TransformersModel) -> None:
    call = ToolCall(id="c", name="add", raw_arguments="{oops", error="invalid JSON")
    text = tiny_model.render(make_request(["go", AssistantMessage(tool_calls=(call,))]))
    assert '{"name": "add", "arguments": {oops}' in text


@pytest.mark.parametrize("thinking", [None, True, False])
def test_thinking_switch(tiny_model: TransformersModel, thinking: bool | None) -> None:
    text = tiny_model.render(make_request("hi", options=SamplingOptions(enable_thinking=thinking)))
    empty_think = "<|im_start|>assistant\n<think>\n\n</think>\n\n"
    assert text.endswith(empty_think) is (thinking is False)


@pytest.mark.parametrize("thinking", [None, False])
def test_prefix_property(tiny_model: TransformersModel, thinking: bool | None) -> None:
    """The prompt for every assistant turn is a token prefix of the whole conversation."""
    history = _history()
    if thinking is False:  # a model told not to think leaves no reasoning in its turns
        history = [
            m.model_copy(update={"reasoning": None}) if isinstance(m, AssistantMessage) else m
            for m in history
        ]
    options = SamplingOptions(enable_thinking=thinking)
    tok = tiny_model.tokenizer
    full_text = tok.apply_chat_template(
        [_openai(m) for m in history],
        tools=[ADD_TOOL],
        tokenize=False,
        **({} if thinking is None else {"enable_thinking": thinking}),
    )
    full = tok.encode(full_text, add_special_tokens=False)
    turns = [k for k, m in enumerate(history) if isinstance(m, AssistantMessage)]
    assert len(turns) == 3
    for k in turns:
        prompt = tiny_model.encode_prompt(
            make_request(history[:k], tools=[ADD_TOOL], options=options)
        )
        assert full[: len(prompt)] == prompt, f"turn {k} is not a prefix"


def _openai(message: Any) -> dict[str, Any]:
    from hone.messages import to_openai
    from hone.models._transformers_rows import template_message

    return template_message(to_openai(message))


def test_build_writes_a_loadable_qwen2(tiny_dir: Path, tiny_model: TransformersModel) -> None:
    config = json.loads((tiny_dir / "config.json").read_text())
    assert config["model_type"] == "qwen2"
    assert config["hidden_size"] == 64
    assert config["vocab_size"] == len(tiny_model.tokenizer)
    assert tiny_model.model.generation_config.eos_token_id == tiny_model.tokenizer.eos_token_id


def test_build_is_seeded(tmp_path: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    config = TinyConfig(
        hidden_size=32, layers=1, heads=2, kv_heads=1, intermediate=64, vocab_size=300
    )
    corpus = [f"some text {i}" for i in range(50)]
    a = AutoModelForCausalLM.from_pretrained(
        build_tiny_model(tmp_path / "a", corpus=corpus, config=config)
    )
    b = AutoModelForCausalLM.from_pretrained(
        build_tiny_model(tmp_path / "b", corpus=corpus, config=config)
    )
    for pa, pb in zip(a.parameters(), b.parameters(), strict=True):
        assert torch.equal(pa, pb)


def test_default_path_follows_hone_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HONE_HOME", str(tmp_path))
    assert default_tiny_path() == tmp_path / "tiny"
    monkeypatch.delenv("HONE_HOME")
    assert default_tiny_path() == Path.home() / ".cache" / "hone" / "tiny"


def test_ensure_builds_once_then_reuses(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hone.models.tiny as tiny

    built: list[Path] = []
    real_build = tiny.build_tiny_model

    def small_build(path: Path, **_: Any) -> Path:
        built.append(Path(path))
        out = real_build(
            path,
            corpus=[f"x {i}" for i in range(20)],
            config=TinyConfig(
                hidden_size=32, layers=1, heads=2, kv_heads=1, intermediate=64, vocab_size=300
            ),
        )
        # Stand in for a default build: ensure only reuses models built with the defaults.
        (out / "hone-tiny.json").write_text(tiny._config_json(TinyConfig()))
        return out

    monkeypatch.setattr(tiny, "build_tiny_model", small_build)
    monkeypatch.setenv("HONE_HOME", str(tmp_path))
    first = ensure_tiny_model()
    second = ensure_tiny_model()
    assert first == second == tmp_path / "tiny"
    assert len(built) == 1
    assert (first / "config.json").is_file()
    assert not list(tmp_path.glob("*.building-*"))
    TransformersModel.from_pretrained(first)  # loadable


@pytest.mark.parametrize("end", ["\n", "\n\n", "</think>\n\n"])
def test_text_ending_in_newlines_tokenizes_as_a_prefix(
    tiny_model: TransformersModel, end: str
) -> None:
    tok = tiny_model.tokenizer
    head = tok.encode(f"<|im_start|>assistant{end}", add_special_tokens=False)
    for tail in ("Hello there", " hello", "42", "<tool_call>", "(x)"):
        whole = tok.encode(f"<|im_start|>assistant{end}{tail}", add_special_tokens=False)
        assert whole[: len(head)] == head, (end, tail)
