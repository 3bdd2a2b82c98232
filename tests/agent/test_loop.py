"""The minimal agent loop, driven by a scripted model."""

from __future__ import annotations

import asyncio

import pytest

from hone.agent import AgentOptions, arun_agent, run_agent
from hone.errors import ConfigError
from hone.messages import AssistantMessage, SystemMessage, ToolMessage, UserMessage
from hone.models._scripted import ScriptedModel
from hone.tools import tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


@tool
def submit(answer: str) -> str:
    """Submit the final answer.

    Args:
        answer: The answer.
    """
    return f"submitted {answer}"


def call(name: str, args: str) -> str:
    return f'<tool_call>{{"name": "{name}", "arguments": {args}}}</tool_call>'


def test_tool_then_answer() -> None:
    model = ScriptedModel([call("add", '{"a": 2, "b": 3}'), "The sum is 5."])
    history = run_agent(model, [add], "What is 2 + 3?", system="Be brief.")
    assert isinstance(history[0], SystemMessage)
    assert isinstance(history[1], UserMessage)
    assert isinstance(history[2], AssistantMessage) and history[2].tool_calls[0].name == "add"
    assert isinstance(history[3], ToolMessage) and history[3].content == "5"
    assert history[3].tool_call_id == history[2].tool_calls[0].id
    assert history[-1].text == "The sum is 5."
    # The model saw the tool's schema on every call.
    assert model.requests[0].tools[0]["function"]["name"] == "add"


def test_model_mistakes_become_messages_not_crashes() -> None:
    model = ScriptedModel(
        [
            call("multiply", '{"a": 2}'),  # unknown tool
            call("add", '{"a": "two", "b": 3}'),  # schema violation
            "<tool_call>{not json at all</tool_call>",  # unparseable
            "Sorry, 5.",
        ]
    )
    history = run_agent(model, [add], "2+3?", max_steps=6)
    errors = [m for m in history if isinstance(m, ToolMessage) and m.is_error]
    assert len(errors) == 2
    assert "multiply" in errors[0].text and "add" in errors[0].text
    parse_feedback = [m for m in history if isinstance(m, UserMessage) and "could not" in m.text]
    assert len(parse_feedback) == 1
    assert history[-1].text == "Sorry, 5."


def test_budget_exhausted_forces_a_final_answer() -> None:
    model = ScriptedModel([call("add", '{"a": 1, "b": 1}')] * 2 + [call("add", '{"a": 9, "b": 9}')])
    history = run_agent(model, [add], "loop forever", max_steps=2)
    assert len(model.requests) == 3
    final = history[-1]
    assert isinstance(final, AssistantMessage) and final.tool_calls == ()
    assert "final answer" in history[-2].text


def test_stop_tool_ends_the_run() -> None:
    model = ScriptedModel([call("submit", '{"answer": "42"}'), "never reached"])
    history = run_agent(model, [submit], "answer", options=AgentOptions(stop_tools={"submit"}))
    assert isinstance(history[-1], ToolMessage) and history[-1].content == "submitted 42"
    assert model.calls == 1


def test_async_and_sync_agree() -> None:
    replies = [call("add", '{"a": 4, "b": 5}'), "9"]
    sync = run_agent(ScriptedModel(replies), [add], "4+5?")
    async_ = asyncio.run(arun_agent(ScriptedModel(replies), [add], "4+5?"))
    assert [m.text for m in sync] == [m.text for m in async_]


def test_sync_shell_works_inside_a_running_loop() -> None:
    async def main() -> str:
        return str(run_agent(ScriptedModel(["hi"]), [], "hello")[-1].text)

    assert asyncio.run(main()) == "hi"


def test_invalid_budget_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="max_steps"):
        run_agent(ScriptedModel(["x"]), [], "hi", max_steps=0)
