"""With a LangChain chat model, ``create_agent`` sends the provider what LangChain's agent
sends: plain functions bound as LangChain's ``@tool`` makes them, and native structured
output with strict tools (checked on the request bodies ChatOpenAI posts)."""

import json
from typing import Any

import httpx
import pytest
from pydantic import BaseModel, Field

from hone.agents import create_agent
from hone.agents.structured_output import ToolStrategy

lc_openai = pytest.importorskip("langchain_openai")
lc_messages = pytest.importorskip("langchain_core.messages")
lc_agents = pytest.importorskip("langchain.agents")
lc_structured = pytest.importorskip("langchain.agents.structured_output")


class Weather(BaseModel):
    """Weather response."""

    temperature: float = Field(description="The temperature in fahrenheit")
    condition: str = Field(description="Weather condition")


ANSWER = '{"temperature": 75.0, "condition": "sunny"}'


def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return f"The weather in {city} is sunny and 75F."


def _bodies(create: Any, response_format: Any) -> list[dict[str, Any]]:
    bodies: list[dict[str, Any]] = []

    def reply(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        if len(bodies) == 1:
            call = {
                "id": "c1",
                "type": "function",
                "function": {"name": "get_weather", "arguments": '{"city": "Boston"}'},
            }
            message: dict[str, Any] = {"role": "assistant", "content": None, "tool_calls": [call]}
        elif "response_format" in bodies[-1]:  # native structured output: the JSON itself
            message = {"role": "assistant", "content": ANSWER}
        else:  # the tool strategy: a call of the answer tool
            answer = {
                "id": "c2",
                "type": "function",
                "function": {"name": "Weather", "arguments": ANSWER},
            }
            message = {"role": "assistant", "content": None, "tool_calls": [answer]}
        return httpx.Response(
            200,
            json={
                "id": "r",
                "object": "chat.completion",
                "created": 0,
                "model": "gpt-5",
                "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
            },
        )

    model = lc_openai.ChatOpenAI(
        model="gpt-5",
        api_key="test",
        http_client=httpx.Client(transport=httpx.MockTransport(reply)),
    )
    agent = create(
        model, system_prompt="Be brief.", tools=[get_weather], response_format=response_format
    )
    out = agent.invoke({"messages": [lc_messages.HumanMessage("Weather in Boston?")]})
    assert out["structured_response"] == Weather(temperature=75.0, condition="sunny")
    return bodies


def test_native_structured_output_requests_match_langchain() -> None:
    ours = _bodies(create_agent, Weather)
    assert ours == _bodies(lc_agents.create_agent, Weather)
    assert ours[0]["tools"][0]["function"]["strict"] is True


def test_tool_strategy_requests_match_langchain() -> None:
    ours = _bodies(create_agent, ToolStrategy(Weather))
    assert ours == _bodies(lc_agents.create_agent, lc_structured.ToolStrategy(Weather))
    assert [t["function"]["name"] for t in ours[0]["tools"]] == ["get_weather", "Weather"]
