"""Conversion between hone's and LangChain's messages: lossless both ways, and hone's tool
calls and messages read like LangChain's."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core import messages as lc

from hone.checkpoint._serde import Serializer
from hone.errors import ConfigError
from hone.interop import from_langchain, is_langchain_message, to_langchain
from hone.messages import (
    AssistantMessage,
    AssistantMessageChunk,
    ImagePart,
    ImageUrl,
    SystemMessage,
    TextPart,
    ToolCall,
    ToolMessage,
    UserMessage,
)

# -- strategies ----------------------------------------------------------------------------

_text = st.text(max_size=12)
_ids = st.none() | st.text(alphabet="abcdef0123456789-", min_size=1, max_size=8)
_json_leaf = st.none() | st.booleans() | st.integers(-5, 5) | _text
_json = st.recursive(
    _json_leaf,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_text, inner, max_size=3),
    max_leaves=6,
)
_args = st.dictionaries(st.text(min_size=1, max_size=6), _json, max_size=3)
_parts = st.lists(
    st.builds(TextPart, text=_text)
    | st.builds(
        ImagePart,
        image_url=st.builds(
            ImageUrl,
            url=st.sampled_from(["https://x/a.png", "data:image/png;base64,AA"]),
            detail=st.none() | st.sampled_from(["auto", "low", "high"]),
        ),
    ),
    max_size=3,
)
_content = _text | _parts
_good_call = st.builds(
    ToolCall,
    id=st.text(min_size=1, max_size=8),
    name=st.text(min_size=1, max_size=8),
    arguments=_args,
)
_bad_call = st.builds(
    ToolCall,
    id=st.text(min_size=1, max_size=8),
    name=st.text(min_size=1, max_size=8),
    raw_arguments=_text,
    error=st.text(min_size=1, max_size=8),
)
_kwargs = st.dictionaries(st.sampled_from(["refusal", "audio", "x"]), _json, max_size=2)
_meta = st.dictionaries(st.sampled_from(["finish_reason", "model_name"]), _text, max_size=2)


@st.composite
def hone_messages(draw: st.DrawFn) -> Any:
    common = {"id": draw(_ids), "name": draw(st.none() | _text)}
    kind = draw(st.sampled_from(["system", "user", "assistant", "tool"]))
    if kind == "system":
        return SystemMessage(content=draw(_content), **common)
    if kind == "user":
        return UserMessage(content=draw(_content), **common)
    if kind == "tool":
        return ToolMessage(
            content=draw(_content), tool_call_id=draw(_text), is_error=draw(st.booleans()), **common
        )
    # LangChain keeps valid and invalid calls in two lists: valid ones come first.
    calls = tuple(draw(st.lists(_good_call, max_size=2)) + draw(st.lists(_bad_call, max_size=2)))
    return AssistantMessage(
        content=draw(_content), reasoning=draw(st.none() | _text), tool_calls=calls, **common
    )


_lc_blocks = st.lists(
    _text
    | st.fixed_dictionaries({"type": st.just("text"), "text": _text})
    | st.fixed_dictionaries(
        {"type": st.just("text"), "text": _text, "cache_control": st.just({"type": "ephemeral"})}
    )
    | st.fixed_dictionaries(
        {"type": st.just("image_url"), "image_url": st.just({"url": "https://x/a.png"})}
    )
    | st.fixed_dictionaries(
        {"type": st.just("image"), "base64": st.just("AA"), "mime_type": st.just("image/png")}
    )
    | st.fixed_dictionaries({"type": st.just("reasoning"), "reasoning": _text}),
    max_size=3,
)


@st.composite
def langchain_messages(draw: st.DrawFn) -> Any:
    common = {
        "content": draw(_text | _lc_blocks),
        "id": draw(_ids),
        "name": draw(st.none() | _text),
        "additional_kwargs": draw(_kwargs),
        "response_metadata": draw(_meta),
    }
    kind = draw(st.sampled_from(["human", "system", "ai", "tool"]))
    if kind == "human":
        return lc.HumanMessage(**common)
    if kind == "system":
        return lc.SystemMessage(**common)
    if kind == "tool":
        return lc.ToolMessage(
            tool_call_id=draw(_text),
            status=draw(st.sampled_from(["success", "error"])),
            artifact=draw(st.none() | _json),
            **common,
        )
    calls = [
        {"name": draw(_text), "args": draw(_args), "id": draw(st.text(min_size=1, max_size=6))}
        for _ in range(draw(st.integers(0, 2)))
    ]
    bad = [
        lc.InvalidToolCall(
            name=draw(_text), args=draw(_text), id=draw(st.text(min_size=1)), error=draw(_text)
        )
        for _ in range(draw(st.integers(0, 1)))
    ]
    usage = draw(st.none() | st.just({"input_tokens": 3, "output_tokens": 4, "total_tokens": 7}))
    reasoning = draw(st.none() | _text)
    if reasoning is not None:
        common["additional_kwargs"] = {
            **common["additional_kwargs"],
            "reasoning_content": reasoning,
        }
    return lc.AIMessage(tool_calls=calls, invalid_tool_calls=bad, usage_metadata=usage, **common)


# -- round trips -----------------------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(hone_messages())
def test_hone_to_langchain_and_back_is_exact(message: Any) -> None:
    converted = to_langchain(message)
    assert is_langchain_message(converted)
    assert from_langchain(converted) == message


@settings(max_examples=200, deadline=None)
@given(langchain_messages())
def test_langchain_to_hone_and_back_is_exact(message: Any) -> None:
    converted = from_langchain(message)
    assert isinstance(converted, SystemMessage | UserMessage | AssistantMessage | ToolMessage)
    assert to_langchain(converted) == message


@settings(max_examples=100, deadline=None)
@given(langchain_messages() | hone_messages())
def test_the_checkpoint_serializer_keeps_messages_of_both_families_exactly(message: Any) -> None:
    serializer = Serializer()
    decoded = serializer.loads(serializer.dumps({"messages": [message]}))["messages"][0]
    assert type(decoded) is type(message) and decoded == message
    hone = from_langchain(message)
    assert serializer.loads(serializer.dumps(hone)) == hone  # extra fields included


def test_field_mapping() -> None:
    ai = to_langchain(
        AssistantMessage(
            content="done",
            reasoning="why",
            id="m1",
            name="bot",
            tool_calls=(
                ToolCall(id="c1", name="add", arguments={"a": 1}),
                ToolCall(id="c2", name="add", raw_arguments="{x", error="invalid JSON"),
            ),
        )
    )
    assert ai == lc.AIMessage(
        content="done",
        id="m1",
        name="bot",
        additional_kwargs={"reasoning_content": "why"},
        tool_calls=[{"name": "add", "args": {"a": 1}, "id": "c1", "type": "tool_call"}],
        invalid_tool_calls=[
            {
                "name": "add",
                "args": "{x",
                "id": "c2",
                "error": "invalid JSON",
                "type": "invalid_tool_call",
            }
        ],
    )
    tool = to_langchain(ToolMessage(content="boom", tool_call_id="c1", is_error=True))
    assert (tool.status, tool.tool_call_id) == ("error", "c1")
    assert type(to_langchain(UserMessage(content="q"))) is lc.HumanMessage
    assert type(to_langchain(SystemMessage(content="s"))) is lc.SystemMessage


def test_image_blocks_of_every_shape_reach_hone_as_image_parts() -> None:
    human = lc.HumanMessage(
        content=[
            {"type": "text", "text": "look", "cache_control": {"type": "ephemeral"}},
            {
                "type": "image",
                "source": {"type": "base64", "media_type": "image/jpeg", "data": "AB"},
            },
            {"type": "image", "url": "https://x/y.png"},
            {"type": "image_url", "image_url": "https://x/z.png"},
            {"type": "file", "file_id": "f1"},
        ]
    )
    user = from_langchain(human)
    assert user.content == [
        TextPart(text="look"),
        ImagePart(image_url=ImageUrl(url="data:image/jpeg;base64,AB")),
        ImagePart(image_url=ImageUrl(url="https://x/y.png")),
        ImagePart(image_url=ImageUrl(url="https://x/z.png")),
    ]
    assert to_langchain(user) == human  # the blocks hone does not model come back
    edited = user.model_copy(update={"content": "changed"})
    assert to_langchain(edited).content == "changed"  # an edit wins over the kept original


def test_chunks_chat_messages_and_refusals() -> None:
    chunk = lc.AIMessageChunk(content="a", id="x") + lc.AIMessageChunk(content="b")
    assert from_langchain(chunk) == AssistantMessage(content="ab", id="x")
    assert from_langchain(lc.ChatMessage(role="user", content="hi")) == UserMessage(content="hi")
    with pytest.raises(ValueError, match="role 'wizard'"):
        from_langchain(lc.ChatMessage(role="wizard", content="hi"))
    with pytest.raises(ValueError, match="RemoveMessage"):
        from_langchain(lc.RemoveMessage(id="1"))
    with pytest.raises(ValueError, match="not a LangChain message"):
        from_langchain(42)
    hone_chunk = AssistantMessageChunk(content="x", id="i")
    assert to_langchain(hone_chunk) == lc.AIMessage(content="x", id="i")
    assert to_langchain(("user", "hi")) == lc.HumanMessage(content="hi")


def test_tool_calls_read_as_langchain_dicts() -> None:
    call = ToolCall(id="c1", name="search", arguments={"q": "x"})
    assert (call["name"], call["args"], call["id"], call["type"]) == (
        "search",
        {"q": "x"},
        "c1",
        "tool_call",
    )
    assert call.args == {"q": "x"} and call.get("missing", 0) == 0 and "args" in call
    assert dict(call) == {"name": "search", "args": {"q": "x"}, "id": "c1", "type": "tool_call"}
    langchain_call = lc.AIMessage(
        content="", tool_calls=[{"name": "search", "args": {"q": "x"}, "id": "c1"}]
    ).tool_calls[0]
    assert call == langchain_call and langchain_call == call
    assert call != {"name": "search", "args": {"q": "y"}, "id": "c1"}
    assert call != {"name": "search", "args": {"q": "x"}, "id": "c1", "extra": 1}
    with pytest.raises(KeyError, match="name, args, id, type"):
        call["arguments"]


def test_messages_have_langchain_types() -> None:
    assert [m.type for m in (SystemMessage(content=""), UserMessage(content=""))] == [
        "system",
        "human",
    ]
    assert AssistantMessage().type == "ai"
    assert ToolMessage(content="", tool_call_id="c").type == "tool"


@settings(max_examples=200, deadline=None)
@given(hone_messages())
def test_a_hone_message_equals_the_langchain_message_it_converts_to(message: Any) -> None:
    converted = to_langchain(message)
    assert message == converted
    assert (message != converted) is False  # __ne__ follows __eq__
    assert message != to_langchain(message.model_copy(update={"id": "another-id"}))


def test_a_hone_message_differs_from_other_langchain_messages() -> None:
    hi = UserMessage(content="hi", id="1")
    assert hi == lc.HumanMessage("hi", id="1")
    assert hi != lc.HumanMessage("hi")  # ids differ
    assert hi != lc.HumanMessage("hello", id="1")
    assert hi != lc.HumanMessageChunk(content="hi", id="1")
    assert hi != lc.SystemMessage("hi", id="1")
    assert hi != lc.RemoveMessage(id="1")
    # In LangGraph's tests, expected messages match any id (an id whose __eq__ is always true).
    expected = lc.HumanMessage("hi")
    expected.id = type("AnyId", (str,), {"__eq__": lambda self, other: True})()
    assert [hi] == [expected]
    # With the LangChain message on the left, pydantic's equality decides (another class).
    assert lc.HumanMessage("hi", id="1") != hi
    assert {hi: 1}[UserMessage(content="hi", id="1")] == 1  # still hashable


def test_importing_hone_does_not_import_langchain() -> None:
    code = (
        "import sys, hone, hone.graph, hone.graph.prebuilt, hone.interop, hone.tools, "
        "hone.agent, hone.checkpoint, hone.trajectory\n"
        "from hone.models import ScriptedModel\n"
        "ScriptedModel(['hi']).invoke('hello')\n"
        "print(sorted(m for m in sys.modules if m.startswith('langchain')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_conversion_to_langchain_without_it_installed_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setitem(sys.modules, "langchain_core.messages", None)  # import fails
    with pytest.raises(ConfigError, match=r"pip install 'hone\[langchain\]'"):
        to_langchain(UserMessage(content="x"))
