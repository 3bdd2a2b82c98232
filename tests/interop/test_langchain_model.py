"""LangChain chat models as hone backends: LangChainModel, run_agent and create_react_agent with
LangChain models, tools and messages, spec strings, and the early RL refusal."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
import types
from typing import Any, ClassVar

import pytest
from langchain_core import messages as lc
from langchain_core.exceptions import OutputParserException
from langchain_core.language_models.fake_chat_models import (
    FakeMessagesListChatModel,
    GenericFakeChatModel,
)
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool as lc_tool
from pydantic import BaseModel, Field

from hone.agent import run_agent
from hone.agents import StructuredStep
from hone.checkpoint import InMemorySaver
from hone.errors import CapabilityError, ConfigError, ModelSpecError
from hone.graph.prebuilt import create_react_agent
from hone.interop import LangChainModel, resolve_model
from hone.messages import AssistantMessage, ToolMessage, UserMessage
from hone.models import BatchingModel, ChatRequest, ScriptedModel, load_model
from hone.models._chat_reply import langchain_reply
from hone.trajectory import RecordingModel


@lc_tool
def multiply(a: int, b: int) -> int:
    """Multiply two integers."""
    return a * b


class ToolFake(FakeMessagesListChatModel):
    """A LangChain fake chat model that accepts tools, recording what it was bound with."""

    bound: ClassVar[list[dict[str, Any]]] = []

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        self.bound.append({"tools": tools, **kwargs})
        return self


def _call(name: str, args: dict[str, Any], call_id: str) -> lc.AIMessage:
    return lc.AIMessage(content="", tool_calls=[{"name": name, "args": args, "id": call_id}])


def _request(text: str, **kwargs: Any) -> ChatRequest:
    return ChatRequest(messages=(UserMessage(content=text),), **kwargs)


def test_complete_converts_both_ways() -> None:
    reply = lc.AIMessage(
        content="hello",
        id="r1",
        response_metadata={"finish_reason": "length"},
        usage_metadata={"input_tokens": 4, "output_tokens": 2, "total_tokens": 6},
    )
    model = LangChainModel(GenericFakeChatModel(messages=iter([reply])))
    completion = asyncio.run(model.complete(_request("hi")))
    assert completion.message.text == "hello" and completion.message.id == "r1"
    assert completion.finish_reason == "length"
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (4, 2)
    assert completion.token_ids is None and completion.logprobs is None
    assert model.name == "generic-fake-chat-model"


def test_stream_gives_deltas_then_the_whole_reply() -> None:
    model = LangChainModel(GenericFakeChatModel(messages=iter(["one two three"])))

    async def events() -> list[Any]:
        return [e async for e in model.stream(_request("hi"))]

    got = asyncio.run(events())
    assert "".join(e.delta for e in got if e.kind == "text") == "one two three"
    assert got[-1].kind == "done" and got[-1].completion.message.text == "one two three"


def test_tools_are_bound_with_langchain_spellings_of_tool_choice() -> None:
    fake = ToolFake(responses=[lc.AIMessage("a"), lc.AIMessage("b"), lc.AIMessage("c")])
    ToolFake.bound = []
    model = LangChainModel(fake)
    tools = ({"type": "function", "function": {"name": "f", "parameters": {}}},)
    asyncio.run(model.complete(_request("x", tools=tools, tool_choice="required")))
    named = {"type": "function", "function": {"name": "f"}}
    asyncio.run(
        model.complete(_request("x", tools=tools, tool_choice=named, parallel_tool_calls=False))
    )
    asyncio.run(model.complete(_request("x", tools=tools, tool_choice="none")))
    assert fake.bound[0] == {"tools": list(tools), "tool_choice": "any"}
    assert fake.bound[1] == {"tools": list(tools), "tool_choice": "f", "parallel_tool_calls": False}
    assert len(fake.bound) == 2  # tool_choice="none": no tools bound


def test_run_agent_with_langchain_model_tools_and_messages() -> None:
    fake = FakeMessagesListChatModel(
        responses=[_call("multiply", {"a": 6, "b": 7}, "c1"), lc.AIMessage("It is 42.")]
    )
    question = lc.HumanMessage("6 times 7?", id="q")
    history = run_agent(fake, [multiply], [question])
    assert history[0] is question  # kept as given
    assert [type(m) for m in history] == [
        lc.HumanMessage,
        lc.AIMessage,
        lc.ToolMessage,
        lc.AIMessage,
    ]
    assert history[2].content == "42" and history[2].tool_call_id == "c1"
    assert history[-1].content == "It is 42."


def test_run_agent_with_a_langchain_model_and_plain_input_answers_in_hone_messages() -> None:
    fake = FakeMessagesListChatModel(responses=[lc.AIMessage("hi there")])
    history = run_agent(fake, [], "hello")
    assert history == [UserMessage(content="hello"), history[1]]
    assert isinstance(history[1], AssistantMessage) and history[1].text == "hi there"


def test_react_agent_with_a_langchain_model_keeps_langchain_messages() -> None:
    fake = FakeMessagesListChatModel(
        responses=[
            _call("multiply", {"a": 2, "b": 21}, "c1"),
            lc.AIMessage("42"),
            lc.AIMessage("still 42"),
        ]
    )
    agent = create_react_agent(fake, [multiply], prompt="Be exact.", checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    out = agent.invoke({"messages": [lc.HumanMessage("2*21?")]}, config)
    kinds = [type(m) for m in out["messages"]]
    assert kinds == [lc.HumanMessage, lc.AIMessage, lc.ToolMessage, lc.AIMessage]
    assert out["messages"][2].name == "multiply" and out["messages"][2].content == "42"
    again = agent.invoke({"messages": [("user", "sure?")]}, config)
    assert type(again["messages"][-2]) is lc.HumanMessage  # untyped input joins the family
    assert again["messages"][-1].content == "still 42"


def test_spec_strings_are_models_everywhere(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    agent = create_react_agent("openai:gpt-4.1", [multiply])  # no network until invoked
    assert agent is not None
    assert resolve_model("openai:gpt-4.1").name == "gpt-4.1"
    monkeypatch.setitem(sys.modules, "langchain", None)
    monkeypatch.setitem(sys.modules, "langchain.chat_models", None)
    with pytest.raises(ModelSpecError, match=r"no backend for 'anthropic'.*pip install langchain"):
        run_agent("anthropic:claude-sonnet-4-5", [], "hi")


def test_unknown_providers_load_through_init_chat_model(monkeypatch: pytest.MonkeyPatch) -> None:
    made: list[tuple[str, dict[str, Any]]] = []

    def init_chat_model(spec: str, **kwargs: Any) -> Any:
        made.append((spec, kwargs))
        if spec.startswith("nope:"):
            raise ValueError("Unsupported model_provider='nope'")
        return FakeMessagesListChatModel(responses=[lc.AIMessage("from langchain")])

    package = types.ModuleType("langchain")
    chat_models = types.ModuleType("langchain.chat_models")
    chat_models.init_chat_model = init_chat_model  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "langchain", package)
    monkeypatch.setitem(sys.modules, "langchain.chat_models", chat_models)
    model = load_model("anthropic:claude-sonnet-4-5", temperature=0)
    assert isinstance(model, LangChainModel)
    assert made == [("anthropic:claude-sonnet-4-5", {"temperature": 0})]
    assert run_agent("anthropic:claude-sonnet-4-5", [], "hi")[-1].text == "from langchain"
    # It reads as a module path too: both readings are named.
    with pytest.raises(
        ModelSpecError, match=r"no module named 'nope'.*init_chat_model cannot load it either"
    ):
        load_model("nope:x")


def test_recording_a_langchain_model_for_rl_is_refused_early() -> None:
    backend = LangChainModel(GenericFakeChatModel(messages=iter(["a", "b"])))
    for wrapped in (backend, BatchingModel(backend)):
        with pytest.raises(
            CapabilityError, match=r"hf:.*tiny:.*vLLM.*hone serve.*require_token_ids"
        ):
            RecordingModel(wrapped)
    sft = RecordingModel(backend, require_token_ids=False)
    assert sft.invoke("hi").text == "a"
    assert RecordingModel(sft, "teacher").role == "teacher"  # an SFT recorder inside is fine


def test_structured_output_through_a_langchain_model() -> None:
    class Person(BaseModel):
        """A person."""

        name: str

    # A model with tools: LangChain's own with_structured_output (a forced tool call).
    fake = ToolFake(responses=[_call("Person", {"name": "Ada"}, "s1")])
    assert LangChainModel(fake).with_structured_output(Person).invoke("who?") == Person(name="Ada")
    # A model without: its reply is checked against the schema.
    plain = LangChainModel(GenericFakeChatModel(messages=iter(['{"name": "Bo"}'])))
    assert plain.with_structured_output(Person).invoke("who?") == Person(name="Bo")


def test_the_reply_is_the_models_own_message() -> None:
    reply = lc.AIMessage(
        content="hello",
        id="r1",
        additional_kwargs={"refusal": None},
        response_metadata={"model_provider": "fake"},
        usage_metadata={"input_tokens": 4, "output_tokens": 2, "total_tokens": 6},
    )
    model = LangChainModel(GenericFakeChatModel(messages=iter([reply, reply])))
    completion = asyncio.run(model.complete(_request("hi")))
    assert completion.native == reply
    # Given back exactly as the model returned it: no finish reason or model name added.
    assert langchain_reply(completion) is completion.native
    assert model.invoke([lc.HumanMessage("hi")]) == reply
    # A message changed since (a guardrail, a parser) is converted, with LangChain's metadata.
    edited = completion.message.model_copy(update={"content": "bye"})
    converted = langchain_reply(dataclasses.replace(completion, message=edited))
    assert converted.content == "bye" and converted.id == "r1"
    assert converted.response_metadata["model_name"] == "generic-fake-chat-model"
    # The native reply is a carrier, not part of the completion's value.
    assert dataclasses.replace(completion, native=None) == completion


class SchemaOnlyFake(GenericFakeChatModel):
    """A model whose ``with_structured_output`` takes the schema alone (as custom and test
    models often do, and as LangGraph calls it); each call gives the next value, or raises
    LangChain's parser error for a value that is an exception."""

    values: list[Any]
    schemas: list[Any] = Field(default_factory=list)

    def with_structured_output(self, schema: Any) -> Any:  # type: ignore[override]
        self.schemas.append(schema)

        def answer(_: Any) -> Any:
            value = self.values.pop(0)
            if isinstance(value, Exception):
                raise value
            return value

        return RunnableLambda(answer)


