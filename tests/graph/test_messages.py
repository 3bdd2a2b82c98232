"""``add_messages``: LangGraph's merge rules, on hone messages and on LangChain messages, and
the one-family-per-list rule."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import pytest
from langchain_core import messages as lc
from typing_extensions import TypedDict

from hone.graph import REMOVE_ALL_MESSAGES, RemoveMessage, add_messages
from hone.interop import from_langchain
from hone.messages import AssistantMessage, ToolCall, UserMessage


class LangChainState(TypedDict):
    """A messages key typed with LangChain's messages."""

    messages: Annotated[list[lc.AnyMessage], add_messages]


def test_appends_and_assigns_uuid4_ids() -> None:
    out = add_messages([UserMessage(content="hi")], [("assistant", "hello"), "more"])
    assert [m.role for m in out] == ["user", "assistant", "user"]
    assert all(uuid.UUID(m.id).version == 4 for m in out)
    assert out[1].text == "hello"


def test_replaces_by_id_and_removes() -> None:
    left = [UserMessage(content="a", id="1"), AssistantMessage(content="b", id="2")]
    out = add_messages(left, [AssistantMessage(content="B", id="2")])
    assert [m.text for m in out] == ["a", "B"]
    out = add_messages(out, [RemoveMessage(id="1")])
    assert [m.id for m in out] == ["2"]
    with pytest.raises(ValueError, match="delete a message with an ID that doesn't exist"):
        add_messages(out, [RemoveMessage(id="nope")])


def test_remove_all_keeps_only_what_follows_it() -> None:
    left = [UserMessage(content="a", id="1")]
    out = add_messages(
        left, [RemoveMessage(id=REMOVE_ALL_MESSAGES), {"role": "user", "content": "x"}]
    )
    assert [m.text for m in out] == ["x"]


def test_single_values_and_duplicates_in_one_update() -> None:
    out = add_messages(UserMessage(content="a", id="1"), AssistantMessage(content="b", id="2"))
    assert [m.id for m in out] == ["1", "2"]
    out = add_messages(
        [], [AssistantMessage(content="x", id="1"), AssistantMessage(content="y", id="1")]
    )
    assert [m.text for m in out] == ["y"]


def test_langchain_messages_are_kept_as_given() -> None:
    human = lc.HumanMessage(content="hi", id="1")
    ai = lc.AIMessage(content="yo", tool_calls=[{"name": "f", "args": {}, "id": "c"}])
    out = add_messages([human], [ai])
    assert out[0] is human and out[1] is ai
    assert isinstance(ai.id, str) and uuid.UUID(ai.id).version == 4  # assigned in place


def test_untyped_values_take_the_family_of_the_update_then_of_the_list() -> None:
    out = add_messages([], [("user", "a"), lc.AIMessage(content="b")])
    assert [type(m) for m in out] == [lc.HumanMessage, lc.AIMessage]
    out = add_messages(out, [("user", "c"), {"role": "assistant", "content": "d"}])
    assert [type(m) for m in out][2:] == [lc.HumanMessage, lc.AIMessage]
    out = add_messages([], ["plain"])
    assert out == [UserMessage(content="plain", id=out[0].id)]


def test_a_typed_write_of_the_other_family_converts_the_list_losslessly() -> None:
    ai = lc.AIMessage(
        content="thinking done",
        id="a1",
        additional_kwargs={"reasoning_content": "r", "refusal": None},
        response_metadata={"finish_reason": "tool_calls"},
        tool_calls=[{"name": "f", "args": {"x": 1}, "id": "c1"}],
    )
    start = add_messages([], [lc.HumanMessage(content="q", id="h1"), ai])
    hone_list = add_messages(start, [AssistantMessage(content="next", id="a2")])
    assert [type(m) for m in hone_list] == [UserMessage, AssistantMessage, AssistantMessage]
    assert hone_list[1].reasoning == "r"
    assert hone_list[1].tool_calls[0] == {"name": "f", "args": {"x": 1}, "id": "c1"}
    back = add_messages(hone_list, [lc.HumanMessage(content="again", id="h2")])
    assert back[:2] == start  # LangChain → hone → LangChain gives the same messages
    assert type(back[2]) is lc.AIMessage and back[2].content == "next"


def test_remove_messages_of_either_family_work_on_either_list() -> None:
    hone_list = [UserMessage(content="a", id="1"), UserMessage(content="b", id="2")]
    out = add_messages(hone_list, lc.RemoveMessage(id="1"))
    assert [m.id for m in out] == ["2"] and isinstance(out[0], UserMessage)
    lc_list = [lc.HumanMessage(content="a", id="1"), lc.HumanMessage(content="b", id="2")]
    out = add_messages(lc_list, [RemoveMessage(id="2")])
    assert out == [lc.HumanMessage(content="a", id="1")]
    out = add_messages(lc_list, [RemoveMessage(id=REMOVE_ALL_MESSAGES), ("user", "c")])
    assert [type(m) for m in out] == [lc.HumanMessage]


def test_chunks_become_whole_messages() -> None:
    chunk = lc.AIMessageChunk(content="a", id="x") + lc.AIMessageChunk(content="b")
    out = add_messages([], [chunk])
    assert type(out[0]) is lc.AIMessage and out[0].content == "ab"


