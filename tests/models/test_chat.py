"""The LangChain chat-model surface on the real backends: a local Transformers model and an
OpenAI-compatible server (``hone serve`` of a scripted model on loopback)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from langchain_core import messages as lc

from hone.messages import AssistantMessage, AssistantMessageChunk
from hone.models import ScriptedModel
from hone.models._openai import OpenAICompatibleModel
from hone.models._transformers import TransformersModel
from hone.serve import create_app, running_server

ADD = '<tool_call>{"name": "add", "arguments": {"a": 1, "b": 2}}</tool_call>'


@pytest.fixture
def served() -> Iterator[tuple[ScriptedModel, OpenAICompatibleModel]]:
    model = ScriptedModel(["<think>hm</think>Three.", "one two three", ADD], when_exhausted="cycle")
    with running_server(create_app(model, model_name="scripted", api_key="k")) as url:
        yield model, OpenAICompatibleModel("scripted", base_url=url, api_key="k", max_retries=0)


def test_openai_compatible_model_has_the_surface(
    served: tuple[ScriptedModel, OpenAICompatibleModel],
) -> None:
    scripted, client = served
    reply = client.invoke([lc.HumanMessage("1+2?")], temperature=0.0)
    assert isinstance(reply, lc.AIMessage) and reply.content == "Three."
    assert reply.additional_kwargs == {"reasoning_content": "hm"}
    assert scripted.requests[-1].options.temperature == 0.0
    chunks = list(client.stream("count"))
    assert all(isinstance(c, AssistantMessageChunk) for c in chunks)
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert total.to_message().text == "one two three"
    bound = client.bind_tools([{"type": "function", "function": {"name": "add", "parameters": {}}}])
    called = bound.invoke([lc.HumanMessage("add")])
    assert called.tool_calls[0]["args"] == {"a": 1, "b": 2}
    assert [t["function"]["name"] for t in scripted.requests[-1].tools] == ["add"]


def test_transformers_model_has_the_surface(tiny_model: TransformersModel) -> None:
    reply = tiny_model.invoke("hello", max_tokens=4, temperature=0.0)
    assert isinstance(reply, AssistantMessage)
    again = tiny_model.invoke([lc.HumanMessage("hello")], max_tokens=4, temperature=0.0)
    assert isinstance(again, lc.AIMessage) and again.content == reply.content  # greedy
    replies = tiny_model.batch(["hello", "hello"], max_tokens=4, temperature=0.0)
    assert [r.content for r in replies] == [reply.content, reply.content]
    chunks = list(tiny_model.stream([lc.HumanMessage("hello")], max_tokens=4, temperature=0.0))
    total = chunks[0]
    for chunk in chunks[1:]:
        total = total + chunk
    assert total.content == reply.content and chunks[-1].chunk_position == "last"
