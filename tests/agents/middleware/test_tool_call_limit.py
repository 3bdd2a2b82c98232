"""ToolCallLimitMiddleware: counting a turn's tool calls (of every tool or of one), and
blocking, ending or raising past a limit, over hone messages and LangChain messages."""

from __future__ import annotations

from typing import Any

import pytest

from hone.agents import create_agent
from hone.agents.middleware import (
    ToolCallLimitExceededError,
    ToolCallLimitMiddleware,
    ToolCallLimitState,
)
from hone.checkpoint import InMemorySaver
from hone.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage
from hone.models import ScriptedModel
from hone.tools import tool


@tool
def search(query: str) -> str:
    """Search."""
    return f"Search: {query}"


@tool
def calculator(query: str) -> str:
    """Calculate."""
    return f"Calc: {query}"


def _turn(*calls: tuple[str, str]) -> AssistantMessage:
    """A model turn calling (id, tool) pairs."""
    return AssistantMessage(
        tool_calls=tuple(ToolCall(id=i, name=n, arguments={"query": i}) for i, n in calls)
    )


def _state(turn: Any, thread: dict[str, int], run: dict[str, int]) -> ToolCallLimitState[Any]:
    return ToolCallLimitState(
        messages=[UserMessage(content="q"), turn],
        thread_tool_call_count=thread,
        run_tool_call_count=run,
    )


def test_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="At least one limit must be specified"):
        ToolCallLimitMiddleware()
    with pytest.raises(ValueError, match="Invalid exit_behavior"):
        ToolCallLimitMiddleware(run_limit=1, exit_behavior="stop")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match=r"run_limit \(5\) cannot exceed thread_limit \(3\)"):
        ToolCallLimitMiddleware(thread_limit=3, run_limit=5)
    assert ToolCallLimitMiddleware(run_limit=1).name == "ToolCallLimitMiddleware"
    assert ToolCallLimitMiddleware(tool_name="s", run_limit=1).name == "ToolCallLimitMiddleware[s]"


def test_counts_calls_within_the_limits() -> None:
    middleware = ToolCallLimitMiddleware(thread_limit=3, run_limit=3)
    update = middleware.after_model(_state(_turn(("1", "search")), {"__all__": 2}, {}), None)
    assert update == {
        "thread_tool_call_count": {"__all__": 3},
        "run_tool_call_count": {"__all__": 1},
    }


def test_continue_blocks_only_the_calls_past_the_limit() -> None:
    middleware = ToolCallLimitMiddleware(thread_limit=10, run_limit=1)
    turn = _turn(("1", "search"), ("2", "search"), ("3", "search"))
    update = middleware.after_model(_state(turn, {}, {}), None)
    assert update is not None and "jump_to" not in update
    assert update["thread_tool_call_count"] == {"__all__": 1}  # blocked calls never ran
    assert update["run_tool_call_count"] == {"__all__": 3}  # but were attempted
    assert [(m.tool_call_id, m.is_error) for m in update["messages"]] == [("2", True), ("3", True)]
    assert update["messages"][0].content == (
        "Tool call limit exceeded. Do not make additional tool calls."
    )


def test_end_answers_every_call_and_keeps_the_thread_count() -> None:
    middleware = ToolCallLimitMiddleware(tool_name="search", thread_limit=1, exit_behavior="end")
    turn = _turn(("1", "search"), ("2", "calculator"))
    update = middleware.after_model(_state(turn, {"search": 1}, {"search": 1}), None)
    assert update is not None and update["jump_to"] == "end"
    *answers, notice = update["messages"]
    assert [(m.tool_call_id, m.name) for m in answers] == [("1", "search"), ("2", "calculator")]
    assert answers[0].content == "Tool call limit exceeded. Do not call 'search' again."
    assert "exceeded the limit" in answers[1].content
    assert isinstance(notice, AssistantMessage)
    assert notice.content == (
        "'search' tool call limit reached: thread limit exceeded (2/1 calls)."
    )
    assert update["thread_tool_call_count"] == {"search": 1}
    assert update["run_tool_call_count"] == {"search": 2}


