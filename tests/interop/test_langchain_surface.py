"""LangChain's chat-model surface on hone's own models: invoke / stream / batch, bind_tools,
with_structured_output, with the reply's family following the input's."""

from __future__ import annotations

import asyncio
import json
from typing import Any, ClassVar, TypedDict

import pytest
from langchain_core import messages as lc
from langchain_core.prompt_values import ChatPromptValue
from pydantic import BaseModel

from hone.errors import ConfigError, StructuredOutputError, ToolDefinitionError
from hone.messages import (
    AssistantMessage,
    AssistantMessageChunk,
    SystemMessage,
    ToolCall,
    UserMessage,
)
from hone.models import BatchingModel, ChatRequest, SamplingOptions, ScriptedModel
from hone.models._bound import BoundModel
from hone.tools import tool
from hone.trajectory import RecordingModel

ADD = '<tool_call>{"name": "add", "arguments": {"a": 2, "b": 3}}</tool_call>'


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


class Person(BaseModel):
    """A person."""

    name: str
    age: int


class Point(TypedDict):
    x: int
    y: int


def test_invoke_answers_in_the_family_of_the_input() -> None:
    model = ScriptedModel(["<think>hm</think>Hello", "Hi"])
    reply = model.invoke("hi")
    assert reply == AssistantMessage(content="Hello", reasoning="hm")
    reply = model.invoke([lc.SystemMessage("be brief"), lc.HumanMessage("hi")])
    assert isinstance(reply, lc.AIMessage) and reply.content == "Hi"
    assert reply.response_metadata == {"finish_reason": "stop", "model_name": "scripted"}
    assert reply.usage_metadata is not None and reply.usage_metadata["output_tokens"] == 2
    assert isinstance(reply.id, str)
    sent = model.requests[1].messages
    assert sent == (SystemMessage(content="be brief"), UserMessage(content="hi"))


def test_prompt_values_dicts_tuples_and_sampling_options() -> None:
    model = ScriptedModel(["a", "b", "c"])
    prompt = ChatPromptValue(messages=[lc.HumanMessage("x")])
    assert isinstance(model.invoke(prompt), lc.AIMessage)
    model.invoke([("system", "s"), {"role": "user", "content": "u"}], temperature=0.0, stop=["\n"])
    options = model.requests[1].options
    assert (options.temperature, options.stop) == (0.0, ("\n",))
    with pytest.raises(ConfigError, match="unknown model call argument"):
        model.invoke("x", temprature=0)
    with pytest.raises(ConfigError, match="cannot read a model input"):
        model.invoke(42)


def test_tool_calls_come_back_as_langchain_tool_calls() -> None:
    model = ScriptedModel([ADD])
    reply = model.invoke([lc.HumanMessage("2+3?")])
    assert reply.tool_calls == [
        {
            "name": "add",
            "args": {"a": 2, "b": 3},
            "id": reply.tool_calls[0]["id"],
            "type": "tool_call",
        }
    ]
    assert reply.response_metadata["finish_reason"] == "tool_calls"


def _sum(chunks: list[Any]) -> Any:
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    return total


def test_streamed_chunks_add_up_to_the_invoked_message() -> None:
    text = "<think>let me see</think>The answer " + ADD
    langchain_chunks = list(ScriptedModel([text], chunk_size=3).stream([lc.HumanMessage("q")]))
    assert all(isinstance(c, lc.AIMessageChunk) for c in langchain_chunks)
    assert len(langchain_chunks) > 3 and langchain_chunks[-1].chunk_position == "last"
    whole = lc.message_chunk_to_message(_sum(langchain_chunks))
    invoked = ScriptedModel([text]).invoke([lc.HumanMessage("q")])
    assert whole.content == invoked.content == "The answer"
    assert (
        whole.additional_kwargs == invoked.additional_kwargs == {"reasoning_content": "let me see"}
    )
    assert [(c["name"], c["args"]) for c in whole.tool_calls] == [
        (c["name"], c["args"]) for c in invoked.tool_calls
    ]
    assert whole.response_metadata == invoked.response_metadata

    hone_chunks = list(ScriptedModel([text], chunk_size=3).stream("q"))
    assert all(isinstance(c, AssistantMessageChunk) for c in hone_chunks)
    message = _sum(hone_chunks).to_message()
    assert message.text == "The answer" and message.reasoning == "let me see"
    assert message.tool_calls[0].arguments == {"a": 2, "b": 3}


