"""Constrained decoding on the local backend: an *untrained* tiny model under a grammar still
writes schema-valid JSON and well-formed tool calls, rows without a grammar are sampled
exactly as alone, and logprobs stay the raw model's."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest
import torch

from hone.errors import CapabilityError, ConfigError
from hone.models._protocol import ChatRequest, Completion, SamplingOptions, make_request
from hone.models._transformers import TransformersModel

pytest.importorskip("llguidance")

SAMPLED = SamplingOptions(max_tokens=160, temperature=1.0, seed=0)

# Bounded schemas: an untrained model picks tokens at random, so an unbounded string or
# integer could run past any token limit (a trained model ends them; the grammar cannot).
NESTED = {
    "type": "object",
    "properties": {
        "user": {
            "type": "object",
            "properties": {
                "name": {"type": "string", "maxLength": 8},
                "address": {
                    "type": "object",
                    "properties": {"zip": {"type": "integer", "minimum": 0, "maximum": 999}},
                    "required": ["zip"],
                    "additionalProperties": False,
                },
            },
            "required": ["name", "address"],
            "additionalProperties": False,
        }
    },
    "required": ["user"],
    "additionalProperties": False,
}
ARRAY = {
    "type": "object",
    "properties": {
        "scores": {
            "type": "array",
            "items": {"type": "integer", "minimum": 0, "maximum": 9},
            "minItems": 1,
            "maxItems": 4,
        },
        "done": {"type": "boolean"},
    },
    "required": ["scores", "done"],
    "additionalProperties": False,
}
ENUM = {
    "type": "object",
    "properties": {
        "colour": {"enum": ["red", "green", "blue"]},
        "size": {"type": "string", "enum": ["S", "M", "L"]},
        "note": {"type": ["string", "null"], "maxLength": 5},
    },
    "required": ["colour", "size", "note"],
    "additionalProperties": False,
}
TOP_LEVEL_ARRAY = {"type": "array", "items": {"enum": [1, 2, 3]}, "maxItems": 3}
SCHEMAS = {"nested": NESTED, "array": ARRAY, "enum": ENUM, "top_level_array": TOP_LEVEL_ARRAY}

ADD = {
    "type": "function",
    "function": {
        "name": "add",
        "parameters": {
            "type": "object",
            "properties": {
                "a": {"type": "integer", "minimum": 0, "maximum": 99},
                "b": {"type": "integer", "minimum": 0, "maximum": 99},
            },
            "required": ["a", "b"],
            "additionalProperties": False,
        },
    },
}
PICK = {
    "type": "function",
    "function": {
        "name": "pick",
        "parameters": {
            "type": "object",
            "properties": {"which": {"enum": ["x", "y"]}},
            "required": ["which"],
            "additionalProperties": False,
        },
    },
}
TOOLS = (ADD, PICK)


def _format(schema: dict[str, Any], name: str = "answer") -> dict[str, Any]:
    return {"type": "json_schema", "json_schema": {"name": name, "schema": schema, "strict": True}}


def _request(prompt: str = "hi", options: SamplingOptions = SAMPLED, **fields: Any) -> ChatRequest:
    return ChatRequest(messages=make_request(prompt).messages, options=options, **fields)


@pytest.fixture(scope="module")
def roomy(tiny_model: TransformersModel) -> TransformersModel:
    """The tiny model with room for tool prompts (RoPE runs past the configured 256)."""
    return TransformersModel(tiny_model.model, tiny_model.tokenizer, name="tiny", max_context=1024)


def _valid(out: Completion, schema: dict[str, Any]) -> Any:
    assert out.finish_reason == "stop", out.text
    assert out.parse_errors == ()
    value = json.loads(out.message.text)  # the answer, after any reasoning
    jsonschema.validate(value, schema)
    return value


@pytest.mark.parametrize("name", sorted(SCHEMAS))
async def test_untrained_model_writes_schema_valid_json(
    tiny_model: TransformersModel, name: str
) -> None:
    schema = SCHEMAS[name]
    requests = [
        _request(prompt, SAMPLED.with_(seed=seed), response_format=_format(schema))
        for seed, prompt in enumerate(["hi", "Describe a user.", "What now?", "x"])
    ]
    outs = await tiny_model.complete_batch(requests)
    values = [_valid(out, schema) for out in outs]
    assert len({json.dumps(v) for v in values}) > 1  # sampled, not one forced answer


async def test_unconstrained_model_does_not_write_json(tiny_model: TransformersModel) -> None:
    # The control: without the grammar the same requests are not JSON at all.
    outs = await tiny_model.complete_batch(
        [_request(options=SAMPLED.with_(seed=s, max_tokens=40)) for s in range(3)]
    )
    for out in outs:
        with pytest.raises(json.JSONDecodeError):
            json.loads(out.text)


async def test_json_object_mode(tiny_model: TransformersModel) -> None:
    # Any object: values are unbounded, so only check it is one when the model finished.
    out = await tiny_model.complete(
        _request(options=SAMPLED.with_(max_tokens=200), response_format={"type": "json_object"})
    )
    assert out.text.startswith("{")
    if out.finish_reason == "stop":
        assert isinstance(json.loads(out.text), dict) and out.parse_errors == ()


async def test_unconstrained_rows_in_a_batch_are_unaffected(tiny_model: TransformersModel) -> None:
    free_sampled = _request("tell me about the world", SAMPLED.with_(seed=11, max_tokens=24))
    free_greedy = _request("hello", SamplingOptions(max_tokens=24, temperature=0.0))
    alone = [await tiny_model.complete(free_sampled), await tiny_model.complete(free_greedy)]
    mixed = await tiny_model.complete_batch(
        [
            _request(response_format=_format(ENUM), options=SAMPLED.with_(seed=1)),
            free_sampled,
            _request(response_format=_format(ARRAY), options=SAMPLED.with_(seed=2)),
            free_greedy,
        ]
    )
    assert mixed[1].token_ids == alone[0].token_ids
    assert mixed[3].token_ids == alone[1].token_ids
    assert mixed[1].logprobs == pytest.approx(alone[0].logprobs, abs=1e-4)
    # Two different grammars in one batch, each kept.
    _valid(mixed[0], ENUM)
    _valid(mixed[2], ARRAY)


async def test_logprobs_stay_the_raw_model_logprobs(tiny_model: TransformersModel) -> None:
    out = await tiny_model.complete(_request(response_format=_format(ENUM)))
    assert out.prompt_token_ids is not None and out.token_ids and out.logprobs
    ids = torch.tensor([[*out.prompt_token_ids, *out.token_ids]])
    with torch.no_grad():
        logits = tiny_model.model(input_ids=ids).logits[0].float()  # (T, V)
    start = len(out.prompt_token_ids)
    raw = torch.log_softmax(logits[start - 1 : -1], dim=-1)  # (n, V), no mask
    expected = raw.gather(-1, torch.tensor(out.token_ids)[:, None])[:, 0]
    assert torch.allclose(torch.tensor(out.logprobs), expected, atol=1e-4)
    # The grammar forced tokens the untrained model finds unlikely: raw logprobs show it.
    assert min(out.logprobs) < -3.0


async def test_top_logprobs_are_the_most_likely_raw_tokens(tiny_model: TransformersModel) -> None:
    options = SAMPLED.with_(logprobs=True, top_logprobs=3, max_tokens=8)
    out = await tiny_model.complete(_request(options=options))
    assert out.token_logprobs is not None and len(out.token_logprobs) == len(out.token_ids or ())
    for entry, logprob in zip(out.token_logprobs, out.logprobs or (), strict=True):
        assert entry.logprob == logprob and entry.token_id is not None
        assert entry.token == tiny_model.tokenizer.decode([entry.token_id])
        tops = [t.logprob for t in entry.top]
        assert len(tops) == 3 and tops == sorted(tops, reverse=True)
        assert tops[0] >= entry.logprob


async def test_stream_events_carry_their_tokens_logprobs(tiny_model: TransformersModel) -> None:
    options = SAMPLED.with_(logprobs=True, max_tokens=20)
    events = [e async for e in tiny_model.stream(_request(options=options))]
    done = events[-1].completion
    assert done is not None and done.token_logprobs is not None
    streamed = [entry for e in events[:-1] for entry in e.logprobs]
    assert all(e.logprobs for e in events[:-1] if e.delta)  # every delta carries some
    assert streamed == list(done.token_logprobs[: len(streamed)])
    # The parsed message drops the whitespace around the reply; the deltas are the raw text.
    assert "".join(e.delta for e in events[:-1]).strip() == done.message.text.strip()


async def test_required_tool_choice_gives_valid_calls(roomy: TransformersModel) -> None:
    outs = await roomy.complete_batch(
        [
            _request(tools=TOOLS, tool_choice="required", options=SAMPLED.with_(seed=s))
            for s in range(3)
        ]
    )
    for out in outs:
        assert out.finish_reason == "tool_calls" and out.parse_errors == (), out.text
        assert out.text.startswith("<tool_call>\n{")
        for call in out.message.tool_calls:
            schema = (ADD if call.name == "add" else PICK)["function"]["parameters"]
            jsonschema.validate(call.arguments, schema)


async def test_named_tool_choice_and_one_call_per_turn(roomy: TransformersModel) -> None:
    named = {"type": "function", "function": {"name": "pick"}}
    outs = await roomy.complete_batch(
        [
            _request(
                tools=TOOLS,
                tool_choice=named,
                parallel_tool_calls=False,
                options=SAMPLED.with_(seed=s),
            )
            for s in range(3)
        ]
    )
    for out in outs:
        (call,) = out.message.tool_calls
        assert call.name == "pick" and call.arguments["which"] in ("x", "y")
        assert out.parse_errors == ()


class _Boosted(torch.nn.Module):
    """The tiny model with one token's logit raised so far that it is always sampled."""

    def __init__(self, inner: Any, token: int) -> None:
        super().__init__()
        self.inner, self.config, self.token = inner, inner.config, token
        self.generation_config = inner.generation_config

    def forward(self, **kwargs: Any) -> Any:
        out = self.inner(**kwargs)
        out.logits[..., self.token] += 1e4
        return out


