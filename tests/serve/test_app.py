"""``hone serve`` through the official OpenAI client (and raw HTTP for error shapes)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable, Iterator, Sequence
from contextlib import ExitStack
from typing import Any

import httpx
import openai
import pytest

from hone.errors import ContextOverflowError, ModelError
from hone.messages import AssistantMessage, ToolMessage, UserMessage
from hone.models._protocol import ChatRequest, Completion, StreamEvent
from hone.models._scripted import Reply, ScriptedModel
from hone.serve import create_app, running_server

CALL = '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>'
USER = [{"role": "user", "content": "hi"}]


class Served:
    """A scripted model served on loopback, with a client for it."""

    def __init__(self, model: ScriptedModel, url: str) -> None:
        self.model = model
        self.url = url
        self.client = openai.OpenAI(base_url=url, api_key="key", max_retries=0)


Start = Callable[..., Served]


@pytest.fixture
def serve_script() -> Iterator[Start]:
    """Start a server for ``ScriptedModel(replies, **kwargs)``; stopped after the test."""
    with ExitStack() as stack:

        def start(replies: Sequence[Reply], **kwargs: Any) -> Served:
            model = ScriptedModel(replies, **kwargs)
            app = create_app(model, model_name="scripted", api_key="key")
            return Served(model, stack.enter_context(running_server(app)))

        yield start


def test_plain_reply_with_reasoning_and_usage(serve_script: Start) -> None:
    served = serve_script(["<think>hmm</think>Hello there"])
    reply = served.client.chat.completions.create(model="scripted", messages=USER)

    choice = reply.choices[0]
    assert choice.message.content == "Hello there"
    assert choice.message.model_extra["reasoning_content"] == "hmm"
    assert choice.finish_reason == "stop"
    assert reply.object == "chat.completion" and reply.model == "scripted"
    assert reply.usage is not None and reply.usage.completion_tokens > 0


def test_tool_calls_and_tool_messages_round_trip(serve_script: Start) -> None:
    served = serve_script([CALL, "It is 3."])
    tools = [{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}]
    first = served.client.chat.completions.create(model="scripted", messages=USER, tools=tools)
    (call,) = first.choices[0].message.tool_calls or []
    assert first.choices[0].finish_reason == "tool_calls"
    assert first.choices[0].message.content is None
    assert call.function.name == "add" and json.loads(call.function.arguments) == {"a": 1, "b": 2}

    history = [
        *USER,
        first.choices[0].message.model_dump(exclude_none=True),
        {"role": "tool", "tool_call_id": call.id, "content": "3"},
    ]
    second = served.client.chat.completions.create(model="scripted", messages=history, tools=tools)
    assert second.choices[0].message.content == "It is 3."

    seen = served.model.requests[-1]
    assert [type(m) for m in seen.messages] == [UserMessage, AssistantMessage, ToolMessage]
    assert seen.messages[1].tool_calls[0].id == call.id  # type: ignore[union-attr]
    assert seen.tools[0]["function"]["name"] == "add"


def test_sampling_fields_reach_the_backend(serve_script: Start) -> None:
    served = serve_script(["ok"], when_exhausted="cycle")
    served.client.chat.completions.create(
        model="scripted",
        messages=USER,
        temperature=0.3,
        top_p=0.9,
        max_tokens=17,
        stop="END",
        seed=7,
        tools=[{"type": "function", "function": {"name": "f"}}],
        tool_choice="none",
        extra_body={
            "top_k": 5,
            "chat_template_kwargs": {"enable_thinking": False},
            "thinking_token_budget": 64,
        },
    )
    options = served.model.requests[-1].options
    assert (options.temperature, options.top_p, options.max_tokens) == (0.3, 0.9, 17)
    assert (options.stop, options.seed, options.top_k) == (("END",), 7, 5)
    assert (options.enable_thinking, options.thinking_budget) == (False, 64)
    # tool_choice reaches the backend, which leaves the tools out of the prompt.
    assert served.model.requests[-1].tool_choice == "none"
    assert served.model.requests[-1].tools[0]["function"]["name"] == "f"

    served.client.chat.completions.create(
        model="scripted", messages=USER, max_completion_tokens=9, extra_body={"top_k": -1}
    )
    options = served.model.requests[-1].options
    assert (options.max_tokens, options.top_k) == (9, None)


def test_n_logprobs_and_token_ids(serve_script: Start) -> None:
    served = serve_script(["ab", "cde"], when_exhausted="cycle")
    reply = served.client.chat.completions.create(
        model="scripted", messages=USER, n=2, logprobs=True, extra_body={"return_token_ids": True}
    )
    assert [c.message.content for c in reply.choices] == ["ab", "cde"]
    assert [c.index for c in reply.choices] == [0, 1]
    second = reply.choices[1]
    assert second.model_extra["token_ids"] == list(b"cde")
    assert second.logprobs is not None and second.logprobs.content is not None
    assert [t.logprob for t in second.logprobs.content] == [0.0, 0.0, 0.0]
    assert second.logprobs.content[0].token == "c"
    assert second.logprobs.content[0].bytes == [ord("c")]

    named = served.client.chat.completions.create(
        model="scripted",
        messages=USER,
        logprobs=True,
        extra_body={"return_tokens_as_token_ids": True},
    )
    assert named.choices[0].logprobs.content[0].token == f"token_id:{ord('a')}"  # type: ignore[union-attr]
    prompt = bytes(reply.model_extra["prompt_token_ids"]).decode()
    assert prompt.endswith("<|im_start|>assistant\n")


def test_streaming(serve_script: Start) -> None:
    reply = "<think>ponder</think>The answer is 3.\n" + CALL
    served = serve_script([reply])
    chunks = list(
        served.client.chat.completions.create(
            model="scripted",
            messages=USER,
            stream=True,
            stream_options={"include_usage": True},
            extra_body={"return_token_ids": True},
        )
    )
    deltas = [c.choices[0].delta for c in chunks if c.choices]
    assert "".join(d.content or "" for d in deltas) == "The answer is 3."
    assert "".join((d.model_extra or {}).get("reasoning_content", "") for d in deltas) == "ponder"
    final = next(c.choices[0] for c in chunks if c.choices and c.choices[0].finish_reason)
    assert final.finish_reason == "tool_calls"
    assert final.delta.tool_calls is not None and final.delta.tool_calls[0].function is not None
    assert final.delta.tool_calls[0].function.name == "add"
    assert bytes(final.model_extra["token_ids"]).decode() == reply
    assert any((c.model_extra or {}).get("prompt_token_ids") for c in chunks)
    assert chunks[-1].usage is not None and not chunks[-1].choices
    assert all(c.object == "chat.completion.chunk" for c in chunks)


def test_models_and_health(serve_script: Start) -> None:
    served = serve_script(["x"])
    assert [m.id for m in served.client.models.list()] == ["scripted"]
    assert served.client.models.retrieve("scripted").id == "scripted"
    health = httpx.get(served.url.removesuffix("/v1") + "/health")  # no key needed
    assert health.status_code == 200 and health.json()["status"] == "ok"


def test_auth_and_unknown_model(serve_script: Start) -> None:
    served = serve_script(["x"])
    bad = openai.OpenAI(base_url=served.url, api_key="wrong", max_retries=0)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model="scripted", messages=USER)
    missing = httpx.get(f"{served.url}/models")
    assert missing.status_code == 401
    assert missing.json()["error"]["code"] == "invalid_api_key"

    with pytest.raises(openai.NotFoundError) as info:
        served.client.chat.completions.create(model="other", messages=USER)
    assert info.value.code == "model_not_found"
    assert served.model.calls == 0


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        ({"model": "scripted", "messages": []}, "messages"),
        ({"model": "scripted", "messages": USER, "temperature": 9}, "temperature"),
        ({"model": "scripted", "messages": [{"role": "robot", "content": "x"}]}, "messages[0]"),
        ({"model": "scripted", "messages": USER, "stream": True, "n": 2}, "n=1"),
    ],
)
def test_bad_requests_get_openai_shaped_400(
    serve_script: Start, body: dict[str, Any], needle: str
) -> None:
    served = serve_script(["x"])
    response = httpx.post(
        f"{served.url}/chat/completions", json=body, headers={"Authorization": "Bearer key"}
    )
    assert response.status_code == 400
    error = response.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert needle in error["message"]


def test_backend_errors_map_to_status_codes(serve_script: Start) -> None:
    def overflow(request: ChatRequest) -> str:
        raise ContextOverflowError("prompt of 9000 tokens exceeds the context length of 4096")

    served = serve_script([overflow], when_exhausted="cycle")
    for stream in (False, True):
        with pytest.raises(openai.BadRequestError) as info:
            served.client.chat.completions.create(model="scripted", messages=USER, stream=stream)
        assert info.value.code == "context_length_exceeded"

    served = serve_script(["once"])
    served.client.chat.completions.create(model="scripted", messages=USER)
    with pytest.raises(openai.InternalServerError, match="ran out of replies"):
        served.client.chat.completions.create(model="scripted", messages=USER)


class _FailsMidStream:
    """A backend whose stream breaks after the first delta."""

    name = "scripted"

    async def complete(self, request: ChatRequest) -> Completion:
        raise ModelError("unused")

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        raise ModelError("unused")

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        yield StreamEvent(kind="text", delta="partial")
        raise ModelError("the backend fell over")


def test_errors_after_the_stream_started_arrive_as_error_events() -> None:
    with running_server(create_app(_FailsMidStream(), model_name="scripted")) as url:
        client = openai.OpenAI(base_url=url, api_key="none", max_retries=0)
        stream = client.chat.completions.create(model="scripted", messages=USER, stream=True)
        with pytest.raises(openai.APIError, match="fell over"):
            list(stream)


def test_public_surface() -> None:
    import hone.serve

    assert hone.serve.__all__ == [
        "AdapterPool",
        "AdapterStats",
        "ChatCompletionBody",
        "GatewayStore",
        "RewardBody",
        "SessionReward",
        "SessionSummary",
        "TokenIds",
        "create_app",
        "create_gateway_app",
        "running_server",
        "serve",
        "serve_gateway",
    ]
