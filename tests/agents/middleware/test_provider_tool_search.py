"""ProviderToolSearchMiddleware: chosen tools (hone and LangChain) sent deferred with the
provider's tool search tool added, requests without deferred tools left alone, provider
detection, and the errors for unknown tools and providers."""

from __future__ import annotations

from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.tools import BaseTool
from langchain_core.tools import tool as langchain_tool

from hone.agents import create_agent
from hone.agents.middleware import (
    ModelRequest,
    ModelResponse,
    ProviderToolSearchMiddleware,
    wrap_model_call,
)
from hone.messages import UserMessage
from hone.models import ScriptedModel
from hone.tools import tool

ANTHROPIC_SEARCH = {"type": "tool_search_tool_bm25_20251119", "name": "tool_search_tool_bm25"}
OPENAI_SEARCH = {"type": "tool_search"}


@langchain_tool
def get_weather(city: str) -> str:
    """Get the weather for a city."""
    return city


@langchain_tool(extras={"defer_loading": True, "category": "orders"})
def lookup_order(order_id: str) -> str:
    """Look up an order."""
    return order_id


@tool
def send_email(to: str) -> str:
    """Send an email."""
    return to


class _Provider:
    def __init__(self, provider: str) -> None:
        self.provider = provider

    def _get_ls_params(self) -> dict[str, str]:
        return {"ls_provider": self.provider}


class _Configurable:
    def __init__(self, defaults: dict[str, Any]) -> None:
        self._default_config = defaults

    def _model_params(self, config: Any = None) -> dict[str, Any]:
        return {} if config is None else dict(config.get("configurable", {}))


class _Runtime:
    def __init__(self, config: Any) -> None:
        self.config = config


def _sent(middleware: ProviderToolSearchMiddleware, request: ModelRequest[Any]) -> Any:
    seen: list[ModelRequest[Any]] = []

    def handler(req: ModelRequest[Any]) -> ModelResponse[Any]:
        seen.append(req)
        return ModelResponse(result=[AIMessage("ok")])

    middleware.wrap_model_call(request, handler)
    return seen[0]


def _request(model: Any, tools: list[Any], runtime: Any = None) -> ModelRequest[Any]:
    return ModelRequest(model=model, messages=[HumanMessage("hi")], tools=tools, runtime=runtime)


def test_nothing_deferred_sends_the_request_itself_whatever_the_provider() -> None:
    request = _request(_Provider("mistralai"), [get_weather, send_email])
    assert _sent(ProviderToolSearchMiddleware(), request) is request


def test_named_and_premarked_tools_are_deferred() -> None:
    request = _request(_Provider("Anthropic"), [get_weather, lookup_order, {"type": "web_search"}])
    sent = _sent(ProviderToolSearchMiddleware(searchable_tools=[get_weather]), request)
    by_name = {t.name: t for t in sent.tools if isinstance(t, BaseTool)}
    assert by_name["get_weather"].extras == {"defer_loading": True}
    assert by_name["lookup_order"].extras == {"defer_loading": True, "category": "orders"}
    assert get_weather.extras is None
    assert {"type": "web_search"} in sent.tools
    assert sent.tools[-1] == ANTHROPIC_SEARCH


def test_hone_tool_is_sent_as_a_deferred_langchain_tool() -> None:
    request = _request(_Provider("openai"), [send_email])
    sent = _sent(ProviderToolSearchMiddleware(searchable_tools=["send_email"]), request)
    deferred, search = sent.tools
    assert isinstance(deferred, BaseTool)
    assert (deferred.name, deferred.description) == ("send_email", "Send an email.")
    assert deferred.extras == {"defer_loading": True}
    assert search == OPENAI_SEARCH


@pytest.mark.parametrize(
    ("model", "runtime", "expected"),
    [
        (_Configurable({"model": "claude-sonnet-4-5"}), None, ANTHROPIC_SEARCH),
        (_Configurable({"model": "openai:gpt-5"}), None, OPENAI_SEARCH),
        (
            _Configurable({"model_provider": "openai"}),
            _Runtime({"configurable": {"model_provider": "anthropic"}}),
            ANTHROPIC_SEARCH,
        ),
        (_Configurable({"model": "o3"}), _Runtime("not a mapping"), OPENAI_SEARCH),
        (type("ChatAnthropic", (), {})(), None, ANTHROPIC_SEARCH),
    ],
)
def test_provider_detection(model: Any, runtime: Any, expected: dict[str, str]) -> None:
    request = _request(model, [lookup_order], runtime)
    assert expected in _sent(ProviderToolSearchMiddleware(), request).tools


def test_errors_name_the_problem() -> None:
    middleware = ProviderToolSearchMiddleware(searchable_tools=["zzz", "aaa"])
    with pytest.raises(ValueError, match="not bound to the model: aaa, zzz"):
        _sent(middleware, _request(_Provider("mistralai"), [get_weather]))
    with pytest.raises(ValueError, match="server-side tool search, but got 'mistralai'"):
        _sent(ProviderToolSearchMiddleware(), _request(_Provider("mistralai"), [lookup_order]))
    with pytest.raises(ValueError, match="could not determine the provider"):
        _sent(ProviderToolSearchMiddleware(), _request(object(), [lookup_order]))
    with pytest.raises(TypeError, match="tool names or tools"):
        ProviderToolSearchMiddleware(searchable_tools=[3])


async def test_async_path_defers_too() -> None:
    seen: list[Any] = []

    async def handler(req: ModelRequest[Any]) -> ModelResponse[Any]:
        seen.append(req)
        return ModelResponse(result=[AIMessage("ok")])

    request = _request(_Provider("openai"), [lookup_order])
    await ProviderToolSearchMiddleware().awrap_model_call(request, handler)
    assert seen[0].tools[-1] == OPENAI_SEARCH


def test_in_an_agent_a_hone_model_cannot_defer_and_passes_through_otherwise() -> None:
    seen: list[Any] = []

    @wrap_model_call
    def record(request: ModelRequest[Any], handler: Any) -> Any:
        seen.append(list(request.tools))
        return handler(request.override(tools=[]))

    agent = create_agent(
        ScriptedModel(["done"]),
        tools=[send_email],
        middleware=[ProviderToolSearchMiddleware(searchable_tools=["send_email"]), record],
    )
    with pytest.raises(ValueError, match="could not determine the provider"):
        agent.invoke({"messages": [UserMessage(content="hi")]})
    plain = create_agent(
        ScriptedModel(["done"]),
        tools=[send_email],
        middleware=[ProviderToolSearchMiddleware(), record],
    )
    assert plain.invoke({"messages": [UserMessage(content="hi")]})["messages"][-1].content == "done"
    assert [getattr(t, "name", None) for t in seen[0]] == ["send_email"]