async def test_tool_choice_none_keeps_tools_out(roomy: TransformersModel) -> None:
    request = _request(tools=TOOLS, tool_choice="none", options=SAMPLED.with_(max_tokens=12))
    assert "add" not in roomy.render(request)
    assert "add" in roomy.render(_request(tools=TOOLS))
    call_open = roomy.tokenizer.convert_tokens_to_ids("<tool_call>")
    eager = TransformersModel(
        _Boosted(roomy.model, call_open), roomy.tokenizer, name="eager", max_context=1024
    )
    free = await eager.complete(_request(tools=TOOLS, options=SAMPLED.with_(max_tokens=12)))
    assert free.token_ids and free.token_ids[0] == call_open  # the control: it wants to call
    out = await eager.complete(request)
    assert call_open not in (out.token_ids or ())
    assert out.message.tool_calls == () and out.parse_errors == ()


async def test_one_call_per_turn_on_auto_ends_the_turn(roomy: TransformersModel) -> None:
    call_close = roomy.tokenizer.convert_tokens_to_ids("</tool_call>")
    # A model that always closes a call: with parallel_tool_calls=False the turn ends after
    # the first close instead of going on.
    eager = TransformersModel(
        _Boosted(roomy.model, call_close), roomy.tokenizer, name="eager", max_context=1024
    )
    options = SAMPLED.with_(max_tokens=6)
    many = await eager.complete(_request(tools=TOOLS, options=options))
    one = await eager.complete(_request(tools=TOOLS, parallel_tool_calls=False, options=options))
    assert (many.token_ids or ()).count(call_close) == 6
    assert one.token_ids is not None and one.token_ids[0] == call_close
    assert one.token_ids[1:] == (roomy.tokenizer.eos_token_id,) and one.finish_reason == "stop"


