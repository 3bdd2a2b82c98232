"""OpenAICompatibleModel against ``hone serve`` (serving a ScriptedModel) on loopback."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from typing import Any

import pytest

from hone.errors import (
    ContextOverflowError,
    ModelAuthError,
    ModelConnectionError,
    ModelError,
    ModelNotFoundError,
)
from hone.messages import AssistantMessage, ToolCall
from hone.models._openai import OpenAICompatibleModel
from hone.models._protocol import ChatRequest, SamplingOptions, complete_sync, make_request
from hone.models._scripted import Reply, ScriptedModel
from hone.serve import create_app, running_server

CALL = '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>'
TOOLS = [{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}]


class Served:
    """A scripted model behind ``hone serve``, and an OpenAICompatibleModel pointed at it."""

    def __init__(self, model: ScriptedModel, url: str) -> None:
        self.model = model
        self.url = url
        self.client = OpenAICompatibleModel("scripted", base_url=url, api_key="key", max_retries=0)


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


async def test_plain_reply(serve_script: Start) -> None:
    served = serve_script(["<think>hmm</think>Hello there"])
    completion = await served.client.complete(make_request("hi"))

    assert completion.message.text == "Hello there"
    assert completion.message.reasoning == "hmm"
    assert completion.finish_reason == "stop"
    assert completion.model == "scripted"
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens > 0
    assert completion.token_ids is None and completion.logprobs is None


async def test_tool_calls_round_trip(serve_script: Start) -> None:
    served = serve_script([CALL])
    completion = await served.client.complete(make_request("add", tools=TOOLS))

    (call,) = completion.message.tool_calls
    assert (call.name, call.arguments) == ("add", {"a": 1, "b": 2})
    assert completion.finish_reason == "tool_calls"
    assert completion.parse_errors == ()
    assert served.model.requests[0].tools[0]["function"]["name"] == "add"


async def test_tool_calls_left_in_text_are_parsed(serve_script: Start) -> None:
    # A server without a tool parser returns the <tool_call> block as plain content.
    served = serve_script([AssistantMessage(content=CALL)])
    completion = await served.client.complete(make_request("add"))
    assert [c.name for c in completion.message.tool_calls] == ["add"]
    assert completion.finish_reason == "tool_calls"


async def test_history_with_tool_results_reaches_the_server(serve_script: Start) -> None:
    served = serve_script(["3"])
    call = ToolCall(id="call_1", name="add", arguments={"a": 1, "b": 2})
    history = [
        ("user", "add 1 and 2"),
        AssistantMessage(tool_calls=(call,)),
        {"role": "tool", "tool_call_id": "call_1", "content": "3"},
    ]
    await served.client.complete(make_request(history))
    seen = served.model.requests[0].messages
    assert seen[1] == AssistantMessage(
        tool_calls=(call.model_copy(update={"raw_arguments": call.arguments_json()}),)
    )
    assert seen[2].role == "tool" and seen[2].text == "3"


async def test_options_reach_the_backend(serve_script: Start) -> None:
    served = serve_script(["ok"])
    options = SamplingOptions(
        max_tokens=33,
        temperature=0.2,
        top_p=0.8,
        top_k=4,
        stop=("END",),
        seed=11,
        enable_thinking=True,
        thinking_budget=16,
    )
    await served.client.complete(make_request("hi", options=options))
    assert served.model.requests[0].options == options


async def test_logprobs_and_token_ids(serve_script: Start) -> None:
    served = serve_script(["abc"])
    options = SamplingOptions(logprobs=True, return_token_ids=True)
    completion = await served.client.complete(make_request("hi", options=options))

    assert completion.token_ids == tuple(b"abc")
    assert completion.logprobs == (0.0, 0.0, 0.0)
    assert completion.prompt_token_ids is not None
    assert bytes(completion.prompt_token_ids).decode().endswith("<|im_start|>assistant\n")


async def test_stream(serve_script: Start) -> None:
    served = serve_script(["<think>ponder</think>The answer is 3.\n" + CALL])
    options = SamplingOptions(logprobs=True, return_token_ids=True)
    events = [e async for e in served.client.stream(make_request("q", options=options))]

    assert events[-1].kind == "done" and events[-1].completion is not None
    done = events[-1].completion
    assert "".join(e.delta for e in events if e.kind == "text") == "The answer is 3."
    assert "".join(e.delta for e in events if e.kind == "reasoning") == "ponder"
    assert len([e for e in events if e.kind == "text"]) > 1
    assert done.message.reasoning == "ponder"
    assert [(c.name, c.arguments) for c in done.message.tool_calls] == [("add", {"a": 1, "b": 2})]
    assert done.finish_reason == "tool_calls"
    assert done.usage.completion_tokens > 0
    assert done.token_ids is not None and done.logprobs == (0.0,) * len(done.token_ids)
    assert done.prompt_token_ids is not None


async def test_complete_batch_runs_concurrently_and_keeps_order(serve_script: Start) -> None:
    def echo(request: ChatRequest) -> str:
        return f"echo {request.messages[-1].text}"

    served = serve_script([echo], when_exhausted="cycle")
    out = await served.client.complete_batch([make_request(str(i)) for i in range(5)])
    assert [c.message.text for c in out] == [f"echo {i}" for i in range(5)]


def test_sync_calls_work_across_event_loops(serve_script: Start) -> None:
    served = serve_script(["one", "two"])
    first = complete_sync(served.client, make_request("a"))
    second = complete_sync(served.client, make_request("b"))
    assert (first.message.text, second.message.text) == ("one", "two")


async def test_wrong_key_is_an_auth_error(serve_script: Start) -> None:
    served = serve_script(["x"])
    client = OpenAICompatibleModel("scripted", base_url=served.url, api_key="wrong", max_retries=0)
    with pytest.raises(ModelAuthError, match="OPENAI_API_KEY"):
        await client.complete(make_request("hi"))


async def test_unknown_model_lists_the_served_ones(serve_script: Start) -> None:
    served = serve_script(["x"])
    client = OpenAICompatibleModel("nope", base_url=served.url, api_key="key", max_retries=0)
    with pytest.raises(ModelNotFoundError, match=r"'nope'.*it serves: scripted"):
        await client.complete(make_request("hi"))
    assert await served.client.list_models() == ["scripted"]


async def test_context_overflow_and_server_errors(serve_script: Start) -> None:
    def overflow(request: ChatRequest) -> str:
        raise ContextOverflowError("9000 tokens exceed the context length of 4096")

    served = serve_script([overflow])
    with pytest.raises(ContextOverflowError, match="context"):
        await served.client.complete(make_request("hi"))
    with pytest.raises(ModelError, match=r"500.*ran out of replies"):
        await served.client.complete(make_request("hi"))


async def test_unreachable_server_is_a_connection_error_naming_the_url() -> None:
    with socket.socket() as sock:  # a port that was free a moment ago: nothing listens there
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    client = OpenAICompatibleModel("m", base_url=url, timeout=2.0, max_retries=0)
    started = time.monotonic()
    with pytest.raises(ModelConnectionError, match=f"127.0.0.1:{port}"):
        await client.complete(make_request("hi"))
    with pytest.raises(ModelConnectionError):
        _ = [e async for e in client.stream(make_request("hi"))]
    assert time.monotonic() - started < 5


def test_openai_without_a_key_fails_early(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ModelAuthError, match="OPENAI_API_KEY"):
        OpenAICompatibleModel("gpt-4.1")
    OpenAICompatibleModel("local", base_url="http://localhost:1/v1")  # local servers need none


def test_request_body_maps_options_the_way_vllm_reads_them() -> None:
    options = SamplingOptions(
        max_tokens=10,
        top_k=3,
        seed=1,
        stop=("x",),
        logprobs=True,
        return_token_ids=True,
        enable_thinking=False,
        thinking_budget=8,
    )
    request = make_request("hi", tools=TOOLS, options=options)
    local = OpenAICompatibleModel(
        "m", base_url="http://h/v1", extra_body={"chat_template_kwargs": {"custom": 1}, "foo": 2}
    ).request_body(request)
    assert local["max_tokens"] == 10 and "max_completion_tokens" not in local
    assert (local["seed"], local["stop"], local["logprobs"]) == (1, ["x"], True)
    assert local["tools"] == TOOLS
    assert local["extra_body"] == {
        "foo": 2,
        "top_k": 3,
        "return_token_ids": True,
        "chat_template_kwargs": {"custom": 1, "enable_thinking": False},
        "thinking_token_budget": 8,
    }

    official = OpenAICompatibleModel("gpt", api_key="k").request_body(make_request("hi"))
    assert official["max_completion_tokens"] == 512 and "max_tokens" not in official
    assert "extra_body" not in official and "tools" not in official
