"""stream_mode="messages" streams the tokens of a LangChain chat model called in a node."""

from langchain_core.language_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, HumanMessage

from hone.graph import START, MessagesState, StateGraph


def _graph(llm: GenericFakeChatModel) -> object:
    def chat(state: MessagesState) -> dict[str, object]:
        return {"messages": [llm.invoke(state["messages"])]}

    return StateGraph(MessagesState).add_node("chat", chat).add_edge(START, "chat").compile()


def test_tokens_of_a_langchain_model_stream_in_messages_mode() -> None:
    llm = GenericFakeChatModel(messages=iter([AIMessage("hello world")]))
    chunks = list(_graph(llm).stream({"messages": [HumanMessage("hi")]}, stream_mode="messages"))
    assert [type(m) for m, _ in chunks] == [AIMessageChunk] * 3
    assert "".join(m.content for m, _ in chunks) == "hello world"
    assert {meta["langgraph_node"] for _, meta in chunks} == {"chat"}
    # The returned message has the chunks' id: it is not streamed a second time.
    assert len({m.id for m, _ in chunks}) == 1


async def test_tokens_stream_in_async_runs_too() -> None:
    llm = GenericFakeChatModel(messages=iter([AIMessage("a b")]))
    graph = _graph(llm)
    chunks = [
        m
        async for m, _ in graph.astream({"messages": [HumanMessage("hi")]}, stream_mode="messages")
    ]
    assert "".join(m.content for m in chunks) == "a b"


def test_nothing_is_streamed_without_messages_mode() -> None:
    llm = GenericFakeChatModel(messages=iter([AIMessage("quiet")]))
    out = _graph(llm).invoke({"messages": [HumanMessage("hi")]})
    assert out["messages"][-1].content == "quiet"
