"""LLMToolEmulator: emulated tools answer with the emulator model's reply, others run, over
hone messages and LangChain messages."""

from __future__ import annotations

from typing import Any

import pytest

from hone.agents import create_agent
from hone.agents.middleware import LLMToolEmulator
from hone.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage
from hone.models import ScriptedModel
from hone.tools import tool

_RAN: list[str] = []


@tool
def weather(city: str) -> str:
    """Get the weather of a city."""
    _RAN.append("weather")
    return "real weather"


@tool
def clock() -> str:
    """Tell the time."""
    _RAN.append("clock")
    return "noon"


def _calls() -> AssistantMessage:
    return AssistantMessage(
        tool_calls=(
            ToolCall(id="c1", name="weather", arguments={"city": "Oslo"}),
            ToolCall(id="c2", name="clock", arguments={}),
        )
    )


def test_only_chosen_tools_are_emulated() -> None:
    _RAN.clear()
    emulator = ScriptedModel(["-3C and snowing"])
    agent = create_agent(
        ScriptedModel([_calls(), "done"]),
        [weather, clock],
        middleware=[LLMToolEmulator(tools=["weather"], model=emulator)],
    )
    result = agent.invoke({"messages": [UserMessage(content="weather and time?")]})
    answers = {m.tool_call_id: m for m in result["messages"] if isinstance(m, ToolMessage)}
    assert answers["c1"].content == "-3C and snowing" and answers["c1"].name == "weather"
    assert answers["c2"].content == "noon"
    assert _RAN == ["clock"]
    prompt = str(emulator.requests[0].messages[0].content)
    assert "Tool: weather" in prompt and "Description: Get the weather of a city." in prompt
    assert "Arguments: {'city': 'Oslo'}" in prompt


async def test_all_tools_emulated_async() -> None:
    _RAN.clear()
    agent = create_agent(
        ScriptedModel([_calls(), "done"]),
        [weather, clock],
        middleware=[LLMToolEmulator(model=ScriptedModel(["fake"], when_exhausted="cycle"))],
    )
    result = await agent.ainvoke({"messages": [UserMessage(content="go")]})
    assert [m.content for m in result["messages"] if isinstance(m, ToolMessage)] == ["fake", "fake"]
    assert _RAN == []


def test_langchain_emulator_answers_in_langchain_messages() -> None:
    messages_module = pytest.importorskip("langchain_core.messages")
    fake = pytest.importorskip("langchain_core.language_models.fake_chat_models")
    emulator = fake.GenericFakeChatModel(messages=iter([messages_module.AIMessage(content="7C")]))
    middleware = LLMToolEmulator(tools=[weather], model=emulator)
    call = {"name": "weather", "args": {"city": "Rome"}, "id": "c9", "type": "tool_call"}
    state: dict[str, Any] = {"messages": [messages_module.AIMessage(content="", tool_calls=[call])]}

    class Request:
        tool_call = call
        tool = weather
        runtime = None

    Request.state = state  # type: ignore[attr-defined]
    answer = middleware.wrap_tool_call(Request(), lambda r: pytest.fail("tool must not run"))
    assert isinstance(answer, messages_module.ToolMessage)
    assert (answer.content, answer.tool_call_id, answer.name) == ("7C", "c9", "weather")
