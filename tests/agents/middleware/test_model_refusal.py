"""ModelRefusalMiddleware: explicit refusals (LangChain's refusal blocks and provider fields,
and the same fields kept on hone messages) become ModelRefusalError; other replies pass."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from langchain_core.exceptions import ModelRefusalError as LangChainModelRefusalError
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from pydantic import BaseModel

from hone.agents import create_agent
from hone.agents.middleware import (
    ModelFallbackMiddleware,
    ModelRefusalError,
    ModelRefusalMiddleware,
    ModelRequest,
    ModelResponse,
    ModelRetryMiddleware,
    wrap_model_call,
)
from hone.agents.structured_output import ProviderStrategy, StructuredOutputValidationError
from hone.messages import AssistantMessage, UserMessage
from hone.models import ScriptedModel

ANTHROPIC_REFUSAL = AIMessage(
    "I cannot help.",
    response_metadata={"stop_reason": "refusal", "model_provider": "anthropic"},
)


def _fake(*messages: AIMessage) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter(messages))


def _replying(message: AssistantMessage) -> Any:
    """A middleware whose model call answers with ``message`` (a hone reply with fields
    ScriptedModel cannot script)."""

    @wrap_model_call
    def reply(
        request: ModelRequest[Any], handler: Callable[[ModelRequest[Any]], ModelResponse[Any]]
    ) -> ModelResponse[Any]:
        handler(request)
        return ModelResponse(result=[message])

    return reply


def _areplying(message: AssistantMessage) -> Any:
    """Async :func:`_replying`."""

    @wrap_model_call
    async def reply(request: ModelRequest[Any], handler: Any) -> ModelResponse[Any]:
        await handler(request)
        return ModelResponse(result=[message])

    return reply


async def test_refusal_raises_only_with_the_middleware() -> None:
    inputs = {"messages": [HumanMessage("request")]}
    plain = create_agent(_fake(ANTHROPIC_REFUSAL))
    assert plain.invoke(inputs)["messages"][-1].content == "I cannot help."
    guarded = create_agent(_fake(ANTHROPIC_REFUSAL), middleware=[ModelRefusalMiddleware()])
    with pytest.raises(LangChainModelRefusalError) as caught:
        guarded.invoke(inputs)
    assert isinstance(caught.value, ModelRefusalError)
    assert str(caught.value) == "Model refused to produce the requested output"
    raw = caught.value.raw_message
    assert raw is not None
    assert raw.content == "I cannot help."
    assert caught.value.is_retryable is False
    again = create_agent(_fake(ANTHROPIC_REFUSAL), middleware=[ModelRefusalMiddleware()])
    with pytest.raises(ModelRefusalError):
        await again.ainvoke(inputs)


def test_refusal_block_text_is_in_the_message() -> None:
    message = AIMessage(content_blocks=[{"type": "refusal", "refusal": "blocked"}])
    agent = create_agent(_fake(message), middleware=[ModelRefusalMiddleware()])
    with pytest.raises(ModelRefusalError, match="output: blocked"):
        agent.invoke({"messages": [HumanMessage("request")]})


@pytest.mark.parametrize(
    "message",
    [AIMessage("done"), AIMessage(""), AIMessage("I cannot help with that question.")],
)
def test_non_refusals_pass(message: AIMessage) -> None:
    agent = create_agent(_fake(message), middleware=[ModelRefusalMiddleware()])
    out = agent.invoke({"messages": [HumanMessage("request")]})
    assert out["messages"][-1].content == message.content


def test_fallback_answers_a_refusal() -> None:
    refusal = AIMessage(content_blocks=[{"type": "refusal", "refusal": "blocked"}])
    agent = create_agent(
        _fake(refusal),
        middleware=[
            ModelFallbackMiddleware(_fake(AIMessage("fallback"))),
            ModelRefusalMiddleware(),
        ],
    )
    assert agent.invoke({"messages": [HumanMessage("q")]})["messages"][-1].content == "fallback"


def test_retry_does_not_retry_a_refusal() -> None:
    model = _fake(ANTHROPIC_REFUSAL, AIMessage("retried"))
    agent = create_agent(
        model, middleware=[ModelRetryMiddleware(max_retries=2), ModelRefusalMiddleware()]
    )
    with pytest.raises(ModelRefusalError):
        agent.invoke({"messages": [HumanMessage("q")]})


class _Answer(BaseModel):
    answer: str


class _Bindable(GenericFakeChatModel):
    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


def test_structured_output_failure_on_a_refusal_becomes_the_refusal() -> None:
    empty = AIMessage(
        content=[], response_metadata={"stop_reason": "refusal", "model_provider": "anthropic"}
    )
    inputs = {"messages": [HumanMessage("q")]}
    plain = create_agent(
        _Bindable(messages=iter([empty])), response_format=ProviderStrategy(_Answer)
    )
    with pytest.raises(StructuredOutputValidationError):
        plain.invoke(inputs)
    guarded = create_agent(
        _Bindable(messages=iter([empty])),
        response_format=ProviderStrategy(_Answer),
        middleware=[ModelRefusalMiddleware()],
    )
    with pytest.raises(ModelRefusalError):
        guarded.invoke(inputs)


def test_hone_reply_passes_and_kept_refusal_fields_raise() -> None:
    agent = create_agent(ScriptedModel(["fine"]), middleware=[ModelRefusalMiddleware()])
    assert agent.invoke({"messages": [UserMessage(content="q")]})["messages"][-1].content == "fine"
    refused = AssistantMessage(content="", extra={"additional_kwargs": {"refusal": "not allowed"}})
    agent = create_agent(
        ScriptedModel(["ignored"]), middleware=[ModelRefusalMiddleware(), _replying(refused)]
    )
    with pytest.raises(ModelRefusalError, match="not allowed") as caught:
        agent.invoke({"messages": [UserMessage(content="q")]})
    assert not isinstance(caught.value, LangChainModelRefusalError)
    assert caught.value.raw_message is refused


async def test_hone_reply_with_anthropic_stop_reason_raises_async() -> None:
    refused = AssistantMessage(
        content="no", extra={"response_metadata": {"stop_reason": "refusal"}}
    )
    agent = create_agent(
        ScriptedModel(["ignored"]), middleware=[ModelRefusalMiddleware(), _areplying(refused)]
    )
    with pytest.raises(ModelRefusalError) as caught:
        await agent.ainvoke({"messages": [UserMessage(content="q")]})
    assert str(caught.value).splitlines()[0] == "Model refused to produce the requested output"
