"""TransformersModel on a locally built tiny model: batching, token ids and logprobs,
sampling controls, thinking budget, streaming, parsing and errors."""

from __future__ import annotations

import copy
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
import torch

from hone.errors import ChatTemplateError, ContextOverflowError, ModelLoadError
from hone.messages import UserMessage
from hone.models._protocol import ChatRequest, ModelBackend, SamplingOptions, make_request
from hone.models._transformers import TransformersModel
from hone.models.tiny import CHAT_TEMPLATE

GREEDY = SamplingOptions(max_tokens=12, temperature=0.0)


class Steered(torch.nn.Module):
    """The tiny model with steered logits: step ``t`` of every generation is forced to
    ``script[t]``; after the script, ``banned`` ids are never chosen. Logprobs stay honest
    only for unsteered steps, which is all the tests read."""

    def __init__(self, inner: Any, script: Sequence[int] = (), banned: Sequence[int] = ()) -> None:
        super().__init__()
        self.inner = inner
        self.config = inner.config
        self.generation_config = inner.generation_config
        self.script, self.banned = list(script), list(banned)
        self.step = 0

    def forward(self, **kwargs: Any) -> Any:
        if kwargs["past_key_values"].get_seq_length() == 0:
            self.step = 0  # a new generation starts with its prefill
        out = self.inner(**kwargs)
        if self.step < len(self.script):
            out.logits[..., self.script[self.step]] += 1e4
        else:
            out.logits[..., self.banned] -= 1e4
        self.step += 1
        return out


def _steered(
    tiny: TransformersModel, script: Sequence[int] = (), banned: Sequence[int] = ()
) -> TransformersModel:
    return TransformersModel(Steered(tiny.model, script, banned), tiny.tokenizer, name="steered")


def _ids(tiny: TransformersModel, text: str) -> list[int]:
    return list(tiny.tokenizer.encode(text, add_special_tokens=False))


def _requests(options: SamplingOptions = GREEDY) -> list[ChatRequest]:
    prompts = ["hi", "What is 12 + 30? Please answer with the number.", "tell me about the world"]
    return [make_request(p, options=options) for p in prompts]


def test_is_a_model_backend(tiny_model: TransformersModel, tiny_dir: Path) -> None:
    assert isinstance(tiny_model, ModelBackend)
    assert tiny_model.name == tiny_dir.name


async def test_batched_matches_one_by_one(tiny_model: TransformersModel) -> None:
    # Rows that end at different steps leave the batch early; the others must not notice.
    requests = [
        r.__class__(messages=r.messages, options=GREEDY.with_(max_tokens=n))
        for r, n in zip(_requests(), (4, 16, 9), strict=True)
    ]
    batched = await tiny_model.complete_batch(requests)
    single = [await tiny_model.complete(r) for r in requests]
    assert len({len(c.prompt_token_ids or ()) for c in batched}) == 3  # really different lengths
    for b, s in zip(batched, single, strict=True):
        assert b.token_ids == s.token_ids
        assert b.text == s.text
        assert b.prompt_token_ids == s.prompt_token_ids
        assert b.logprobs == pytest.approx(s.logprobs, abs=1e-4)


async def test_outputs_vary_with_the_prompt(tiny_model: TransformersModel) -> None:
    outs = await tiny_model.complete_batch(_requests())
    assert len({c.token_ids for c in outs}) > 1  # the batch did not collapse to one sequence


async def test_ids_and_logprobs_match_a_forward_pass(tiny_model: TransformersModel) -> None:
    options = SamplingOptions(max_tokens=16, temperature=0.7, top_p=0.9, seed=3)
    outs = await tiny_model.complete_batch(_requests(options))
    for out in outs:
        assert out.prompt_token_ids is not None and out.token_ids and out.logprobs
        assert list(out.prompt_token_ids) == tiny_model.encode_prompt(_requests()[outs.index(out)])
        ids = torch.tensor([[*out.prompt_token_ids, *out.token_ids]])
        with torch.no_grad():
            logits = tiny_model.model(input_ids=ids).logits[0].float()  # (T, V)
        start = len(out.prompt_token_ids)
        logprobs = torch.log_softmax(logits[start - 1 : -1], dim=-1)  # (n, V)
        expected = logprobs.gather(-1, torch.tensor(out.token_ids)[:, None])[:, 0]
        assert torch.allclose(torch.tensor(out.logprobs), expected, atol=1e-4)
        assert out.usage.prompt_tokens == start
        assert out.usage.completion_tokens == len(out.token_ids)


async def test_seed_makes_sampling_deterministic(tiny_model: TransformersModel) -> None:
    def request(seed: int) -> ChatRequest:
        return make_request(
            "hello", options=SamplingOptions(max_tokens=16, seed=seed, top_k=50, top_p=0.95)
        )

    first = await tiny_model.complete(request(1))
    again = await tiny_model.complete(request(1))
    other = await tiny_model.complete(request(2))
    assert first.token_ids == again.token_ids
    assert first.token_ids != other.token_ids
    # A seeded row draws the same tokens whatever else is in the batch.
    mixed = await tiny_model.complete_batch([*_requests(), request(1)])
    assert mixed[-1].token_ids == first.token_ids


