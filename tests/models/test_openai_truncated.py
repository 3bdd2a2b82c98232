"""OpenAICompatibleModel and replies cut off at the token limit (``finish_reason: "length"``):
a cut tool call is reported to the model, never repaired and run; ``parser=`` reads calls a
server leaves in the text."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from hone.errors import ConfigError
from hone.models._openai import OpenAICompatibleModel
from hone.models._protocol import make_request
from hone.serve import running_server

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "add",
            "parameters": {
                "type": "object",
                "properties": {"a": {"type": "integer"}, "b": {"type": "integer"}},
            },
        },
    }
]
CUT = "cut off at the token limit"


def _body(message: dict[str, Any], finish: str) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 0,
        "model": "fake",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 5, "completion_tokens": 7, "total_tokens": 12},
    }


def _native(arguments: str) -> dict[str, Any]:
    call = {"id": "call_1", "type": "function", "function": {"name": "add", "arguments": arguments}}
    return {"role": "assistant", "content": None, "tool_calls": [call]}


Reply = Callable[[dict[str, Any], str], OpenAICompatibleModel]


@pytest.fixture
def fake_server() -> Iterator[Reply]:
    """A server that answers every chat completion with one fixed body."""
    body: dict[str, Any] = {}

    async def completions(request: Request) -> JSONResponse:
        await request.json()
        return JSONResponse(body)

    app = Starlette(routes=[Route("/v1/chat/completions", completions, methods=["POST"])])
    with running_server(app) as url:

        def reply(message: dict[str, Any], finish: str, **kwargs: Any) -> OpenAICompatibleModel:
            body.clear()
            body.update(_body(message, finish))
            return OpenAICompatibleModel("fake", base_url=url, max_retries=0, **kwargs)

        yield reply


async def test_cut_native_arguments_are_reported_not_run(fake_server: Reply) -> None:
    model = fake_server(_native('{"a": 1, "b"'), "length")
    completion = await model.complete(make_request("add", tools=TOOLS))
    assert completion.finish_reason == "length"
    assert completion.message.tool_calls == ()
    assert any(CUT in error for error in completion.parse_errors)


async def test_whole_native_arguments_still_run_when_cut_after(fake_server: Reply) -> None:
    model = fake_server(_native('{"a": 1, "b": 2}'), "length")
    completion = await model.complete(make_request("add", tools=TOOLS))
    assert [c.arguments for c in completion.message.tool_calls] == [{"a": 1, "b": 2}]


async def test_a_cut_call_in_the_text_is_reported_not_repaired(fake_server: Reply) -> None:
    text = '<tool_call>{"name": "add", "arguments": {"a": 1'
    model = fake_server({"role": "assistant", "content": text}, "length")
    completion = await model.complete(make_request("add", tools=TOOLS))
    assert completion.message.tool_calls == ()
    assert any(CUT in error for error in completion.parse_errors)


async def test_the_same_text_not_cut_by_the_limit_is_repaired(fake_server: Reply) -> None:
    # The contrast: without finish_reason "length" the unclosed call is read leniently.
    text = '<tool_call>{"name": "add", "arguments": {"a": 1'
    model = fake_server({"role": "assistant", "content": text}, "stop")
    completion = await model.complete(make_request("add", tools=TOOLS))
    assert [c.arguments for c in completion.message.tool_calls] == [{"a": 1}]


async def test_parser_reads_calls_left_in_the_text(fake_server: Reply) -> None:
    text = 'Thought: add them\nAction: add\nAction Input: {"a": 1, "b": 2}'
    model = fake_server({"role": "assistant", "content": text}, "stop", parser="react")
    assert model.parser_name == "react"
    completion = await model.complete(make_request("add", tools=TOOLS))
    assert [(c.name, c.arguments) for c in completion.message.tool_calls] == [
        ("add", {"a": 1, "b": 2})
    ]
    assert completion.finish_reason == "tool_calls"


async def test_parser_is_told_about_the_cut(fake_server: Reply) -> None:
    text = 'Action: add\nAction Input: {"a": 1, "b"'
    model = fake_server({"role": "assistant", "content": text}, "length", parser="react")
    completion = await model.complete(make_request("add", tools=TOOLS))
    assert completion.message.tool_calls == ()
    assert any(CUT in error for error in completion.parse_errors)


async def test_native_calls_win_over_the_parser(fake_server: Reply) -> None:
    model = fake_server(_native(json.dumps({"a": 3, "b": 4})), "tool_calls", parser="react")
    completion = await model.complete(make_request("add", tools=TOOLS))
    assert [c.arguments for c in completion.message.tool_calls] == [{"a": 3, "b": 4}]


def test_an_unknown_parser_is_refused() -> None:
    with pytest.raises(ConfigError, match="unknown parse format 'nope'"):
        OpenAICompatibleModel("m", base_url="http://127.0.0.1:9/v1", parser="nope")  # type: ignore[arg-type]
