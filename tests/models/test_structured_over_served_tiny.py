"""Structured output end to end: the untrained tiny model behind ``hone serve`` answers the
official client's ``parse`` (chat completions and Responses) and ``tool_choice="required"``
with valid output, because the server decodes under the grammar."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Literal

import openai
import pytest
from pydantic import BaseModel, Field

from hone.models._transformers import TransformersModel
from hone.serve import create_app, running_server

pytest.importorskip("llguidance")


class Order(BaseModel):
    """Bounded fields: an untrained model must still be able to finish them."""

    item: Literal["tea", "cake", "soup"]
    count: int = Field(ge=1, le=9)
    note: str = Field(max_length=6)


ADD = {
    "type": "function",
    "function": {
        "name": "add",
        "parameters": {
            "type": "object",
            "properties": {"a": {"enum": [1, 2, 3]}, "b": {"enum": [4, 5]}},
            "required": ["a", "b"],
            "additionalProperties": False,
        },
    },
}


@pytest.fixture(scope="module")
def client(tiny_model: TransformersModel) -> Iterator[openai.OpenAI]:
    roomy = TransformersModel(tiny_model.model, tiny_model.tokenizer, name="tiny", max_context=1024)
    with running_server(create_app(roomy, model_name="tiny")) as url:
        yield openai.OpenAI(base_url=url, api_key="none", max_retries=0)


def test_chat_parse_on_an_untrained_model(client: openai.OpenAI) -> None:
    for seed in range(3):
        reply = client.chat.completions.parse(
            model="tiny",
            messages=[{"role": "user", "content": "order something"}],
            response_format=Order,
            max_tokens=80,
            seed=seed,
        )
        assert isinstance(reply.choices[0].message.parsed, Order)


def test_responses_parse_on_an_untrained_model(client: openai.OpenAI) -> None:
    response = client.responses.parse(
        model="tiny", input="order something", text_format=Order, max_output_tokens=80
    )
    assert isinstance(response.output_parsed, Order)


def test_required_tool_call_on_an_untrained_model(client: openai.OpenAI) -> None:
    reply = client.chat.completions.create(
        model="tiny",
        messages=[{"role": "user", "content": "add"}],
        tools=[ADD],  # type: ignore[list-item]
        tool_choice="required",
        max_tokens=60,
    )
    calls = reply.choices[0].message.tool_calls or []
    assert calls and all(c.function.name == "add" for c in calls)  # type: ignore[union-attr]
    assert json.loads(calls[0].function.arguments)["b"] in (4, 5)  # type: ignore[union-attr]


def test_streamed_chunks_carry_the_logprobs_of_their_tokens(client: openai.OpenAI) -> None:
    stream = client.chat.completions.create(
        model="tiny",
        messages=[{"role": "user", "content": "hello"}],
        max_tokens=16,
        logprobs=True,
        top_logprobs=2,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(stream)
    entries = [e for c in chunks if c.choices for e in (c.choices[0].logprobs.content or [])]  # type: ignore[union-attr]
    usage = chunks[-1].usage
    assert usage is not None and len(entries) == usage.completion_tokens
    for chunk in chunks:
        if chunk.choices and chunk.choices[0].delta.content:
            assert chunk.choices[0].logprobs and chunk.choices[0].logprobs.content
    assert all(len(e.top_logprobs) == 2 for e in entries)
