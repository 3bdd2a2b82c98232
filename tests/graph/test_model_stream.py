"""Token streaming in messages mode: create_react_agent and the astream_model/stream_model
helpers emit chunks before the node's update, in subgraphs too, and complete() otherwise."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from hone.errors import ModelError
from hone.graph import (
    START,
    AssistantMessageChunk,
    MessagesState,
    StateGraph,
    astream_model,
    stream_model,
)
from hone.graph.prebuilt import create_react_agent
from hone.messages import AssistantMessage
from hone.models import ChatRequest, ScriptedModel, StreamEvent, make_request

REPLY = "The quick brown fox jumps."


class CountingModel(ScriptedModel):
    """Counts complete() and stream() calls apart."""

    def __init__(self) -> None:
        super().__init__([REPLY], when_exhausted="cycle", chunk_size=5)
        self.streamed = 0

    async def stream(self, request: ChatRequest) -> Any:
        self.streamed += 1
        async for event in super().stream(request):
            yield event


def _chunks_before_update(chunks: list[Any], node: str) -> list[Any]:
    """The message chunks streamed before ``node``'s update (chunks are (ns, mode, payload))."""
    out: list[Any] = []
    for _ns, mode, payload in chunks:
        if mode == "updates" and node in payload:
            return out
        if mode == "messages" and isinstance(payload[0], AssistantMessageChunk):
            out.append(payload)
    raise AssertionError(f"no update from {node!r} in {chunks!r}")


def _agent(model: ScriptedModel) -> Any:
    return create_react_agent(model, [])


def _check_stream(pieces: list[Any], final: AssistantMessage, node: str = "agent") -> None:
    assert len(pieces) >= 3
    text = "".join(chunk.content for chunk, _ in pieces)
    assert text == REPLY == final.text
    assert {chunk.id for chunk, _ in pieces} == {final.id}
    meta = pieces[0][1]
    # LangGraph's metadata keys: the node, its step, path, triggers and namespace.
    assert meta["langgraph_node"] == node and meta["langgraph_step"] >= 1
    assert meta["langgraph_path"] == ("__pregel_pull", node)
    assert meta["langgraph_triggers"] == (f"branch:to:{node}",)
    assert meta["langgraph_checkpoint_ns"].split("|")[-1].startswith(f"{node}:")
    assert meta["ls_integration"] == "langgraph"


def test_react_agent_streams_tokens_before_its_update_sync() -> None:
    model = CountingModel()
    chunks = [
        (("",), mode, payload)
        for mode, payload in _agent(model).stream(
            {"messages": [("user", "hi")]}, stream_mode=["messages", "updates"]
        )
    ]
    final = next(p for _, m, p in chunks if m == "updates")["agent"]["messages"][0]
    _check_stream(_chunks_before_update(chunks, "agent"), final)
    assert model.streamed == 1
    # The final message is not streamed again when the node returns it.
    whole = [p for _, m, p in chunks if m == "messages" and isinstance(p[0], AssistantMessage)]
    assert whole == []


async def test_react_agent_streams_tokens_async_in_a_subgraph() -> None:
    model = CountingModel()
    outer = StateGraph(MessagesState).add_node("inner", _agent(model)).add_edge(START, "inner")
    chunks = [
        c
        async for c in outer.compile().astream(
            {"messages": [("user", "hi")]}, stream_mode=["messages", "updates"], subgraphs=True
        )
    ]
    pieces = _chunks_before_update(chunks, "agent")
    final = next(p for ns, m, p in chunks if m == "updates" and "agent" in p)
    _check_stream(pieces, final["agent"]["messages"][0])
    namespaces = {ns for ns, m, _ in chunks if m == "messages"}
    assert len(namespaces) == 1 and next(iter(namespaces))[0].startswith("inner:")
    assert pieces[0][1]["langgraph_checkpoint_ns"].startswith("inner:")
    # The subgraph's final message is not repeated by the parent either.
    assert all(isinstance(p[0], AssistantMessageChunk) for _, m, p in chunks if m == "messages")