async def test_async_stream_and_batch() -> None:
    model = ScriptedModel(["one two", "a", "b"])
    chunks = [c async for c in model.astream("q")]
    assert "".join(c.content for c in chunks) == "one two"
    replies = await model.abatch(["x", [lc.HumanMessage("y")]])
    assert replies[0] == AssistantMessage(content="a") and replies[1].content == "b"


def test_protocol_stream_still_works_with_a_request() -> None:
    model = ScriptedModel(["hello"])
    request = ChatRequest(messages=(UserMessage(content="q"),))

    async def events() -> list[Any]:
        return [e async for e in model.stream(request)]

    kinds = [e.kind for e in asyncio.run(events())]
    assert kinds[-1] == "done" and "text" in kinds


def test_batch_uses_one_batched_call_and_returns_exceptions_when_asked() -> None:
    class Counting(ScriptedModel):
        batches: ClassVar[list[int]] = []

        async def complete_batch(self, requests: Any) -> Any:
            self.batches.append(len(requests))
            return await super().complete_batch(requests)

    model = Counting(["a", "b", "c", "d", "e"])
    assert [m.text for m in model.batch(["1", "2", "3"])] == ["a", "b", "c"]
    assert model.batches == [3]
    assert [m.text for m in model.batch(["4", "5"], {"max_concurrency": 1})] == ["d", "e"]
    assert model.batches == [3, 1, 1]
    out = ScriptedModel(["only"]).batch(["1", "2"], return_exceptions=True)
    assert out[0].text == "only" and isinstance(out[1], ConfigError)


def test_bind_tools_sends_schemas_and_the_tool_choice() -> None:
    @tool
    def search(query: str) -> str:
        """Search."""
        return query

    def lookup(key: str) -> str:
        """Look a key up."""
        return key

    model = ScriptedModel(["ok"] * 6)
    bound = model.bind_tools(
        [
            add,
            search,
            lookup,
            Person,
            {"type": "function", "function": {"name": "raw", "parameters": {}}},
        ],
        tool_choice="search",
    )
    bound.invoke("q")
    request = model.requests[0]
    names = [t["function"]["name"] for t in request.tools]
    assert names == ["add", "search", "lookup", "Person", "raw"]
    assert request.tool_choice == {"type": "function", "function": {"name": "search"}}
    assert model.bind_tools([add], tool_choice="any").binding.tool_choice == "required"
    assert model.bind_tools([add], tool_choice=True).binding.tool_choice == {
        "type": "function",
        "function": {"name": "add"},
    }
    with pytest.raises(ConfigError, match="not among the bound tools"):
        model.bind_tools([add], tool_choice="nope")
    with pytest.raises(ToolDefinitionError, match="cannot make a tool schema"):
        model.bind_tools([int])
    # Binding again merges: one wrapper, call-time options win over bound ones.
    again = bound.bind(temperature=0.5)
    assert isinstance(again, BoundModel) and again.backend is model
    again.invoke("q", temperature=0.1)
    assert model.requests[-1].options.temperature == 0.1 and len(model.requests[-1].tools) == 5


def test_a_bound_model_is_a_backend_that_applies_its_binding() -> None:
    model = ScriptedModel([ADD])
    bound = model.bind_tools([add], parallel_tool_calls=False, max_tokens=7)
    request = ChatRequest(messages=(UserMessage(content="q"),), options=SamplingOptions())
    completion = asyncio.run(bound.complete(request))
    sent = model.requests[0]
    assert completion.message.tool_calls[0].name == "add"
    assert (sent.parallel_tool_calls, sent.options.max_tokens) == (False, 7)