async def test_top_k_one_is_greedy(tiny_model: TransformersModel) -> None:
    greedy = await tiny_model.complete_batch(_requests())
    top1 = await tiny_model.complete_batch(_requests(SamplingOptions(max_tokens=12, top_k=1)))
    assert [c.token_ids for c in top1] == [c.token_ids for c in greedy]


async def test_max_tokens_gives_length(tiny_model: TransformersModel) -> None:
    steered = _steered(tiny_model, banned=[tiny_model.tokenizer.eos_token_id])
    out = await steered.complete(
        make_request("hi", options=SamplingOptions(max_tokens=5, temperature=0))
    )
    assert out.finish_reason == "length"
    assert len(out.token_ids or ()) == 5


async def test_stops_on_end_of_turn(tiny_model: TransformersModel) -> None:
    eos = tiny_model.tokenizer.eos_token_id
    script = [*_ids(tiny_model, "The answer is 42."), eos]
    out = await _steered(tiny_model, script).complete(make_request("hi", options=GREEDY))
    assert out.token_ids == tuple(script)  # the end-of-turn token is kept in the ids...
    assert out.text == "The answer is 42."  # ...but not in the text
    assert out.message.content == "The answer is 42."
    assert out.finish_reason == "stop"


async def test_stop_strings_cut_the_text(tiny_model: TransformersModel) -> None:
    script = _ids(tiny_model, "one two three four five six")
    options = SamplingOptions(max_tokens=20, temperature=0, stop=(" four",))
    out = await _steered(tiny_model, script).complete(make_request("hi", options=options))
    assert out.text == "one two three"
    assert out.finish_reason == "stop"
    assert len(out.token_ids or ()) < len(script)  # generation stopped early


async def test_tool_calls_are_parsed(tiny_model: TransformersModel) -> None:
    text = '<think>\nadd them\n</think>\n\n<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>'
    script = [*_ids(tiny_model, text), tiny_model.tokenizer.eos_token_id]
    out = await _steered(tiny_model, script).complete(
        make_request("hi", options=SamplingOptions(max_tokens=80))
    )
    assert out.text == text
    assert out.message.reasoning == "add them"
    assert [(c.name, c.arguments) for c in out.message.tool_calls] == [("add", {"a": 1, "b": 2})]
    assert out.finish_reason == "tool_calls"
    assert out.parse_errors == ()


async def test_broken_tool_call_is_a_parse_error_not_an_exception(
    tiny_model: TransformersModel,
) -> None:
    script = [
        *_ids(tiny_model, '<tool_call>\n{"name": "add", "arguments": {"a": 1,,}}\n</tool_call>'),
        2,
    ]
    out = await _steered(tiny_model, script).complete(
        make_request("hi", options=SamplingOptions(max_tokens=80))
    )
    assert out.parse_errors


async def test_thinking_budget_closes_the_reasoning(tiny_model: TransformersModel) -> None:
    """A template whose generation prompt opens <think>; the model never closes it itself."""
    tokenizer = copy.deepcopy(tiny_model.tokenizer)
    tokenizer.chat_template = CHAT_TEMPLATE.replace(
        "{{- '<|im_start|>assistant\\n' -}}{%- if no_think -%}",
        "{{- '<|im_start|>assistant\\n<think>\\n' -}}{%- if no_think -%}",
    )
    think_close = tokenizer.convert_tokens_to_ids("</think>")
    eos = tokenizer.eos_token_id
    model = TransformersModel(Steered(tiny_model.model, banned=[think_close, eos]), tokenizer)
    request = make_request(
        "hi", options=SamplingOptions(max_tokens=10, temperature=0, thinking_budget=3)
    )
    assert (request.options.thinking_budget, model.render(request).endswith("<think>\n")) == (
        3,
        True,
    )
    out = await model.complete(request)
    ids = list(out.token_ids or ())
    assert ids.index(think_close) == 3  # three reasoning tokens, then the forced close
    assert len(ids) == 10  # and the answer goes on after it
    assert out.message.reasoning is not None
    assert out.message.reasoning.strip() == tokenizer.decode(ids[:3]).strip()
    streamed = [e async for e in model.stream(request)]
    assert streamed[0].kind == "reasoning"  # the prompt opened the block, so deltas start there
    assert any(e.kind == "text" for e in streamed)
    assert (
        streamed[-1].completion is not None and streamed[-1].completion.token_ids == out.token_ids
    )
    unlimited = await model.complete(
        make_request("hi", options=SamplingOptions(max_tokens=10, temperature=0))
    )
    assert think_close not in (unlimited.token_ids or ())


