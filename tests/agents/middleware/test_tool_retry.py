"""ToolRetryMiddleware: retrying failed tool calls, limited to some tools, and the error
answer a call gets when the retries run out, over LangChain and hone messages."""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from hone.agents import create_agent
from hone.agents.middleware import AgentMiddleware, ToolCallRequest, ToolRetryMiddleware
from hone.graph import GraphInterrupt
from hone.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage
from hone.models import ScriptedModel
from hone.tools import tool


@tool
def lookup(value: str) -> str:
    """Look the value up."""
    return f"found {value}"


class _Flaky(AgentMiddleware[Any, Any, Any]):
    """Raises ``error`` on the first ``failures`` attempts of each call, then runs it."""

    def __init__(self, failures: int, error: type[Exception] = ConnectionError) -> None:
        self.failures = failures
        self.error = error
        self.attempts = 0

    def _attempt(self) -> None:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise self.error(f"flaky {self.attempts}")

    def wrap_tool_call(self, request: ToolCallRequest, handler: Callable[..., Any]) -> Any:
        self._attempt()
        return handler(request)

    async def awrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[..., Awaitable[Any]]
    ) -> Any:
        self._attempt()
        return await handler(request)


def _model() -> ScriptedModel:
    call = ToolCall(id="c1", name="lookup", arguments={"value": "x"})
    return ScriptedModel([AssistantMessage(tool_calls=(call,)), "done"])


def _answer(out: dict[str, Any]) -> ToolMessage:
    [answer] = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    return answer


def _fast(**kwargs: Any) -> ToolRetryMiddleware:
    return ToolRetryMiddleware(initial_delay=0, jitter=False, **kwargs)


def test_defaults_tool_filter_and_deprecated_names() -> None:
    retry = ToolRetryMiddleware(tools=[lookup, "other"])
    assert retry._tool_filter == ["lookup", "other"]
    assert (retry.max_retries, retry.on_failure, retry.tools) == (2, "continue", [])
    with pytest.warns(DeprecationWarning, match="on_failure='raise' is deprecated"):
        assert ToolRetryMiddleware(on_failure="raise").on_failure == "error"  # type: ignore[arg-type]
    with pytest.warns(DeprecationWarning, match="Use on_failure='continue' instead"):
        retry = ToolRetryMiddleware(on_failure="return_message")  # type: ignore[arg-type]
    assert retry.on_failure == "continue"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ToolRetryMiddleware(on_failure="error")
    with pytest.raises(ValueError, match="max_retries must be >= 0"):
        ToolRetryMiddleware(max_retries=-1)


def test_retries_until_the_call_succeeds() -> None:
    flaky = _Flaky(2)
    agent = create_agent(_model(), [lookup], middleware=[_fast(max_retries=2), flaky])
    out = agent.invoke({"messages": [UserMessage(content="go")]})
    assert _answer(out).content == "found x" and not _answer(out).is_error
    assert flaky.attempts == 3


def test_exhausted_retries_answer_with_an_error_message() -> None:
    agent = create_agent(_model(), [lookup], middleware=[_fast(max_retries=1), _Flaky(9)])
    out = agent.invoke({"messages": [UserMessage(content="go")]})
    answer = _answer(out)
    assert answer.is_error and answer.tool_call_id == "c1" and answer.name == "lookup"
    assert answer.content == (
        "Tool 'lookup' failed after 2 attempts with ConnectionError: flaky 2. Please try again."
    )
    assert out["messages"][-1].content == "done"


def test_custom_text_error_and_rejected_failures() -> None:
    agent = create_agent(
        _model(), [lookup], middleware=[_fast(max_retries=0, on_failure=str), _Flaky(9)]
    )
    assert _answer(agent.invoke({"messages": [UserMessage(content="go")]})).content == "flaky 1"
    agent = create_agent(_model(), [lookup], middleware=[_fast(on_failure="error"), _Flaky(9)])
    with pytest.raises(ConnectionError, match="flaky 3"):
        agent.invoke({"messages": [UserMessage(content="go")]})
    flaky = _Flaky(9, error=KeyError)
    agent = create_agent(_model(), [lookup], middleware=[_fast(retry_on=(OSError,)), flaky])
    with pytest.raises(KeyError):
        agent.invoke({"messages": [UserMessage(content="go")]})
    assert flaky.attempts == 1


def test_tools_outside_the_filter_are_not_retried() -> None:
    flaky = _Flaky(1)
    agent = create_agent(_model(), [lookup], middleware=[_fast(tools=["other"]), flaky])
    with pytest.raises(ConnectionError):
        agent.invoke({"messages": [UserMessage(content="go")]})
    assert flaky.attempts == 1


async def test_async_run_retries() -> None:
    flaky = _Flaky(1)
    agent = create_agent(_model(), [lookup], middleware=[_fast(max_retries=1), flaky])
    out = await agent.ainvoke({"messages": [UserMessage(content="go")]})
    assert _answer(out).content == "found x"


def test_interrupts_pass_through_without_retry() -> None:
    calls = 0

    def handler(_request: ToolCallRequest) -> Any:
        nonlocal calls
        calls += 1
        raise GraphInterrupt()

    request = ToolCallRequest(
        tool_call={"name": "lookup", "args": {}, "id": "1", "type": "tool_call"},
        tool=lookup,
        state={"messages": []},
    )
    with pytest.raises(GraphInterrupt):
        _fast().wrap_tool_call(request, handler)
    assert calls == 1


def test_langchain_tool_exceptions_are_retried() -> None:
    lc = pytest.importorskip("langchain_core.messages")
    chat_models = pytest.importorskip("langchain_core.language_models.chat_models")
    from langchain_core.outputs import ChatGeneration, ChatResult
    from langchain_core.tools import tool as lc_tool

    class Caller(chat_models.BaseChatModel):  # type: ignore[misc,name-defined]
        turn: int = 0

        def _generate(self, messages: Any, stop: Any = None, **kwargs: Any) -> ChatResult:
            self.turn += 1
            calls = (
                [{"name": "broken", "args": {"value": "x"}, "id": "1"}] if self.turn == 1 else []
            )
            reply = lc.AIMessage(content="" if calls else "done", tool_calls=calls)
            return ChatResult(generations=[ChatGeneration(message=reply)])

        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

        @property
        def _llm_type(self) -> str:
            return "caller"

    attempts = 0

    @lc_tool
    def broken(value: str) -> str:
        """Always fails."""
        nonlocal attempts
        attempts += 1
        raise ValueError(f"broken {value}")

    agent = create_agent(Caller(), [broken], middleware=[_fast(max_retries=2)])
    out = agent.invoke({"messages": [lc.HumanMessage("go")]})
    [answer] = [m for m in out["messages"] if isinstance(m, lc.ToolMessage)]
    assert attempts == 3
    assert answer.status == "error"
    assert answer.content == (
        "Tool 'broken' failed after 3 attempts with ValueError: broken x. Please try again."
    )
