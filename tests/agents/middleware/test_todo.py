"""``TodoListMiddleware``: the ``write_todos`` tool, the ``todos`` state key and the
system-prompt section, with a hone model and a LangChain chat model."""

from __future__ import annotations

from typing import Any

import pydantic
import pytest

from hone.agents import create_agent
from hone.agents.middleware import (
    WRITE_TODOS_SYSTEM_PROMPT,
    TodoListMiddleware,
    write_todos,
)
from hone.graph import Command
from hone.messages import AssistantMessage, SystemMessage, ToolCall, ToolMessage
from hone.models import ScriptedModel

PLAN = [{"content": "Task 1", "status": "in_progress"}]


def _write(call_id: str, todos: list[dict[str, str]]) -> ToolCall:
    return ToolCall(id=call_id, name="write_todos", arguments={"todos": todos})


def test_hone_agent_keeps_the_plan_and_reads_the_section() -> None:
    model = ScriptedModel([AssistantMessage(tool_calls=(_write("w1", PLAN),)), "done"])
    agent = create_agent(model, middleware=[TodoListMiddleware()], system_prompt="Be brief.")
    out = agent.invoke({"messages": [("user", "plan it")]})
    assert out["todos"] == PLAN
    answer = out["messages"][2]
    assert isinstance(answer, ToolMessage)
    assert answer.content == f"Updated todo list to {PLAN}"
    system = model.requests[0].messages[0]
    assert system == SystemMessage(content=f"Be brief.\n\n{WRITE_TODOS_SYSTEM_PROMPT}")
    assert [t["function"]["name"] for t in model.requests[0].tools] == ["write_todos"]


def test_parallel_write_todos_calls_are_refused() -> None:
    turn = AssistantMessage(tool_calls=(_write("a", PLAN), _write("b", [])))
    model = ScriptedModel([turn, "done"])
    out = create_agent(model, middleware=[TodoListMiddleware()]).invoke(
        {"messages": [("user", "x")]}
    )
    errors = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert [(m.tool_call_id, m.is_error) for m in errors] == [("a", True), ("b", True)]
    assert errors[0].text.startswith("Error: The `write_todos` tool should never be called")
    assert "todos" not in out


def test_custom_prompt_and_description() -> None:
    middleware = TodoListMiddleware(system_prompt="Plan.", tool_description="Write the plan.")
    assert middleware.tools[0].description == "Write the plan."
    model = ScriptedModel(["ok"])
    create_agent(model, middleware=[middleware]).invoke({"messages": [("user", "x")]})
    assert model.requests[0].messages[0] == SystemMessage(content="Plan.")


def test_direct_invocation_returns_the_command() -> None:
    call = {"args": {"todos": PLAN}, "name": "write_todos", "type": "tool_call", "id": "t1"}
    result = write_todos.invoke(call)
    assert isinstance(result, Command)
    assert isinstance(result.update, dict)
    assert result.update["todos"] == PLAN
    assert result.update["messages"][0].tool_call_id == "t1"
    bad = {**call, "args": {"todos": [{"content": "x", "status": "nope"}]}}
    with pytest.raises(pydantic.ValidationError, match="1 validation error for write_todos"):
        write_todos.invoke(bad)


def test_langchain_agent_gets_langchain_answers() -> None:
    fake = pytest.importorskip("langchain_core.language_models.fake_chat_models")
    lc = pytest.importorskip("langchain_core.messages")

    seen: list[Any] = []

    class Model(fake.GenericFakeChatModel):  # type: ignore[misc, name-defined]
        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

        def _generate(self, messages: Any, *args: Any, **kwargs: Any) -> Any:
            seen.append(messages)
            return super()._generate(messages, *args, **kwargs)

    replies = iter(
        [
            lc.AIMessage(
                "", tool_calls=[{"id": "w1", "name": "write_todos", "args": {"todos": PLAN}}]
            ),
            lc.AIMessage("done"),
        ]
    )
    model = Model(messages=replies)
    out = create_agent(model, middleware=[TodoListMiddleware()]).invoke(
        {"messages": [lc.HumanMessage("go")]}
    )
    assert out["todos"] == PLAN
    answer = out["messages"][2]
    assert isinstance(answer, lc.ToolMessage)
    assert answer.content == f"Updated todo list to {PLAN}"
    system = seen[0][0]
    assert isinstance(system, lc.SystemMessage)
    assert system.text.startswith("## `write_todos`")
