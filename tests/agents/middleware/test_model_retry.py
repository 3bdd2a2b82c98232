"""ModelRetryMiddleware (and the shared retry rules): retrying failed model calls with
backoff, which failures are retried, and what a run gets when the retries run out."""

from __future__ import annotations

from typing import Any

import pytest

from hone.agents import create_agent
from hone.agents.middleware import ModelRequest, ModelResponse, ModelRetryMiddleware
from hone.agents.middleware._retry import calculate_delay, default_retry_on
from hone.errors import ModelAuthError, ModelConnectionError
from hone.graph import GraphInterrupt
from hone.messages import AssistantMessage, UserMessage
from hone.models import ChatRequest, ScriptedModel


def _flaky(failures: int, error: type[Exception] = ValueError) -> ScriptedModel:
    """A model that raises ``error`` ``failures`` times, then answers "ok"."""
    seen = {"n": 0}

    def reply(_request: ChatRequest) -> str:
        seen["n"] += 1
        if seen["n"] <= failures:
            raise error(f"failure {seen['n']}")
        return "ok"

    return ScriptedModel([reply], when_exhausted="cycle")


def _fast(**kwargs: Any) -> ModelRetryMiddleware:
    return ModelRetryMiddleware(initial_delay=0, jitter=False, **kwargs)


def test_defaults_and_validation() -> None:
    retry = ModelRetryMiddleware()
    assert (retry.max_retries, retry.on_failure, retry.backoff_factor) == (2, "continue", 2.0)
    assert (retry.initial_delay, retry.max_delay, retry.jitter, retry.tools) == (
        1.0,
        60.0,
        True,
        [],
    )
    for name in ("max_retries", "initial_delay", "max_delay", "backoff_factor"):
        with pytest.raises(ValueError, match=f"{name} must be >= 0"):
            ModelRetryMiddleware(**{name: -1})  # type: ignore[arg-type]


def test_delay_grows_caps_and_jitters() -> None:
    delays = [
        calculate_delay(n, backoff_factor=10.0, initial_delay=1.0, max_delay=2.0, jitter=False)
        for n in range(3)
    ]
    assert delays == [1.0, 2.0, 2.0]
    assert (
        calculate_delay(5, backoff_factor=0.0, initial_delay=0.3, max_delay=9, jitter=False) == 0.3
    )
    jittered = {
        calculate_delay(0, backoff_factor=1.0, initial_delay=1.0, max_delay=60.0, jitter=True)
        for _ in range(20)
    }
    assert len(jittered) > 1 and all(0.75 <= d <= 1.25 for d in jittered)


def test_default_retry_on_skips_errors_retrying_cannot_fix() -> None:
    assert default_retry_on(ValueError("x"))
    assert default_retry_on(ModelConnectionError("down"))
    assert not default_retry_on(ModelAuthError("bad key"))
    assert not default_retry_on(KeyboardInterrupt())

    class Marked(Exception):
        is_retryable = False

    assert not default_retry_on(Marked())


def test_recovers_after_failures() -> None:
    model = _flaky(2)
    agent = create_agent(model, middleware=[_fast(max_retries=2)])
    out = agent.invoke({"messages": [UserMessage(content="hi")]})
    assert out["messages"][-1].content == "ok"


def test_exhausted_retries_answer_with_a_message() -> None:
    agent = create_agent(_flaky(10), middleware=[_fast(max_retries=2)])
    out = agent.invoke({"messages": [UserMessage(content="hi")]})
    last = out["messages"][-1]
    assert isinstance(last, AssistantMessage)
    assert last.content == "Model call failed after 3 attempts with ValueError: failure 3"


def test_zero_retries_and_custom_text() -> None:
    agent = create_agent(
        _flaky(10), middleware=[_fast(max_retries=0, on_failure=lambda e: f"sorry: {e}")]
    )
    out = agent.invoke({"messages": [UserMessage(content="hi")]})
    assert out["messages"][-1].content == "sorry: failure 1"


def test_on_failure_error_reraises_and_rejected_failures_propagate_at_once() -> None:
    agent = create_agent(_flaky(10), middleware=[_fast(on_failure="error")])
    with pytest.raises(ValueError, match="failure 3"):
        agent.invoke({"messages": [UserMessage(content="hi")]})
    model = _flaky(10, error=KeyError)
    agent = create_agent(model, middleware=[_fast(retry_on=(ValueError,))])
    with pytest.raises(KeyError, match="failure 1"):
        agent.invoke({"messages": [UserMessage(content="hi")]})
    assert model.calls == 1


def test_interrupts_pass_through_without_retry() -> None:
    calls = 0

    def handler(_request: ModelRequest[Any]) -> ModelResponse[Any]:
        nonlocal calls
        calls += 1
        raise GraphInterrupt()

    with pytest.raises(GraphInterrupt):
        _fast().wrap_model_call(ModelRequest(model=ScriptedModel(["x"]), messages=[]), handler)
    assert calls == 1


async def test_async_retries_then_answers() -> None:
    agent = create_agent(_flaky(1), middleware=[_fast(max_retries=1)])
    out = await agent.ainvoke({"messages": [UserMessage(content="hi")]})
    assert out["messages"][-1].content == "ok"
    agent = create_agent(_flaky(5), middleware=[_fast(max_retries=1)])
    out = await agent.ainvoke({"messages": [UserMessage(content="hi")]})
    assert out["messages"][-1].content.startswith("Model call failed after 2 attempts")


def test_langchain_model_gets_a_langchain_failure_message() -> None:
    lc = pytest.importorskip("langchain_core.messages")
    chat_models = pytest.importorskip("langchain_core.language_models.chat_models")

    class Failing(chat_models.BaseChatModel):  # type: ignore[misc,name-defined]
        attempts: int = 0

        def _generate(self, messages: Any, stop: Any = None, **kwargs: Any) -> Any:
            self.attempts += 1
            raise RuntimeError("provider down")

        @property
        def _llm_type(self) -> str:
            return "failing"

    model = Failing()
    agent = create_agent(model, middleware=[_fast(max_retries=1)])
    out = agent.invoke({"messages": [lc.HumanMessage("hi")]})
    last = out["messages"][-1]
    assert isinstance(last, lc.AIMessage)
    assert last.content == "Model call failed after 2 attempts with RuntimeError: provider down"
    assert model.attempts == 2
