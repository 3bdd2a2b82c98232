"""``ContextEditingMiddleware``: older tool results cleared from what the model sees, over
hone messages and LangChain messages."""

from __future__ import annotations

from typing import Any

import pytest

from hone.agents import create_agent
from hone.agents.middleware import (
    ClearToolUsesEdit,
    ContextEditingMiddleware,
    ModelRequest,
    ModelResponse,
)
from hone.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage
from hone.models import ScriptedModel
from hone.tools import tool


def _turns(*outputs: str) -> list[Any]:
    messages: list[Any] = [UserMessage(content="go")]
    for i, output in enumerate(outputs):
        call = ToolCall(id=f"c{i}", name="search", arguments={"q": str(i)})
        messages += [
            AssistantMessage(tool_calls=(call,)),
            ToolMessage(content=output, tool_call_id=f"c{i}", name="search"),
        ]
    return messages


def _seen(middleware: ContextEditingMiddleware, messages: list[Any]) -> list[Any]:
    captured: list[ModelRequest[Any]] = []

    def handler(request: ModelRequest[Any]) -> ModelResponse[Any]:
        captured.append(request)
        return ModelResponse([AssistantMessage(content="ok")])

    request: ModelRequest[Any] = ModelRequest(model=ScriptedModel(["ok"]), messages=messages)
    middleware.wrap_model_call(request, handler)
    return captured[0].messages


def test_clears_all_but_the_kept_results_of_hone_messages() -> None:
    messages = _turns("a" * 400, "b" * 400, "c" * 400)
    edit = ClearToolUsesEdit(trigger=50, keep=1, placeholder="[gone]")
    seen = _seen(ContextEditingMiddleware(edits=[edit]), messages)
    results = [m for m in seen if isinstance(m, ToolMessage)]
    assert [m.content for m in results] == ["[gone]", "[gone]", "c" * 400]
    marks = (results[0].extra or {})["response_metadata"]["context_editing"]
    assert marks == {"cleared": True, "strategy": "clear_tool_uses"}
    assert messages[2].content == "a" * 400  # the caller's messages are untouched


def test_below_the_trigger_nothing_is_cleared() -> None:
    messages = _turns("short")
    seen = _seen(
        ContextEditingMiddleware(edits=[ClearToolUsesEdit(trigger=1_000, keep=0)]), messages
    )
    assert seen == messages


def test_clear_tool_inputs_and_excluded_tools() -> None:
    messages = _turns("x" * 400)
    messages.append(
        AssistantMessage(tool_calls=(ToolCall(id="k", name="keep_me", arguments={"a": 1}),))
    )
    messages.append(ToolMessage(content="y" * 400, tool_call_id="k", name="keep_me"))
    edit = ClearToolUsesEdit(trigger=10, keep=0, clear_tool_inputs=True, exclude_tools=["keep_me"])
    seen = _seen(ContextEditingMiddleware(edits=[edit]), messages)
    assert seen[1].tool_calls[0].arguments == {}
    assert seen[1].extra["response_metadata"]["context_editing"]["cleared_tool_inputs"] == ["c0"]
    assert seen[2].content == "[cleared]"
    assert seen[4].content == "y" * 400


def test_clear_at_least_stops_once_enough_is_reclaimed() -> None:
    messages = _turns("a" * 400, "b" * 400, "c" * 400)
    edit = ClearToolUsesEdit(trigger=10, keep=0, clear_at_least=50)
    seen = _seen(ContextEditingMiddleware(edits=[edit]), messages)
    assert [m.content for m in seen if isinstance(m, ToolMessage)] == [
        "[cleared]",
        "b" * 400,
        "c" * 400,
    ]


def test_custom_token_counter_takes_precedence() -> None:
    counted: list[int] = []

    def counter(messages: Any) -> int:
        counted.append(len(messages))
        return 0

    middleware = ContextEditingMiddleware(
        edits=[ClearToolUsesEdit(trigger=1, keep=0)], token_counter=counter
    )
    seen = _seen(middleware, _turns("a" * 400))
    assert counted == [3]
    assert seen[2].content == "a" * 400


@tool
def search(q: str) -> str:
    """Search."""
    return f"result for {q} " * 50


def test_agent_model_sees_cleared_results_while_the_state_keeps_them() -> None:
    model = ScriptedModel(
        [
            AssistantMessage(tool_calls=(ToolCall(id="c0", name="search", arguments={"q": "a"}),)),
            AssistantMessage(tool_calls=(ToolCall(id="c1", name="search", arguments={"q": "b"}),)),
            "done",
        ]
    )
    edit = ClearToolUsesEdit(trigger=100, keep=1)
    agent = create_agent(model, [search], middleware=[ContextEditingMiddleware(edits=[edit])])
    out = agent.invoke({"messages": [("user", "go")]})
    last_request = model.requests[-1].messages
    assert next(m.content for m in last_request if isinstance(m, ToolMessage)) == "[cleared]"
    assert all(m.content != "[cleared]" for m in out["messages"] if isinstance(m, ToolMessage))


def test_langchain_messages_use_langchain_metadata() -> None:
    lc = pytest.importorskip("langchain_core.messages")
    messages = [
        lc.HumanMessage("go"),
        lc.AIMessage("", tool_calls=[{"id": "c0", "name": "search", "args": {"q": "a"}}]),
        lc.ToolMessage("z" * 400, tool_call_id="c0"),
    ]
    edit = ClearToolUsesEdit(trigger=20, keep=0, clear_tool_inputs=True)
    seen = _seen(ContextEditingMiddleware(edits=[edit]), messages)
    assert isinstance(seen[2], lc.ToolMessage)
    assert seen[2].content == "[cleared]"
    assert seen[2].response_metadata["context_editing"]["cleared"] is True
    assert seen[1].tool_calls[0]["args"] == {}
    assert messages[1].tool_calls[0]["args"] == {"q": "a"}