def test_every_wrapper_has_the_surface() -> None:
    recording = RecordingModel(BatchingModel(ScriptedModel(["hi", "there"])))
    assert recording.invoke("q").text == "hi"
    assert isinstance(recording.invoke([lc.HumanMessage("q")]), lc.AIMessage)


@pytest.mark.parametrize("method", ["json_schema", "json_mode", "function_calling"])
def test_structured_output_with_a_pydantic_model(method: str) -> None:
    reply: Any = (
        '<tool_call>{"name": "Person", "arguments": {"name": "Ada", "age": 36}}</tool_call>'
        if method == "function_calling"
        else '```json\n{"name": "Ada", "age": 36}\n```'
    )
    model = ScriptedModel([reply])
    structured = model.with_structured_output(Person, method=method)  # type: ignore[arg-type]
    assert structured.invoke("Who?") == Person(name="Ada", age=36)
    request = model.requests[0]
    if method == "json_schema":
        assert request.response_format is not None
        spec = request.response_format["json_schema"]
        assert spec["name"] == "Person" and spec["schema"]["required"] == ["name", "age"]
    elif method == "json_mode":
        assert request.response_format == {"type": "json_object"}
    else:
        assert request.tool_choice == {"type": "function", "function": {"name": "Person"}}


def test_structured_output_with_typed_dicts_and_json_schema_dicts() -> None:
    model = ScriptedModel(['{"x": 1, "y": 2}', '{"x": 1}'])
    assert model.with_structured_output(Point).invoke("p") == {"x": 1, "y": 2}
    schema = {
        "title": "point",
        "type": "object",
        "properties": {"x": {"type": "integer"}, "y": {"type": "integer"}},
        "required": ["x", "y"],
    }
    with pytest.raises(StructuredOutputError, match=r"'point'.*y"):
        model.with_structured_output(schema).invoke("p")


def test_structured_output_errors_name_the_schema_and_include_raw_keeps_them() -> None:
    model = ScriptedModel(["not json", '{"name": "Ada", "age": "old"}', "nope"])
    with pytest.raises(StructuredOutputError, match=r"'Person'.*not JSON") as caught:
        model.with_structured_output(Person).invoke("who?")
    assert isinstance(caught.value, ValueError) and caught.value.raw.text == "not json"
    out = model.with_structured_output(Person, include_raw=True).invoke([lc.HumanMessage("who?")])
    assert out["parsed"] is None and isinstance(out["raw"], lc.AIMessage)
    assert "age" in str(out["parsing_error"])
    with pytest.raises(ConfigError, match="pydantic model class"):
        model.with_structured_output(int)
    with pytest.raises(ConfigError, match="method must be"):
        model.with_structured_output(Person, method="xml")  # type: ignore[arg-type]


def test_structured_output_batches_and_streams() -> None:
    model = ScriptedModel([json.dumps({"name": n, "age": 1}) for n in "abc"])
    structured = model.with_structured_output(Person)
    assert [p.name for p in structured.batch(["1", "2"])] == ["a", "b"]
    assert list(structured.stream("3")) == [Person(name="c", age=1)]


def test_hone_tool_calls_from_a_bound_model_feed_tools_directly() -> None:
    reply = ScriptedModel([ADD]).bind_tools([add]).invoke([lc.HumanMessage("2+3?")])
    answer = add.invoke(reply.tool_calls[0])
    assert isinstance(answer, lc.ToolMessage) and answer.content == "5"
    assert answer.tool_call_id == reply.tool_calls[0]["id"]
    hone_reply = ScriptedModel([ADD]).invoke("2+3?")
    call: ToolCall = hone_reply.tool_calls[0]
    assert add.invoke(call).content == "5"
