"""ReAct with a structured final answer: the agent uses its tools, then its answer must be a
value of a pydantic model (LangGraph's ``response_format`` → ``structured_response``).

The structured reply is validated; one that does not fit is shown to the model with the
problems and retried. Offline (the default), the model is scripted and its first structured
reply misses a field. Give a model spec to use a real one::

    python examples/patterns/react_structured.py --model openai:gpt-4.1
"""

from __future__ import annotations

import argparse
import json

from pydantic import BaseModel, Field

from hone.agents import create_react_agent
from hone.models import ScriptedModel
from hone.tools import tool


class Weather(BaseModel):
    """A weather report."""

    city: str
    temperature_c: float = Field(description="the temperature in °C")
    conditions: str


@tool
def get_weather(city: str) -> str:
    """The current weather in a city.

    Args:
        city: the city's name.
    """
    return f"{city}: 18 °C, light rain"


def scripted() -> ScriptedModel:
    call = {"name": "get_weather", "arguments": {"city": "Lyon"}}
    return ScriptedModel(
        [
            f"<tool_call>{json.dumps(call)}</tool_call>",
            "It is 18 °C with light rain in Lyon.",
            json.dumps({"city": "Lyon", "temperature_c": 18}),  # misses "conditions"
            json.dumps({"city": "Lyon", "temperature_c": 18, "conditions": "light rain"}),
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a model spec (default: scripted)")
    args = parser.parse_args()
    model = args.model or scripted()
    agent = create_react_agent(model, [get_weather], response_format=Weather)
    out = agent.invoke({"messages": [("user", "What's the weather in Lyon?")]})
    print("answer:", out["messages"][-1].text)
    report: Weather = out["structured_response"]
    print("structured:", report.model_dump())
    if isinstance(model, ScriptedModel):
        retry = model.requests[-1].messages[-1].text
        print("what the model was told after its first try:", retry)


if __name__ == "__main__":
    main()
