"""ScriptedModel: replay order, parsing, exhaustion, fake token ids, streaming."""

from __future__ import annotations

import pytest

from hone.errors import ConfigError
from hone.messages import AssistantMessage, ToolCall
from hone.models._protocol import ChatRequest, ModelBackend, SamplingOptions, make_request
from hone.models._scripted import ScriptedModel

CALL = '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>'


def test_is_a_model_backend() -> None:
    assert isinstance(ScriptedModel(["hi"]), ModelBackend)


async def test_string_replies_are_parsed_and_requests_recorded() -> None:
    model = ScriptedModel(["<think>plan</think>Let me add.\n" + CALL, "3"], name="s")
    first = await model.complete(make_request("what is 1+2?"))
    second = await model.complete(make_request("again"))

    assert first.message.reasoning == "plan"
    assert [(c.name, c.arguments) for c in first.message.tool_calls] == [("add", {"a": 1, "b": 2})]
    assert first.finish_reason == "tool_calls"
    assert first.text.endswith("</tool_call>")
    assert first.model == "s"
    assert second.message.text == "3"
    assert second.finish_reason == "stop"
    assert [r.messages[0].text for r in model.requests] == ["what is 1+2?", "again"]
    assert model.calls == 2


async def test_parse_errors_are_reported() -> None:
    model = ScriptedModel(["<tool_call>{not json at all</tool_call>"])
    completion = await model.complete(make_request("x"))
    assert completion.parse_errors
    assert not completion.message.tool_calls


async def test_message_and_callable_replies() -> None:
    message = AssistantMessage(
        content="calling", reasoning="why", tool_calls=(ToolCall(name="f", arguments={"x": 1}),)
    )

    def echo(request: ChatRequest) -> str:
        return f"you said {request.messages[-1].text}"

    model = ScriptedModel([message, echo])
    first = await model.complete(make_request("a"))
    second = await model.complete(make_request("b"))

    assert first.message is message
    assert "<tool_call>" in first.text and "<think>" in first.text
    assert second.message.text == "you said b"


async def test_exhaustion_raises_by_default_and_cycles_on_request() -> None:
    strict = ScriptedModel(["one"])
    await strict.complete(make_request("x"))
    with pytest.raises(ConfigError, match="ran out of replies after 1 calls"):
        await strict.complete(make_request("x"))

    cycling = ScriptedModel(["one", "two"], when_exhausted="cycle")
    texts = [(await cycling.complete(make_request("x"))).message.text for _ in range(3)]
    assert texts == ["one", "two", "one"]


@pytest.mark.parametrize(
    "kwargs",
    [
        {"replies": []},
        {"replies": ["x"], "chunk_size": 0},
        {"replies": ["x"], "when_exhausted": "loop"},
    ],
)
def test_bad_construction_is_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        ScriptedModel(**kwargs)  # type: ignore[arg-type]


async def test_token_ids_and_logprobs_only_when_asked() -> None:
    model = ScriptedModel(["héllo"], when_exhausted="cycle")
    plain = await model.complete(make_request("hi"))
    assert plain.token_ids is None and plain.prompt_token_ids is None and plain.logprobs is None

    options = SamplingOptions(return_token_ids=True, logprobs=True)
    full = await model.complete(make_request("hi", options=options))
    assert full.token_ids is not None and full.prompt_token_ids is not None
    assert bytes(full.token_ids).decode() == "héllo"
    assert bytes(full.prompt_token_ids).decode().endswith("hi<|im_end|>\n<|im_start|>assistant\n")
    assert full.logprobs == (0.0,) * len(full.token_ids)
    assert full.usage.completion_tokens == len(full.token_ids)


async def test_stream_yields_chunks_then_done() -> None:
    model = ScriptedModel(["<think>ponder</think>The answer is 42.\n" + CALL], chunk_size=3)
    events = [e async for e in model.stream(make_request("q"))]

    assert [e.kind for e in events][-1] == "done"
    reasoning = "".join(e.delta for e in events if e.kind == "reasoning")
    text = "".join(e.delta for e in events if e.kind == "text")
    done = events[-1].completion
    assert done is not None
    assert reasoning == done.message.reasoning == "ponder"
    assert text == done.message.text
    assert "tool_call" not in text
    assert all(len(e.delta) <= 3 for e in events)
    assert done.message.tool_calls[0].name == "add"


async def test_complete_batch_answers_in_order() -> None:
    model = ScriptedModel(["a", "b", "c"])
    out = await model.complete_batch([make_request(str(i)) for i in range(3)])
    assert [c.message.text for c in out] == ["a", "b", "c"]
