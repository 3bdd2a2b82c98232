"""LLMToolSelectorMiddleware: the selection model's answer narrows the tools the main model is
offered (max_tools, always_include, retries, on_parsing_failure), with a hone model."""

from __future__ import annotations

import json

import pytest

from hone.agents import create_agent
from hone.agents.middleware import LLMToolSelectorMiddleware
from hone.messages import UserMessage
from hone.models import ScriptedModel
from hone.tools import tool


@tool
def weather(city: str) -> str:
    """Get the weather of a city."""
    return "sunny"


@tool
def stocks(symbol: str) -> str:
    """Get a stock price."""
    return "42"


@tool
def search(query: str) -> str:
    """Search the web."""
    return "results"


def _offered(model: ScriptedModel, index: int = 0) -> list[str]:
    return [t["function"]["name"] for t in model.requests[index].tools]


def _selection(*names: str) -> str:
    return json.dumps({"tools": list(names)})


def test_selected_tools_are_the_only_ones_offered() -> None:
    selector = ScriptedModel([_selection("stocks", "weather")])
    main = ScriptedModel(["answer"])
    agent = create_agent(
        main,
        [weather, stocks, search],
        middleware=[
            LLMToolSelectorMiddleware(model=selector, max_tools=1, always_include=["search"])
        ],
    )
    agent.invoke({"messages": [UserMessage(content="price of ACME?")]})
    assert _offered(main) == ["stocks", "search"]
    request = selector.requests[0]
    assert request.response_format is not None
    schema = request.response_format["json_schema"]["schema"]
    assert [c["const"] for c in schema["properties"]["tools"]["items"]["anyOf"]] == [
        "weather",
        "stocks",
    ]
    assert request.messages[-1].content == "price of ACME?"
    assert "only the first 1 will be used" in str(request.messages[0].content)


def test_malformed_answers_are_retried_then_fall_back() -> None:
    selector = ScriptedModel(["not json", _selection("search")])
    main = ScriptedModel(["answer"])
    agent = create_agent(
        main, [weather, search], middleware=[LLMToolSelectorMiddleware(model=selector)]
    )
    agent.invoke({"messages": [UserMessage(content="look it up")]})
    assert len(selector.requests) == 2 and _offered(main) == ["search"]

    always_bad = ScriptedModel(["nope"], when_exhausted="cycle")
    main = ScriptedModel(["answer"])
    agent = create_agent(
        main,
        [weather, search],
        middleware=[
            LLMToolSelectorMiddleware(model=always_bad, max_retries=0, on_parsing_failure="all")
        ],
    )
    agent.invoke({"messages": [UserMessage(content="anything")]})
    assert _offered(main) == ["weather", "search"]

    failing = create_agent(
        ScriptedModel(["answer"]),
        [weather, search],
        middleware=[LLMToolSelectorMiddleware(model=always_bad)],
    )
    with pytest.raises(ValueError, match="malformed response after 1 retries"):
        failing.invoke({"messages": [UserMessage(content="anything")]})


def test_invalid_selection_and_arguments() -> None:
    agent = create_agent(
        ScriptedModel(["answer"]),
        [weather],
        middleware=[LLMToolSelectorMiddleware(model=ScriptedModel([_selection("teleport")]))],
    )
    with pytest.raises(ValueError, match=r"Model selected invalid tools: \['teleport'\]"):
        agent.invoke({"messages": [UserMessage(content="go")]})
    with pytest.raises(ValueError, match="max_retries must be >= 0"):
        LLMToolSelectorMiddleware(max_retries=-1)
    missing = create_agent(
        ScriptedModel(["answer"]),
        [weather],
        middleware=[LLMToolSelectorMiddleware(model=ScriptedModel(["x"]), always_include=["nope"])],
    )
    with pytest.raises(ValueError, match="Tools in always_include not found"):
        missing.invoke({"messages": [UserMessage(content="go")]})


async def test_agent_model_selects_when_none_is_given() -> None:
    main = ScriptedModel([_selection("search"), "answer"])
    agent = create_agent(main, [weather, search], middleware=[LLMToolSelectorMiddleware()])
    result = await agent.ainvoke({"messages": [UserMessage(content="find it")]})
    assert result["messages"][-1].content == "answer"
    assert _offered(main, 1) == ["search"]