async def test_context_overflow(tiny_dir: Path, tiny_model: TransformersModel) -> None:
    short = TransformersModel.from_pretrained(tiny_dir, max_context=12)
    with pytest.raises(ContextOverflowError, match="context of 12"):
        await short.complete(
            make_request("a fairly long question about many things", options=GREEDY)
        )
    with pytest.raises(ContextOverflowError):
        await tiny_model.complete(make_request("word " * 400))
    # A prompt that fits leaves only the room that is left for the answer.
    fits = TransformersModel.from_pretrained(tiny_dir, max_context=12)
    out = await fits.complete(make_request("hi", options=SamplingOptions(max_tokens=50)))
    assert len(out.prompt_token_ids or ()) + len(out.token_ids or ()) <= 12


def test_missing_directory(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    with pytest.raises(ModelLoadError, match="nowhere"):
        TransformersModel.from_pretrained(missing)


def test_directory_without_a_model(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match=str(tmp_path.name)):
        TransformersModel.from_pretrained(tmp_path)


def test_tokenizer_without_chat_template(tiny_model: TransformersModel) -> None:
    tokenizer = copy.deepcopy(tiny_model.tokenizer)
    tokenizer.chat_template = None
    with pytest.raises(ChatTemplateError, match="chat_template"):
        TransformersModel(tiny_model.model, tokenizer)


async def test_stream_yields_deltas_then_the_completion(tiny_model: TransformersModel) -> None:
    text = "<think>\nhm\n</think>\n\nThe answer is 42."
    script = [*_ids(tiny_model, text), tiny_model.tokenizer.eos_token_id]
    steered = _steered(tiny_model, script)
    events = [
        e async for e in steered.stream(make_request("hi", options=SamplingOptions(max_tokens=40)))
    ]
    assert events[-1].kind == "done" and events[-1].completion is not None
    assert "".join(e.delta for e in events if e.kind == "reasoning") == "\nhm\n"
    assert "".join(e.delta for e in events if e.kind == "text") == "\n\nThe answer is 42."
    assert events[-1].completion.message.content == "The answer is 42."


class Gated(Steered):
    """A steered model whose forward pass number ``gate`` waits until ``release`` is set."""

    def __init__(self, inner: Any, script: Sequence[int], banned: Sequence[int], gate: int) -> None:
        super().__init__(inner, script, banned)
        self.gate, self.forwards = gate, 0
        self.release = threading.Event()

    def forward(self, **kwargs: Any) -> Any:
        self.forwards += 1
        if self.forwards == self.gate:
            self.release.wait(timeout=60)
        return super().forward(**kwargs)


async def test_stream_can_stop_early(tiny_model: TransformersModel) -> None:
    # Plain words first (so the first delta comes at once), never the end of the turn.
    eos = tiny_model.tokenizer.eos_token_id
    gated = Gated(tiny_model.model, _ids(tiny_model, "one two three four"), [eos], gate=4)
    model = TransformersModel(gated, tiny_model.tokenizer, name="gated")
    stream = model.stream(make_request("hi", options=SamplingOptions(max_tokens=200, seed=0)))
    first = await anext(stream)
    assert first.kind == "text" and first.delta
    await stream.aclose()  # type: ignore[attr-defined]
    gated.release.set()  # the paused generation goes on, and must notice the closed stream
    after = await model.complete(make_request("hi", options=SamplingOptions(max_tokens=3)))
    # The stream's generation stopped by the step it was paused at (or before, if it saw
    # the close first), not after 200 tokens; the lock and the compute thread were free.
    assert 1 <= gated.forwards - 3 <= 4
    assert len(after.token_ids or ()) == 3


async def test_live_peft_policy_in_training_mode(tiny_model: TransformersModel) -> None:
    from peft import LoraConfig, get_peft_model

    policy = get_peft_model(
        copy.deepcopy(tiny_model.model), LoraConfig(r=4, target_modules=["q_proj", "v_proj"])
    )
    policy.train()
    live = TransformersModel(policy, tiny_model.tokenizer, name="policy")
    out = await live.complete_batch(_requests())
    base = await tiny_model.complete_batch(_requests())
    # A fresh LoRA adapter is the identity, and generation ran without dropout.
    assert [c.token_ids for c in out] == [c.token_ids for c in base]
    assert policy.training  # training mode is given back


async def test_messages_with_content_parts_render(tiny_model: TransformersModel) -> None:
    message = UserMessage.model_validate(
        {"content": [{"type": "text", "text": "hel"}, {"type": "text", "text": "lo"}]}
    )
    assert tiny_model.render(make_request([message])).startswith(
        "<|im_start|>user\nhello<|im_end|>"
    )


async def test_generation_runs_on_the_compute_thread(tiny_model: TransformersModel) -> None:
    """Local generation shares one OS thread with training steps (see hone._compute)."""
    seen: set[str] = set()
    handle = tiny_model.model.register_forward_hook(
        lambda *_: seen.add(threading.current_thread().name)
    )
    try:
        await tiny_model.complete_batch(_requests(GREEDY.with_(max_tokens=2)))
        tiny_model.generate(_requests(GREEDY.with_(max_tokens=2)))
        async for _ in tiny_model.stream(_requests(GREEDY.with_(max_tokens=2))[0]):
            pass
    finally:
        handle.remove()
    assert len(seen) == 1 and next(iter(seen)).startswith("hone-compute")