def test_other_tools_are_not_counted_by_a_tool_limit() -> None:
    middleware = ToolCallLimitMiddleware(tool_name="search", run_limit=1)
    assert middleware.after_model(_state(_turn(("1", "calculator")), {}, {}), None) is None


def test_error_raises_with_the_would_be_counts() -> None:
    middleware = ToolCallLimitMiddleware(thread_limit=2, exit_behavior="error")
    state = _state(_turn(("1", "search")), {"__all__": 2}, {"__all__": 2})
    with pytest.raises(ToolCallLimitExceededError) as caught:
        middleware.after_model(state, None)
    error = caught.value
    assert (error.thread_count, error.run_count, error.thread_limit, error.tool_name) == (
        3,
        3,
        2,
        None,
    )
    assert str(error) == "Tool call limit reached: thread limit exceeded (3/2 calls)."


def test_continue_through_the_agent_blocks_one_tool_only() -> None:
    model = ScriptedModel(
        [
            _turn(("1", "search"), ("2", "calculator")),
            _turn(("3", "search"), ("4", "calculator")),
            "done",
        ]
    )
    limiter = ToolCallLimitMiddleware(tool_name="search", thread_limit=1)
    agent = create_agent(model, [search, calculator], middleware=[limiter])
    out = agent.invoke({"messages": [UserMessage(content="go")]})
    answers = {m.tool_call_id: m for m in out["messages"] if isinstance(m, ToolMessage)}
    assert answers["1"].content == "Search: 1" and not answers["1"].is_error
    assert answers["3"].is_error and "Do not call 'search' again" in str(answers["3"].content)
    assert answers["4"].content == "Calc: 4"
    assert out["messages"][-1].content == "done"


def test_end_through_the_agent_stops_and_run_limit_resets() -> None:
    model = ScriptedModel([_turn(("1", "search")), _turn(("2", "search")), "answer"])
    limiter = ToolCallLimitMiddleware(run_limit=1, exit_behavior="end")
    agent = create_agent(model, [search], middleware=[limiter], checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    first = agent.invoke({"messages": [UserMessage(content="go")]}, config)
    assert first["messages"][-1].content == (
        "Tool call limit reached: run limit exceeded (2/1 calls)."
    )
    assert model.calls == 2
    second = agent.invoke({"messages": [UserMessage(content="again")]}, config)
    assert second["messages"][-1].content == "answer"  # a new run: the run count restarted


async def test_async_hook_blocks() -> None:
    model = ScriptedModel([_turn(("1", "search"), ("2", "search")), "done"])
    agent = create_agent(model, [search], middleware=[ToolCallLimitMiddleware(run_limit=1)])
    out = await agent.ainvoke({"messages": [UserMessage(content="go")]})
    errors = [m.tool_call_id for m in out["messages"] if isinstance(m, ToolMessage) and m.is_error]
    assert errors == ["2"]


def test_langchain_turn_gets_langchain_answers() -> None:
    lc = pytest.importorskip("langchain_core.messages")
    middleware = ToolCallLimitMiddleware(run_limit=1, exit_behavior="end")
    turn = lc.AIMessage(
        "r",
        tool_calls=[
            {"name": "search", "args": {}, "id": "1"},
            {"name": "search", "args": {}, "id": "2"},
        ],
    )
    update = middleware.after_model({"messages": [lc.HumanMessage("q"), turn]}, None)
    assert update is not None
    *answers, notice = update["messages"]
    assert all(isinstance(m, lc.ToolMessage) and m.status == "error" for m in answers)
    assert [m.tool_call_id for m in answers] == ["2", "1"]
    assert isinstance(notice, lc.AIMessage)
    assert notice.content == "Tool call limit reached: run limit exceeded (2/1 calls)."
