"""Model-call spans: one ``chat {model}`` span per logical call, with the GenAI attributes."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator, Sequence
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from opentelemetry import trace
from opentelemetry.trace import SpanKind, StatusCode

from hone.errors import ConfigError
from hone.messages import AssistantMessage, SystemMessage, ToolCall, ToolMessage, UserMessage
from hone.models import (
    BatchingModel,
    ChatRequest,
    ChatSurface,
    Completion,
    SamplingOptions,
    ScriptedModel,
    make_request,
)
from hone.models._openai import OpenAICompatibleModel
from hone.observability import policy_version
from hone.observability._config import CONTENT_ENV, active_tracer, configure_tracing

from ._helpers import Spans, attrs, json_attr


async def test_complete_span_follows_the_genai_conventions(spans: Spans) -> None:
    model = ScriptedModel(["Hello there"])
    options = SamplingOptions(max_tokens=32, temperature=0.5, top_k=40, seed=7, stop=("END",))
    completion = await model.complete(make_request("hi", options=options))

    span = spans.one("chat scripted")
    assert span.kind is SpanKind.INTERNAL
    assert attrs(span) == {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "hone",
        "gen_ai.request.model": "scripted",
        "gen_ai.request.max_tokens": 32,
        "gen_ai.request.temperature": 0.5,
        "gen_ai.request.top_p": 1.0,
        "gen_ai.request.top_k": 40.0,
        "gen_ai.request.seed": 7,
        "gen_ai.request.stop_sequences": ["END"],
        "gen_ai.response.model": "scripted",
        "gen_ai.response.finish_reasons": ["stop"],
        "gen_ai.usage.input_tokens": completion.usage.prompt_tokens,
        "gen_ai.usage.output_tokens": completion.usage.completion_tokens,
    }
    assert completion.usage.prompt_tokens > 0 and completion.usage.completion_tokens == 11
    assert span.status.status_code is StatusCode.UNSET


async def test_message_content_is_recorded_only_when_asked(
    spans: Spans, monkeypatch: pytest.MonkeyPatch
) -> None:
    calc = {
        "type": "function",
        "function": {"name": "add", "description": "Add.", "parameters": {"type": "object"}},
    }
    history = [
        SystemMessage(content="Be brief."),
        UserMessage(content="2+2?"),
        AssistantMessage(
            content="", tool_calls=(ToolCall(id="c1", name="add", arguments={"a": 2}),)
        ),
        ToolMessage(content="4", tool_call_id="c1"),
    ]
    request = ChatRequest(messages=tuple(history), tools=(calc,))
    reply = AssistantMessage(content="It is 4.", reasoning="2+2=4")
    await ScriptedModel([reply, reply]).complete(request)
    first = spans.one("chat scripted")
    assert not any(k.startswith(("gen_ai.input", "gen_ai.output.messages")) for k in attrs(first))
    assert "gen_ai.tool.definitions" not in attrs(first)

    monkeypatch.setenv(CONTENT_ENV, "true")
    spans.exporter.clear()
    await ScriptedModel([reply]).complete(request)
    span = spans.one("chat scripted")
    assert json_attr(span, "gen_ai.input.messages") == [
        {"role": "system", "parts": [{"type": "text", "content": "Be brief."}]},
        {"role": "user", "parts": [{"type": "text", "content": "2+2?"}]},
        {
            "role": "assistant",
            "parts": [{"type": "tool_call", "id": "c1", "name": "add", "arguments": {"a": 2}}],
        },
        {"role": "tool", "parts": [{"type": "tool_call_response", "id": "c1", "response": "4"}]},
    ]
    assert json_attr(span, "gen_ai.output.messages") == [
        {
            "role": "assistant",
            "parts": [
                {"type": "reasoning", "content": "2+2=4"},
                {"type": "text", "content": "It is 4."},
            ],
            "finish_reason": "stop",
        }
    ]
    assert json_attr(span, "gen_ai.tool.definitions") == [
        {"type": "function", "name": "add", "description": "Add.", "parameters": {"type": "object"}}
    ]


async def test_an_explicit_setting_wins_over_the_environment(
    spans: Spans, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(CONTENT_ENV, "true")
    configure_tracing(tracer_provider=spans.provider, capture_content=False)
    await ScriptedModel(["ok"]).complete(make_request("secret"))
    assert "gen_ai.input.messages" not in attrs(spans.one("chat scripted"))


async def test_wrappers_make_one_span_with_the_innermost_request(spans: Spans) -> None:
    inner = ScriptedModel(["a", "b"], name="inner")
    bound = BatchingModel(inner).bind(temperature=0.25, max_tokens=9)
    await bound.complete(make_request("hi"))
    span = spans.one("chat inner")
    assert attrs(span)["gen_ai.request.temperature"] == 0.25
    assert attrs(span)["gen_ai.request.max_tokens"] == 9
    assert len(spans.all()) == 1


async def test_batched_concurrent_calls_each_nest_under_their_caller(spans: Spans) -> None:
    model = BatchingModel(ScriptedModel(["x"], when_exhausted="cycle"), max_wait_ms=20)
    tracer = spans.provider.get_tracer("test")

    async def caller(i: int) -> None:
        with tracer.start_as_current_span(f"caller {i}"):
            await model.complete(make_request(f"q{i}"))

    await asyncio.gather(*(caller(i) for i in range(3)))
    chats = spans.named("chat scripted")
    assert len(chats) == 3
    parents = sorted(p.name for c in chats if (p := spans.parent_of(c)) is not None)
    assert parents == ["caller 0", "caller 1", "caller 2"]


async def test_a_top_level_batch_gives_one_span_per_request(spans: Spans) -> None:
    model = ScriptedModel(["one", "two three"])
    requests = [make_request("a"), make_request("b", options=SamplingOptions(seed=3))]
    completions = await model.complete_batch(requests)
    chats = spans.named("chat scripted")
    assert len(chats) == 2
    outputs = sorted(attrs(c)["gen_ai.usage.output_tokens"] for c in chats)
    assert outputs == sorted(c.usage.completion_tokens for c in completions)
    assert [attrs(c).get("gen_ai.request.seed") for c in chats].count(3) == 1


async def test_a_stream_is_one_span_current_only_inside_the_backend(spans: Spans) -> None:
    model = ScriptedModel(["streamed reply text"], chunk_size=3)
    seen_current: list[str] = []
    events = []
    async for event in model.stream(make_request("go")):
        events.append(event)
        current = trace.get_current_span()
        seen_current.append(getattr(current, "name", ""))
    span = spans.one("chat scripted")
    values = attrs(span)
    assert values["gen_ai.request.stream"] is True
    assert values["gen_ai.response.finish_reasons"] == ["stop"]
    assert values["gen_ai.response.time_to_first_chunk"] >= 0
    assert events[-1].kind == "done"
    assert "chat scripted" not in seen_current  # the consumer never runs inside the span


async def test_a_stream_read_partly_ends_its_span_without_an_error(spans: Spans) -> None:
    stream = ScriptedModel(["a long reply to cut short"], chunk_size=2).stream(make_request("x"))
    async for _ in stream:
        break
    await stream.aclose()  # type: ignore[attr-defined]
    span = spans.one("chat scripted")
    assert span.status.status_code is StatusCode.UNSET


async def test_a_failed_call_records_its_error(spans: Spans) -> None:
    model = ScriptedModel(["only one"])
    await model.complete(make_request("a"))
    with pytest.raises(ConfigError):
        await model.complete(make_request("b"))
    failed = [s for s in spans.named("chat scripted") if s.status.status_code is StatusCode.ERROR]
    assert len(failed) == 1
    assert attrs(failed[0])["error.type"] == "hone.errors.ConfigError"
    assert any(e.name == "exception" for e in failed[0].events)


def test_without_a_provider_nothing_is_traced() -> None:
    configure_tracing()
    assert active_tracer() is None  # OpenTelemetry's global provider is the no-op proxy
    completion = ScriptedModel(["fine"]).invoke("hi")
    assert completion.content == "fine"


# ------------------------------------------------------------------ an OpenAI-compatible server


class _Handler(BaseHTTPRequestHandler):
    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        assert body["model"] == "served-model"
        reply = {
            "id": "chatcmpl-1",
            "object": "chat.completion",
            "created": 0,
            "model": "served-model-0613",
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "pong"},
                    "finish_reason": "length",
                }
            ],
            "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15},
        }
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        return


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/v1"
    finally:
        httpd.shutdown()
        httpd.server_close()


async def test_an_openai_compatible_call_is_a_client_span(spans: Spans, server: str) -> None:
    model = OpenAICompatibleModel("served-model", base_url=server, max_retries=0)
    await model.complete(make_request("ping", options=SamplingOptions(max_tokens=3)))
    span = spans.one("chat served-model")
    values = attrs(span)
    assert span.kind is SpanKind.CLIENT
    assert values["gen_ai.provider.name"] == "openai"
    assert values["server.address"] == "127.0.0.1"
    assert values["server.port"] == int(server.rsplit(":", 1)[1].split("/")[0])
    assert values["gen_ai.response.model"] == "served-model-0613"
    assert values["gen_ai.response.finish_reasons"] == ["length"]
    assert (values["gen_ai.usage.input_tokens"], values["gen_ai.usage.output_tokens"]) == (12, 3)


class _Versioned(ChatSurface):
    """A backend that knows which weights answered (as a trainer's sampler does)."""

    name = "versioned"

    async def complete(self, request: ChatRequest) -> Completion:
        return Completion(message=AssistantMessage(content="ok"), policy_version="step-12")

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        return [await self.complete(r) for r in requests]


async def test_the_policy_version_a_backend_reports_tags_its_span(spans: Spans) -> None:
    with policy_version(11):  # what the caller believed; the backend's report wins
        await _Versioned().complete(make_request("hi"))
    assert attrs(spans.one("chat versioned"))["hone.policy.version"] == "step-12"


def test_a_sync_call_is_traced_like_an_async_one(spans: Spans) -> None:
    assert ScriptedModel(["fine"]).invoke("hi").content == "fine"
    span = spans.one("chat scripted")
    assert attrs(span)["gen_ai.operation.name"] == "chat"
    assert attrs(span)["gen_ai.response.finish_reasons"] == ["stop"]