def test_used_as_a_decorator_factory_and_reducer() -> None:
    reducer = add_messages(format="langchain-openai")
    out = reducer(
        [],
        [
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "see", "cache_control": {"type": "ephemeral"}},
                    {
                        "type": "image",
                        "source": {"type": "base64", "media_type": "image/png", "data": "AA"},
                    },
                ],
            }
        ],
    )
    assert out[0].content == [
        {"type": "text", "text": "see"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}},
    ]
    with pytest.raises(ValueError, match="Only received: 'left'"):
        add_messages([UserMessage(content="a")])
    with pytest.raises(ValueError, match="Unrecognized format"):
        add_messages(format="xml")([], ["a"])  # type: ignore[arg-type]


def test_hone_tool_calls_survive_a_langchain_list() -> None:
    call = ToolCall(id="c", name="add", arguments={"a": 1})
    bad = ToolCall(id="d", name="add", raw_arguments="{oops", error="invalid JSON")
    turn = AssistantMessage(content="", reasoning="r", tool_calls=(call, bad), id="t")
    out = add_messages([lc.HumanMessage(content="q", id="q")], [turn, lc.HumanMessage(content="z")])
    assert type(out[1]) is lc.AIMessage
    assert out[1].invalid_tool_calls[0]["args"] == "{oops"
    assert from_langchain(out[1]) == turn


def _ids(messages: list[Any]) -> list[str]:
    return [m.id for m in messages]


def test_matches_langgraph_on_a_mixed_script() -> None:
    """The same operations through LangGraph's own reducer give the same lists."""
    from langgraph.graph.message import add_messages as lg_add_messages

    script: list[Any] = [
        [lc.HumanMessage(content="a", id="1"), lc.AIMessage(content="b", id="2")],
        [lc.AIMessage(content="B", id="2"), lc.SystemMessage(content="s", id="3")],
        [lc.RemoveMessage(id="1"), lc.HumanMessage(content="c", id="4")],
        [lc.HumanMessage(content="x", id="5"), lc.RemoveMessage(id="5")],
        [lc.RemoveMessage(id=REMOVE_ALL_MESSAGES), lc.HumanMessage(content="d", id="6")],
    ]
    ours: list[Any] = []
    theirs: list[Any] = []
    for update in script:
        ours = add_messages(ours, [m.model_copy() for m in update])
        theirs = lg_add_messages(theirs, [m.model_copy() for m in update])
        assert ours == theirs


def test_a_key_declaring_langchain_messages_makes_untyped_values_langchain() -> None:
    from hone.graph._messages import reducer_for_key

    reducer = reducer_for_key(list[lc.AnyMessage], add_messages)
    out = reducer([], [("user", "hi"), "there"])
    assert [type(m) for m in out] == [lc.HumanMessage, lc.HumanMessage]
    out = reducer(out, [UserMessage(content="typed hone")])  # a typed write still wins
    assert all(isinstance(m, UserMessage) for m in out)
    formatted = reducer_for_key(list[lc.BaseMessage], add_messages(format="langchain-openai"))
    assert type(formatted([], ["x"])[0]) is lc.HumanMessage
    assert reducer_for_key(list[AssistantMessage], add_messages) is add_messages
    assert reducer_for_key(list[lc.AnyMessage], max) is max


def test_push_message_streams_and_writes_a_message() -> None:
    from hone.errors import GraphError
    from hone.graph import END, START, MessagesState, StateGraph
    from hone.graph._messages import push_message

    def chat(state: MessagesState) -> None:
        with pytest.raises(ValueError, match="Message ID is required"):
            push_message(AssistantMessage(content="no id"))
        push_message(AssistantMessage(content="first", id="1"))
        push_message(lc.AIMessage(content="second", id="2"))

    graph = StateGraph(MessagesState)
    graph.add_node("chat", chat)
    graph.add_edge(START, "chat")
    graph.add_edge("chat", END)
    streamed, values = [], None
    for mode, chunk in graph.compile().stream({"messages": []}, stream_mode=["messages", "values"]):
        if mode == "messages":
            streamed.append(chunk[0])
        else:
            values = chunk
    assert values is not None and [m.content for m in values["messages"]] == ["first", "second"]
    assert [m.id for m in streamed] == ["1", "2"]
    with pytest.raises(GraphError, match="inside a running graph node"):
        push_message(AssistantMessage(content="x", id="3"))


def test_a_langchain_model_given_hone_messages_fails_with_the_way_out() -> None:
    from langchain_core.language_models.fake_chat_models import GenericFakeChatModel

    from hone.graph import START, MessagesState, StateGraph

    def graph(schema: Any) -> Any:
        model = GenericFakeChatModel(messages=iter([lc.AIMessage("hello")]))

        def call(state: Any) -> dict[str, Any]:
            return {"messages": model.invoke(state["messages"])}

        return StateGraph(schema).add_node("call", call).add_edge(START, "call").compile()

    with pytest.raises(NotImplementedError) as caught:
        graph(MessagesState).invoke({"messages": "hi"})  # hone's MessagesState: hone messages
    notes = getattr(caught.value, "__notes__", [])
    assert any("Annotated[list[AnyMessage], add_messages]" in note for note in notes)
    out = graph(LangChainState).invoke({"messages": "hi"})  # the way out the note names
    assert [type(m) for m in out["messages"]] == [lc.HumanMessage, lc.AIMessage]
    with pytest.raises(ValueError) as other:  # other node errors get no such note
        StateGraph(MessagesState).add_node("bad", lambda s: int("x")).add_edge(
            START, "bad"
        ).compile().invoke({"messages": []})
    assert not any("LangChain" in note for note in getattr(other.value, "__notes__", []))
