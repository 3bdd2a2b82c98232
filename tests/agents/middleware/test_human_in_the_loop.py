"""``HumanInTheLoopMiddleware``: review of tool calls through ``interrupt``, batched and per
call, over hone messages and LangChain messages."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from hone.agents import create_agent
from hone.agents.middleware import HumanInTheLoopMiddleware
from hone.checkpoint import InMemorySaver
from hone.graph import Command
from hone.messages import AssistantMessage, ToolCall, ToolMessage
from hone.models import ScriptedModel
from hone.tools import tool

RAN: list[str] = []


@tool
def send_email(to: str) -> str:
    """Send an email."""
    RAN.append(to)
    return f"sent to {to}"


@tool
def draft_email(to: str) -> str:
    """Draft an email."""
    RAN.append(f"draft:{to}")
    return f"drafted to {to}"


@pytest.fixture(autouse=True)
def _clear_ran() -> None:
    RAN.clear()


def _agent(middleware: HumanInTheLoopMiddleware, *calls: ToolCall) -> Any:
    model = ScriptedModel([AssistantMessage(tool_calls=calls), "done"])
    return create_agent(
        model, [send_email, draft_email], middleware=[middleware], checkpointer=InMemorySaver()
    )


CONFIG = {"configurable": {"thread_id": "t"}}
EMAIL = ToolCall(id="c1", name="send_email", arguments={"to": "alice"})


def _tool_messages(out: dict[str, Any]) -> list[ToolMessage]:
    return [m for m in out["messages"] if isinstance(m, ToolMessage)]


def test_batched_interrupt_lists_the_gated_calls() -> None:
    agent = _agent(
        HumanInTheLoopMiddleware({"send_email": {"allowed_decisions": ["approve", "reject"]}}),
        EMAIL,
        ToolCall(id="c2", name="draft_email", arguments={"to": "bob"}),
    )
    paused = agent.invoke({"messages": [("user", "go")]}, CONFIG)
    [question] = paused["__interrupt__"]
    assert question.value["action_requests"] == [
        {
            "name": "send_email",
            "args": {"to": "alice"},
            "description": "Tool execution requires approval\n\nTool: send_email\n"
            "Args: {'to': 'alice'}",
        }
    ]
    assert question.value["review_configs"] == [
        {"action_name": "send_email", "allowed_decisions": ["approve", "reject"]}
    ]
    assert RAN == []  # nothing runs before the review
    out = agent.invoke(Command(resume={"decisions": [{"type": "approve"}]}), CONFIG)
    assert sorted(RAN) == ["alice", "draft:bob"]
    assert out["messages"][-1].content == "done"


def test_reject_answers_in_the_tools_place() -> None:
    agent = _agent(HumanInTheLoopMiddleware({"send_email": True}), EMAIL)
    agent.invoke({"messages": [("user", "go")]}, CONFIG)
    out = agent.invoke(Command(resume={"decisions": [{"type": "reject"}]}), CONFIG)
    [answer] = _tool_messages(out)
    assert RAN == []
    assert answer.is_error
    assert answer.content == (
        "User rejected the tool call for `send_email` with id c1. The tool was not executed. "
        "Do not retry this tool call unless the user explicitly requests it."
    )
    assert answer.extra == {
        "additional_kwargs": {
            "lc_source": "hitl_interrupt_decision",
            "lc_data": {"decision": "reject"},
        }
    }


def test_edit_runs_the_reviewers_call_and_says_so() -> None:
    agent = _agent(HumanInTheLoopMiddleware({"send_email": True}), EMAIL)
    agent.invoke({"messages": [("user", "go")]}, CONFIG)
    edit = {"type": "edit", "edited_action": {"name": "draft_email", "args": {"to": "bob"}}}
    out = agent.invoke(Command(resume={"decisions": [edit]}), CONFIG)
    assert RAN == ["draft:bob"]
    turn = next(m for m in out["messages"] if isinstance(m, AssistantMessage) and m.tool_calls)
    assert turn.tool_calls[0].arguments == {"to": "alice"}  # the model's own call stays
    [answer] = _tool_messages(out)
    assert 'Executed instead: draft_email with arguments {"to": "bob"}.' in answer.text
    assert answer.text.endswith("Tool response:\ndrafted to bob")


def test_a_disallowed_or_missing_decision_raises() -> None:
    agent = _agent(
        HumanInTheLoopMiddleware({"send_email": {"allowed_decisions": ["approve"]}}), EMAIL
    )
    agent.invoke({"messages": [("user", "go")]}, CONFIG)
    with pytest.raises(ValueError, match="Decision type 'reject' is not allowed"):
        agent.invoke(Command(resume={"decisions": [{"type": "reject"}]}), CONFIG)
    other = {"configurable": {"thread_id": "other"}}
    agent = _agent(HumanInTheLoopMiddleware({"send_email": True}), EMAIL)
    agent.invoke({"messages": [("user", "go")]}, other)
    with pytest.raises(ValueError, match=r"human decisions \(0\) does not match"):
        agent.invoke(Command(resume={"decisions": []}), other)


def test_per_call_mode_asks_about_each_call() -> None:
    middleware = HumanInTheLoopMiddleware(
        {"send_email": {"allowed_decisions": ["approve", "respond"], "description": "Email?"}},
        interrupt_mode="per_call",
    )
    agent = _agent(middleware, EMAIL)
    [question] = agent.invoke({"messages": [("user", "go")]}, CONFIG)["__interrupt__"]
    assert question.value == {
        "type": "tool_approval",
        "tool_call_id": "c1",
        "name": "send_email",
        "args": {"to": "alice"},
        "description": "Email?",
    }
    with pytest.raises(pydantic.ValidationError, match="expected tags: 'approve', 'respond'"):
        agent.invoke(Command(resume={question.id: {"type": "reject"}}), CONFIG)


def test_per_call_respond() -> None:
    agent = _agent(HumanInTheLoopMiddleware({"send_email": True}, interrupt_mode="per_call"), EMAIL)
    [question] = agent.invoke({"messages": [("user", "go")]}, CONFIG)["__interrupt__"]
    out = agent.invoke(
        Command(resume={question.id: {"type": "respond", "message": "already sent"}}), CONFIG
    )
    [answer] = _tool_messages(out)
    assert (answer.content, answer.is_error, RAN) == ("already sent", False, [])


def test_configuration_errors() -> None:
    with pytest.raises(ValueError, match="send_email"):
        HumanInTheLoopMiddleware({"send_email": {"allowed_decisions": []}})
    with pytest.raises(ValueError, match="must be 'batched' or 'per_call', got 'often'"):
        HumanInTheLoopMiddleware({"send_email": True}, interrupt_mode="often")  # type: ignore[arg-type]
    assert HumanInTheLoopMiddleware({"send_email": False}).interrupt_on == {}


def test_langchain_conversation_gets_langchain_answers() -> None:
    fake = pytest.importorskip("langchain_core.language_models.fake_chat_models")
    lc = pytest.importorskip("langchain_core.messages")

    class Model(fake.GenericFakeChatModel):  # type: ignore[misc, name-defined]
        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

    call = {"id": "c1", "name": "send_email", "args": {"to": "alice"}}
    model = Model(messages=iter([lc.AIMessage("", tool_calls=[call]), lc.AIMessage("done")]))
    agent = create_agent(
        model,
        [send_email],
        middleware=[HumanInTheLoopMiddleware({"send_email": True})],
        checkpointer=InMemorySaver(),
    )
    agent.invoke({"messages": [lc.HumanMessage("go")]}, CONFIG)
    decision = {"type": "reject", "message": "not today"}
    out = agent.invoke(Command(resume={"decisions": [decision]}), CONFIG)
    [answer] = [m for m in out["messages"] if isinstance(m, lc.ToolMessage)]
    assert answer.status == "error"
    assert answer.content == "User rejected the tool call for `send_email` with reason: not today"
    assert answer.additional_kwargs["lc_data"] == {"decision": "reject"}
    assert RAN == []