def test_structured_output_of_a_model_without_include_raw() -> None:
    class Person(BaseModel):
        """A person."""

        name: str

    bad = OutputParserException("not JSON", llm_output="Ada, I think")
    fake = SchemaOnlyFake(messages=iter([]), values=[bad, {"nme": "Ada"}, Person(name="Ada")])
    step = StructuredStep(Person)
    turn = asyncio.run(step.arun(LangChainModel(fake), [UserMessage(content="who?")]))
    assert turn.value == Person(name="Ada")
    # The reply that could not be parsed and the value that did not fit were retried.
    texts = [a.completion.text for a in turn.attempts]
    assert texts == ["Ada, I think", '{"nme": "Ada"}', '{"name": "Ada"}']
    assert fake.schemas[0]["title"] == "Person"


def test_not_a_model() -> None:
    with pytest.raises(ConfigError, match="is not a model"):
        resolve_model(42)
    with pytest.raises(ConfigError, match="needs a LangChain chat model"):
        LangChainModel(ScriptedModel(["x"]))


def test_langchain_tool_messages_reach_hone_backends_as_hone_messages() -> None:
    model = ScriptedModel(["ok"])
    model.invoke(
        [
            lc.HumanMessage("q"),
            _call("multiply", {"a": 1, "b": 2}, "c1"),
            lc.ToolMessage(content="2", tool_call_id="c1", status="error"),
        ]
    )
    sent = model.requests[0].messages
    assert isinstance(sent[2], ToolMessage) and sent[2].is_error and sent[2].tool_call_id == "c1"
    assert sent[1].tool_calls[0]["args"] == {"a": 1, "b": 2}