async def test_format_with_tools_on_auto_allows_either(roomy: TransformersModel) -> None:
    outs = await roomy.complete_batch(
        [
            _request(tools=TOOLS, response_format=_format(ENUM), options=SAMPLED.with_(seed=s))
            for s in range(4)
        ]
    )
    for out in outs:
        assert out.parse_errors == (), out.text
        if not out.message.tool_calls:
            jsonschema.validate(json.loads(out.text), ENUM)


async def test_reasoning_first_when_thinking(tiny_model: TransformersModel) -> None:
    # With thinking on, the grammar lets the model reason before the answer; the thinking
    # budget (a forced </think>) stays compatible with the grammar.
    options = SAMPLED.with_(enable_thinking=True, thinking_budget=4)
    outs = await tiny_model.complete_batch(
        [_request(response_format=_format(ENUM), options=options.with_(seed=s)) for s in range(6)]
    )
    for out in outs:
        _valid(out, ENUM)


async def test_bad_formats_fail_at_the_boundary(tiny_model: TransformersModel) -> None:
    with pytest.raises(ConfigError, match=r"response_format\.json_schema"):
        await tiny_model.complete(_request(response_format={"type": "json_schema"}))
    lookahead = {"type": "string", "pattern": "(?=a)b"}
    with pytest.raises(CapabilityError, match="look-around"):
        await tiny_model.complete(_request(response_format=_format(lookahead)))
    with pytest.raises(ConfigError, match="not among the tools"):
        await tiny_model.complete(
            _request(tool_choice={"type": "function", "function": {"name": "add"}})
        )
