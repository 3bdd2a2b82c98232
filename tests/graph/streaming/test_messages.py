"""``run.messages``: LangChain chat models streamed on the content-block protocol, whole
messages nodes return, side by side with LangGraph."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import hone.graph as hg
from hone.messages import AssistantMessage

lc_models = pytest.importorskip("langchain_core.language_models.fake_chat_models")
lc_messages = pytest.importorskip("langchain_core.messages")
lg_graph = pytest.importorskip("langgraph.graph")

AIMessage, HumanMessage, ToolMessage = (
    lc_messages.AIMessage,
    lc_messages.HumanMessage,
    lc_messages.ToolMessage,
)
INPUT = {"messages": [HumanMessage("hi", id="h1")]}


def _model_graph(mod: Any, *, is_async: bool = False) -> Any:
    llm = lc_models.GenericFakeChatModel(messages=iter([AIMessage("hello world")]))

    def call(state: Any) -> dict[str, Any]:
        return {"messages": [llm.invoke(state["messages"])]}

    async def acall(state: Any) -> dict[str, Any]:
        return {"messages": [await llm.ainvoke(state["messages"])]}

    g = mod.StateGraph(mod.MessagesState)
    g.add_node("call", acall if is_async else call)
    g.add_node("tool", lambda s: {"messages": [ToolMessage("42", tool_call_id="c1")]})
    g.add_edge(mod.START, "call")
    g.add_edge("call", "tool")
    return g.compile()


def _read(run: Any) -> list[tuple[Any, ...]]:
    return [(m.node, list(m.text), m.output.text) for m in run.messages]


@pytest.mark.parametrize("mod", [lg_graph, hg], ids=["langgraph", "hone"])
def test_tokens_of_a_model_call(mod: Any) -> None:
    run = _model_graph(mod).stream_events(INPUT, version="v3")
    # One stream, tokens as the model produced them; the tool message is not a chat reply.
    assert _read(run) == [("call", ["hello", " ", "world"], "hello world")]
    assert [m.type for m in run.output["messages"]] == ["human", "ai", "tool"]


def test_async_tokens_match_langgraph() -> None:
    async def read(mod: Any) -> list[Any]:
        run = await _model_graph(mod, is_async=True).astream_events(INPUT, version="v3")
        out = []
        async for message in run.messages:
            out.append((message.node, [t async for t in message.text]))
        return out

    assert asyncio.run(read(hg)) == asyncio.run(read(lg_graph))


def test_a_returned_hone_message_is_replayed() -> None:
    g = hg.StateGraph(hg.MessagesState)
    g.add_node("say", lambda s: {"messages": [AssistantMessage(content="made by hand")]})
    g.add_edge(hg.START, "say")
    run = g.compile().stream_events({"messages": [("user", "hi")]}, version="v3")
    assert [(m.node, m.output.text) for m in run.messages] == [("say", "made by hand")]


def test_a_returned_langchain_message_matches_langgraph() -> None:
    def build(mod: Any) -> Any:
        g = mod.StateGraph(mod.MessagesState)
        g.add_node("say", lambda s: {"messages": [AIMessage("by hand", id="m1")]})
        g.add_edge(mod.START, "say")
        return g.compile()

    ours = _read(build(hg).stream_events(INPUT, version="v3"))
    assert ours == _read(build(lg_graph).stream_events(INPUT, version="v3"))
    assert ours == [("say", ["by hand"], "by hand")]


def test_subgraph_tokens_reach_the_handle_not_the_root() -> None:
    inner = _model_graph(hg)
    g = hg.StateGraph(hg.MessagesState)
    g.add_node("inner", inner)
    g.add_edge(hg.START, "inner")
    run = g.compile().stream_events(INPUT, version="v3")
    per_handle = [[list(m.text) for m in handle.messages] for handle in run.subgraphs]
    assert per_handle == [[["hello", " ", "world"]]]
    assert list(run.messages) == []


def test_hone_model_tokens_stream_as_content_blocks() -> None:
    from hone.agents import create_agent
    from hone.messages import ToolCall
    from hone.models import ScriptedModel
    from hone.tools import tool

    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    first = AssistantMessage(
        content="let me add",
        reasoning="adding",
        tool_calls=[ToolCall(id="c1", name="add", arguments={"a": 1, "b": 2})],
    )
    agent = create_agent(ScriptedModel([first, "It is 3."], chunk_size=3), tools=[add])
    run = agent.stream_events({"messages": [("user", "1+2?")]}, version="v3")
    replies = []
    for message in run.messages:
        replies.append((list(message.text), str(message.reasoning), message.output.tool_calls))
    assert replies == [
        (
            ["let", " me", " ad", "d"],
            "adding",
            [{"name": "add", "args": {"a": 1, "b": 2}, "id": "c1", "type": "tool_call"}],
        ),
        (["It ", "is ", "3."], "", []),
    ]
    # Streamed once: the node returning the reply does not replay it.
    assert run.output["messages"][-1].content == "It is 3."


def test_block_events_assemble_to_what_langchain_replays() -> None:
    """hone's content-block rendering of a reply and LangChain's replay of the same reply
    (converted) give LangChain's ChatModelStream the same message."""
    from langchain_core.language_models._compat_bridge import message_to_events
    from langchain_core.language_models.chat_model_stream import ChatModelStream

    from hone.graph._content_blocks import BlockEvents
    from hone.interop import to_langchain
    from hone.messages import ToolCall
    from hone.models import Completion, Usage

    message = AssistantMessage(
        id="m1",
        content="hello world",
        reasoning="hmm",
        tool_calls=[ToolCall(id="t1", name="look", arguments={"q": "x"})],
    )
    blocks = BlockEvents("m1")
    ours = ChatModelStream(message_id="m1")
    for kind, piece in (
        ("reasoning", "hm"),
        ("reasoning", "m"),
        ("text", "hello "),
        ("text", "world"),
    ):
        for event in blocks.delta(kind, piece):  # type: ignore[arg-type]
            ours.dispatch(event)
    for event in blocks.finish(Completion(message=message, usage=Usage(3, 4))):
        ours.dispatch(event)
    theirs = ChatModelStream(message_id="m1")
    for event in message_to_events(to_langchain(message), message_id="m1"):
        theirs.dispatch(event)
    assert ours.output.text == theirs.output.text == "hello world"
    assert ours.output.tool_calls == theirs.output.tool_calls
    assert str(ours.reasoning) == str(theirs.reasoning) == "hmm"
    assert ours.output.usage_metadata["total_tokens"] == 7


@pytest.mark.parametrize("mod", [lg_graph, hg], ids=["langgraph", "hone"])
def test_a_nostream_model_is_not_streamed_token_by_token(mod: Any) -> None:
    from langgraph.constants import TAG_NOSTREAM as LG_TAG

    assert hg.TAG_NOSTREAM == LG_TAG
    llm = lc_models.GenericFakeChatModel(messages=iter([AIMessage("quiet reply")]))
    quiet = llm.with_config(tags=[hg.TAG_NOSTREAM])
    g = mod.StateGraph(mod.MessagesState)
    g.add_node("call", lambda s: {"messages": [quiet.invoke(s["messages"])]})
    g.add_edge(mod.START, "call")
    run = g.compile().stream_events(INPUT, version="v3")
    # Not streamed while generated; the node's returned reply is shown whole.
    assert [list(m.text) for m in run.messages] == [["quiet reply"]]
