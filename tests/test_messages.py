"""Messages: coercion from message-likes, and lossless OpenAI-format conversion."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hone.messages import (
    AssistantMessage,
    ImagePart,
    ImageUrl,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
    from_openai,
    to_message,
    to_messages,
    to_openai,
)


def test_tuples_strings_and_dicts_become_messages() -> None:
    assert to_message(("user", "hi")) == UserMessage(content="hi")
    assert to_message(("system", "be brief")) == SystemMessage(content="be brief")
    assert to_message(("ai", "hello")) == AssistantMessage(content="hello")
    assert to_message("plain") == UserMessage(content="plain")
    assert to_message({"role": "developer", "content": "x"}) == SystemMessage(content="x")
    assert to_messages([("user", "a"), {"role": "assistant", "content": "b"}])[1].text == "b"
    assert to_messages("one") == [UserMessage(content="one")]
    # A (role, text) tuple sent as JSON arrives as a list: read it as the tuple, as LangChain does
    assert to_messages([["user", "a"], ["ai", "b"]])[1] == AssistantMessage(content="b")
    assert to_messages(["user", "a"]) == [UserMessage(content="user"), UserMessage(content="a")]


@pytest.mark.parametrize(
    ("value", "match"),
    [
        ({"role": "wizard", "content": "x"}, "unknown message role"),
        ({"role": "tool", "content": "x"}, "tool_call_id"),
        (("user", "a", "b"), "must be \\(role, text\\)"),
        (42, "cannot make a message"),
        ({"role": "user", "content": [{"type": "audio"}]}, "unsupported content part"),
    ],
)
def test_bad_message_likes_name_the_problem(value: Any, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        to_message(value)


def test_assistant_with_tool_calls_round_trips_exactly() -> None:
    data = {
        "role": "assistant",
        "content": None,
        "reasoning_content": "think first",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "add", "arguments": '{"a": 1,  "b": 2}'},
            }
        ],
    }
    msg = from_openai(data)
    assert isinstance(msg, AssistantMessage)
    assert msg.reasoning == "think first"
    assert msg.tool_calls[0].arguments == {"a": 1, "b": 2}
    assert to_openai(msg) == data  # the raw argument string (odd spacing included) survives


def test_undecodable_arguments_are_kept_with_an_error_not_raised() -> None:
    msg = from_openai(
        {
            "role": "assistant",
            "content": "",
            "tool_calls": [{"id": "c", "function": {"name": "f", "arguments": "{oops"}}],
        }
    )
    assert isinstance(msg, AssistantMessage)
    call = msg.tool_calls[0]
    assert call.arguments == {} and call.error and "invalid JSON" in call.error
    assert to_openai(msg)["tool_calls"][0]["function"]["arguments"] == "{oops"


def test_content_parts_and_tool_results() -> None:
    data = {
        "role": "user",
        "content": [
            {"type": "text", "text": "look: "},
            {
                "type": "image_url",
                "image_url": {"url": "data:image/png;base64,AAA", "detail": "low"},
            },
        ],
    }
    msg = from_openai(data)
    assert msg.text == "look: "
    assert isinstance(msg.content, list) and isinstance(msg.content[1], ImagePart)
    assert to_openai(msg) == data
    tool = ToolMessage(content="5", tool_call_id="call_1", name="add")
    assert to_openai(tool) == {
        "role": "tool",
        "content": "5",
        "tool_call_id": "call_1",
        "name": "add",
    }


def test_messages_are_immutable() -> None:
    msg = UserMessage(content="x")
    with pytest.raises(ValueError):
        msg.content = "y"  # type: ignore[misc]
    assert msg.model_copy(update={"content": "y"}).text == "y"


_text = st.text(max_size=30)
_args = st.dictionaries(st.text(min_size=1, max_size=8), st.integers() | _text, max_size=3)
_calls = st.builds(
    lambda name, args, i: ToolCall(id=f"call_{i}", name=name, arguments=args),
    st.text(min_size=1, max_size=10),
    _args,
    st.integers(0, 10**6),
)
_content = _text | st.lists(
    st.builds(TextPart, text=_text)
    | st.builds(ImagePart, image_url=st.builds(ImageUrl, url=_text)),
    max_size=3,
)
_messages = (
    st.builds(SystemMessage, content=_content)
    | st.builds(UserMessage, content=_content, name=st.none() | st.text(min_size=1, max_size=5))
    | st.builds(
        AssistantMessage,
        content=_text,
        reasoning=st.none() | _text,
        tool_calls=st.lists(_calls, max_size=2).map(tuple),
    )
    | st.builds(ToolMessage, content=_text, tool_call_id=st.text(min_size=1, max_size=8))
)


@settings(max_examples=300, deadline=None)
@given(_messages)
def test_openai_round_trip_is_lossless(msg: Any) -> None:
    data = to_openai(msg)
    json.dumps(data)  # the OpenAI form is plain JSON
    back = from_openai(data)
    if isinstance(msg, AssistantMessage):
        # Decoding fills raw_arguments with the string that was on the wire.
        calls = tuple(
            c.model_copy(update={"raw_arguments": c.arguments_json()}) for c in msg.tool_calls
        )
        msg = msg.model_copy(update={"tool_calls": calls})
    assert back == msg
    assert to_openai(back) == data
