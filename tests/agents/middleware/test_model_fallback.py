"""ModelFallbackMiddleware: trying fallback models in turn when the agent's model fails
(instances and model specs), removing prompt-cache settings a fallback does not accept, and
letting interrupts through."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hone.agents import create_agent
from hone.agents.middleware import (
    ModelFallbackMiddleware,
    ModelRequest,
    ModelResponse,
    wrap_model_call,
)
from hone.agents.middleware._model_fallback import _sanitize_request_for_fallback
from hone.errors import ModelSpecError
from hone.graph import GraphInterrupt
from hone.messages import UserMessage
from hone.models import ChatRequest, ScriptedModel


def _failing(text: str) -> ScriptedModel:
    def reply(_request: ChatRequest) -> str:
        raise RuntimeError(text)

    return ScriptedModel([reply], when_exhausted="cycle")


def test_needs_a_model_and_keeps_instances() -> None:
    with pytest.raises(TypeError):
        ModelFallbackMiddleware()  # type: ignore[call-arg]
    first, second = ScriptedModel(["a"]), ScriptedModel(["b"])
    assert ModelFallbackMiddleware(first, second).models == [first, second]


def test_primary_answer_is_kept() -> None:
    fallback = ScriptedModel(["fallback"])
    agent = create_agent(ScriptedModel(["primary"]), middleware=[ModelFallbackMiddleware(fallback)])
    assert (
        agent.invoke({"messages": [UserMessage(content="hi")]})["messages"][-1].content == "primary"
    )
    assert fallback.calls == 0


def test_fallbacks_are_tried_in_order() -> None:
    last = ScriptedModel(["third"])
    middleware = ModelFallbackMiddleware(_failing("second down"), last)
    agent = create_agent(_failing("primary down"), middleware=[middleware])
    out = agent.invoke({"messages": [UserMessage(content="hi")]})
    assert out["messages"][-1].content == "third"


def test_last_failure_is_raised_when_all_fail() -> None:
    middleware = ModelFallbackMiddleware(_failing("one down"), _failing("two down"))
    agent = create_agent(_failing("primary down"), middleware=[middleware])
    with pytest.raises(RuntimeError, match="two down"):
        agent.invoke({"messages": [UserMessage(content="hi")]})


async def test_async_fallback() -> None:
    agent = create_agent(
        _failing("down"), middleware=[ModelFallbackMiddleware(ScriptedModel(["rescued"]))]
    )
    out = await agent.ainvoke({"messages": [UserMessage(content="hi")]})
    assert out["messages"][-1].content == "rescued"


def test_spec_strings_resolve_to_hone_backends(tmp_path: Path) -> None:
    module = tmp_path / "fallback_model.py"
    module.write_text("from hone.models import ScriptedModel\nMODEL = ScriptedModel(['spec'])\n")
    middleware = ModelFallbackMiddleware(f"{module}:MODEL")
    assert isinstance(middleware.models[0], ScriptedModel)
    agent = create_agent(_failing("down"), middleware=[middleware])
    assert agent.invoke({"messages": [UserMessage(content="hi")]})["messages"][-1].content == "spec"
    with pytest.raises(ModelSpecError):
        ModelFallbackMiddleware(str(tmp_path / "missing.py:MODEL"))


def test_cache_settings_a_hone_fallback_rejects_are_removed() -> None:
    @wrap_model_call
    def add_cache(
        request: ModelRequest[Any], handler: Callable[[ModelRequest[Any]], ModelResponse[Any]]
    ) -> ModelResponse[Any]:
        return handler(request.override(model_settings={"cache_control": {"type": "ephemeral"}}))

    fallback = ScriptedModel(["clean"])
    # The primary hone model rejects the Anthropic setting; the fallback never sees it.
    agent = create_agent(
        ScriptedModel(["unused"]), middleware=[add_cache, ModelFallbackMiddleware(fallback)]
    )
    assert (
        agent.invoke({"messages": [UserMessage(content="hi")]})["messages"][-1].content == "clean"
    )


def test_interrupts_pass_through() -> None:
    calls = 0

    def handler(_request: ModelRequest[Any]) -> ModelResponse[Any]:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise ValueError("try the fallback")
        raise GraphInterrupt()

    middleware = ModelFallbackMiddleware(ScriptedModel(["a"]), ScriptedModel(["b"]))
    with pytest.raises(GraphInterrupt):
        middleware.wrap_model_call(ModelRequest(model=ScriptedModel(["p"]), messages=[]), handler)
    assert calls == 2


def _cached_request(model: Any) -> ModelRequest[Any]:
    lc = pytest.importorskip("langchain_core.messages")
    marker = {"type": "ephemeral"}
    return ModelRequest(
        model=model,
        messages=[
            lc.HumanMessage(
                content=[
                    {"type": "text", "text": "q", "cache_control": marker},
                    {"type": "text", "text": "d", "metadata": {"s": 1, "cache_control": marker}},
                ]
            )
        ],
        system_message=lc.SystemMessage(
            content=[{"type": "text", "text": "p", "cache_control": marker}]
        ),
        tools=[{"name": "t", "cache_control": marker, "extras": {"cache_control": marker}}],
        model_settings={
            "temperature": 0.3,
            "cache_control": marker,
            "prompt_cache_key": "k",
            "extra_headers": {"X-Session-Affinity": "a", "X-Request-ID": "r"},
        },
    )


def test_sanitizing_for_a_hone_backend_removes_every_cache_setting() -> None:
    request = _cached_request(ScriptedModel(["p"]))
    clean = _sanitize_request_for_fallback(request, ScriptedModel(["f"]))
    assert clean.model_settings == {"temperature": 0.3, "extra_headers": {"X-Request-ID": "r"}}
    assert clean.system_message.content == [{"type": "text", "text": "p"}]
    assert clean.messages[0].content == [
        {"type": "text", "text": "q"},
        {"type": "text", "text": "d", "metadata": {"s": 1}},
    ]
    assert clean.tools == [{"name": "t", "extras": None}]
    assert "cache_control" in request.model_settings  # the original is untouched
    assert "cache_control" in request.messages[0].content[0]


def test_sanitizing_keeps_what_the_fallback_accepts() -> None:
    fake = pytest.importorskip("langchain_core.language_models.fake_chat_models")

    class Anthropic(fake.GenericFakeChatModel):  # type: ignore[misc,name-defined]
        @property
        def _llm_type(self) -> str:
            return "anthropic-chat"

    request = _cached_request(ScriptedModel(["p"]))
    kept = _sanitize_request_for_fallback(request, Anthropic(messages=iter([])))
    assert kept.messages is request.messages and kept.tools is request.tools
    assert "cache_control" in kept.model_settings and "prompt_cache_key" not in kept.model_settings
    plain: ModelRequest[Any] = ModelRequest(
        model=ScriptedModel(["p"]), messages=[UserMessage(content="hi")]
    )
    assert _sanitize_request_for_fallback(plain, ScriptedModel(["f"])) is plain
