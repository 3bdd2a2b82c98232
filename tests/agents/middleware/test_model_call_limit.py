"""ModelCallLimitMiddleware: the thread and run limits on model calls, ending the run with a
notice or raising, over hone messages and LangChain messages."""

from __future__ import annotations

import pickle
from typing import Any

import pytest

from hone.agents import create_agent
from hone.agents.middleware import (
    ModelCallLimitExceededError,
    ModelCallLimitMiddleware,
    ModelCallLimitState,
)
from hone.checkpoint import InMemorySaver
from hone.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage
from hone.models import ScriptedModel
from hone.tools import tool


@tool
def echo(value: str) -> str:
    """Echo the value."""
    return value


def _call(call_id: str) -> AssistantMessage:
    return AssistantMessage(
        tool_calls=(ToolCall(id=call_id, name="echo", arguments={"value": "v"}),)
    )


def _thread(name: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": name}}


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="At least one limit must be specified"):
        ModelCallLimitMiddleware()
    with pytest.raises(ValueError, match="Invalid exit_behavior"):
        ModelCallLimitMiddleware(run_limit=1, exit_behavior="stop")  # type: ignore[arg-type]
    middleware = ModelCallLimitMiddleware(thread_limit=3)
    assert (middleware.thread_limit, middleware.run_limit, middleware.exit_behavior) == (
        3,
        None,
        "end",
    )


def test_before_model_ends_once_a_limit_is_reached() -> None:
    middleware = ModelCallLimitMiddleware(thread_limit=2, run_limit=1)
    below: ModelCallLimitState[Any] = ModelCallLimitState(
        messages=[], thread_model_call_count=1, run_model_call_count=0
    )
    assert middleware.before_model(below, None) is None
    reached: ModelCallLimitState[Any] = ModelCallLimitState(
        messages=[], thread_model_call_count=2, run_model_call_count=1
    )
    update = middleware.before_model(reached, None)
    assert update is not None and update["jump_to"] == "end"
    [notice] = update["messages"]
    assert isinstance(notice, AssistantMessage)
    assert notice.content == ("Model call limits exceeded: thread limit (2/2), run limit (1/1)")


def test_error_carries_counts_and_survives_pickling() -> None:
    middleware = ModelCallLimitMiddleware(run_limit=1, exit_behavior="error")
    with pytest.raises(ModelCallLimitExceededError) as caught:
        middleware.before_model({"messages": [], "run_model_call_count": 1}, None)
    error = caught.value
    assert (error.thread_count, error.run_count, error.thread_limit, error.run_limit) == (
        0,
        1,
        None,
        1,
    )
    assert str(pickle.loads(pickle.dumps(error))) == "Model call limits exceeded: run limit (1/1)"


def test_run_limit_ends_the_run_after_the_tools() -> None:
    model = ScriptedModel([_call("c1"), "never reached"])
    agent = create_agent(model, [echo], middleware=[ModelCallLimitMiddleware(run_limit=1)])
    out = agent.invoke({"messages": [UserMessage(content="hi")]})
    kinds = [type(m) for m in out["messages"]]
    assert kinds == [UserMessage, AssistantMessage, ToolMessage, AssistantMessage]
    assert out["messages"][-1].content == "Model call limits exceeded: run limit (1/1)"
    assert model.calls == 1
    assert "run_model_call_count" not in out  # private state


def test_thread_limit_counts_across_runs_and_run_count_resets() -> None:
    model = ScriptedModel(["one", "two", "three"])
    middleware = ModelCallLimitMiddleware(thread_limit=2, run_limit=1, exit_behavior="error")
    agent = create_agent(model, middleware=[middleware], checkpointer=InMemorySaver())
    agent.invoke({"messages": [UserMessage(content="a")]}, _thread("t"))
    agent.invoke({"messages": [UserMessage(content="b")]}, _thread("t"))  # run count reset
    with pytest.raises(ModelCallLimitExceededError, match=r"thread limit \(2/2\)"):
        agent.invoke({"messages": [UserMessage(content="c")]}, _thread("t"))
    assert model.calls == 2
    state = agent.get_state(_thread("t")).values
    assert state["thread_model_call_count"] == 2


async def test_async_run_ends_with_notice() -> None:
    model = ScriptedModel([_call("c1"), "never reached"])
    agent = create_agent(model, [echo], middleware=[ModelCallLimitMiddleware(run_limit=1)])
    out = await agent.ainvoke({"messages": [UserMessage(content="hi")]})
    assert out["messages"][-1].content == "Model call limits exceeded: run limit (1/1)"


def test_langchain_conversation_gets_a_langchain_notice() -> None:
    messages = pytest.importorskip("langchain_core.messages")
    fake = pytest.importorskip("langchain_core.language_models.fake_chat_models")
    model = fake.GenericFakeChatModel(messages=iter([messages.AIMessage(content="first")]))
    agent = create_agent(
        model, middleware=[ModelCallLimitMiddleware(thread_limit=1)], checkpointer=InMemorySaver()
    )
    agent.invoke({"messages": [messages.HumanMessage("hi")]}, _thread("lc"))
    out = agent.invoke({"messages": [messages.HumanMessage("again")]}, _thread("lc"))
    notice = out["messages"][-1]
    assert isinstance(notice, messages.AIMessage)
    assert notice.content == "Model call limits exceeded: thread limit (1/1)"
    assert len(out["messages"]) == 4