def test_without_messages_mode_the_model_completes() -> None:
    model = CountingModel()
    out = _agent(model).invoke({"messages": [("user", "hi")]})
    assert out["messages"][-1].text == REPLY and model.streamed == 0
    list(_agent(model).stream({"messages": [("user", "hi")]}, stream_mode="updates"))
    assert model.streamed == 0 and model.calls == 2


@pytest.mark.parametrize("style", ["sync", "async"])
def test_helpers_in_user_nodes(style: str) -> None:
    model = CountingModel()

    async def anode(state: MessagesState) -> dict[str, Any]:
        completion = await astream_model(model, make_request(list(state["messages"])))
        return {"messages": [completion.message]}

    def snode(state: MessagesState) -> dict[str, Any]:
        completion = stream_model(model, make_request(list(state["messages"])))
        return {"messages": [completion.message]}

    graph = StateGraph(MessagesState).add_node("llm", anode if style == "async" else snode)
    app = graph.add_edge(START, "llm").compile()
    modes = ["messages", "updates"]
    if style == "async":

        async def collect() -> list[Any]:
            return [c async for c in app.astream({"messages": [("user", "x")]}, stream_mode=modes)]

        got = asyncio.run(collect())
    else:
        got = list(app.stream({"messages": [("user", "x")]}, stream_mode=modes))
    chunks = [(("",), mode, payload) for mode, payload in got]
    final = next(p for _, m, p in chunks if m == "updates")["llm"]["messages"][0]
    _check_stream(_chunks_before_update(chunks, "llm"), final, node="llm")
    # Outside a graph the helpers just complete.
    assert stream_model(model, make_request("hi")).message.text == REPLY
    assert model.streamed == 1


def test_chunks_add_up_and_reasoning_streams() -> None:
    model = ScriptedModel(["<think>\nponder\n</think>\n\nok"], chunk_size=2)
    agent = _agent(model)
    pieces = [
        chunk
        for chunk, _ in agent.stream({"messages": [("user", "hi")]}, stream_mode="messages")
        if isinstance(chunk, AssistantMessageChunk)
    ]
    total = pieces[0]
    for piece in pieces[1:]:
        total = total + piece
    assert total.reasoning == "ponder" and total.text == "ok" and total.id == pieces[0].id


def test_a_stream_without_done_is_a_model_error() -> None:
    class Broken(ScriptedModel):
        async def stream(self, request: ChatRequest) -> Any:
            yield StreamEvent(kind="text", delta="x")

    agent = _agent(Broken(["x"]))
    with pytest.raises(ModelError, match="done"):
        list(agent.stream({"messages": [("user", "hi")]}, stream_mode="messages"))


@pytest.mark.parametrize("streams", [True, False], ids=["tokens", "whole-reply"])
def test_a_langchain_model_streams_each_reply_once(streams: bool) -> None:
    """A LangChain model's tokens reach ``messages`` mode through LangChain's callbacks
    only: hone's own chunks would send every reply a second time."""
    fake = pytest.importorskip("langchain_core.language_models.fake_chat_models")
    from langchain_core.language_models import BaseChatModel
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration, ChatResult

    class Whole(BaseChatModel):  # no _stream: LangChain reports one whole reply
        def _generate(
            self, messages: Any, stop: Any = None, run_manager: Any = None, **kwargs: Any
        ) -> ChatResult:
            return ChatResult(generations=[ChatGeneration(message=AIMessage("hello there world"))])

        @property
        def _llm_type(self) -> str:
            return "whole"

    tokens = fake.GenericFakeChatModel(messages=iter([AIMessage("hello there world")]))
    agent = create_react_agent(tokens if streams else Whole(), [])
    events = list(agent.stream({"messages": [("user", "hi")]}, stream_mode="messages"))
    assert "AssistantMessageChunk" not in {type(message).__name__ for message, _ in events}
    assert "".join(message.content for message, _ in events) == "hello there world"
