"""The structured answer of :func:`~hone.agents.create_agent`: which strategy a request
uses (the provider's native format when the model takes it), and what a reply gives under
it (the value, or the error tool message the model retries after)."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from hone.agents.middleware._calls import Call, tool_answer, tool_calls_of
from hone.agents.middleware._types import ModelResponse
from hone.agents.structured_output import (
    MultipleStructuredOutputsError,
    OutputToolBinding,
    ProviderStrategy,
    ProviderStrategyBinding,
    StructuredOutputError,
    StructuredOutputValidationError,
    ToolStrategy,
)
from hone.interop._messages import is_langchain_message
from hone.interop._model import is_langchain_chat_model

__all__ = [
    "STRUCTURED_OUTPUT_ERROR_TEMPLATE",
    "native_structured",
    "openai_compatible",
    "structured_result",
]

STRUCTURED_OUTPUT_ERROR_TEMPLATE = "Error: {error}\n Please fix your mistakes."

#: Model names known to support native structured output with tools (when a LangChain
#: chat model's profile does not say).
_NATIVE_STRUCTURED = (
    r"(^|[/:.])gpt-4o",
    r"(^|[/:.])gpt-4\.1",
    r"(^|[/:.])gpt-5",
    r"(^|[/:.])o[134](-|$)",
    r"(^|[/:.])grok-4($|[-.:/])",
    r"(^|[/:.])claude-(haiku|sonnet|opus)-4-[5-8]",
)


def _tool_message(like: Any, content: str, call: Call) -> Any:
    """A tool message answering ``call``, in ``like``'s family."""
    return tool_answer(content, call.id, call.name, langchain=is_langchain_message(like))


def _retry_text(error: Exception, response_format: Any) -> str | None:
    """The text the model reads to retry after ``error``, or None: no retry."""
    if not isinstance(response_format, ToolStrategy):
        return None
    handle = response_format.handle_errors
    default = STRUCTURED_OUTPUT_ERROR_TEMPLATE.format(error=str(error))
    if handle is False:
        return None
    if handle is True:
        return default
    if isinstance(handle, str):
        return handle
    if isinstance(handle, type):
        return default if isinstance(error, handle) else None
    if isinstance(handle, tuple):
        return default if isinstance(error, handle) else None
    return handle(error)


def structured_result(
    output: Any, response_format: Any, bindings: Mapping[str, OutputToolBinding[Any]]
) -> ModelResponse[Any]:
    """The response a reply makes under ``response_format`` (the strategy in effect).

    Raises:
        StructuredOutputError: a structured answer that does not fit, when the strategy
            does not let the model retry.
    """
    if isinstance(response_format, ProviderStrategy):
        if tool_calls_of(output):
            return ModelResponse([output])
        parser = ProviderStrategyBinding.from_schema_spec(response_format.schema_spec)
        try:
            value = parser.parse(output)
        except Exception as exc:
            name = getattr(response_format.schema_spec.schema, "__name__", "response_format")
            raise StructuredOutputValidationError(name, exc, output) from exc
        return ModelResponse([output], value)
    if not isinstance(response_format, ToolStrategy):
        return ModelResponse([output])
    structured = [c for c in tool_calls_of(output) if c.name in bindings]
    if not structured:
        return ModelResponse([output])
    error: StructuredOutputError
    if len(structured) > 1:
        error = MultipleStructuredOutputsError([c.name for c in structured], output)
        text = _retry_text(error, response_format)
        if text is None:
            raise error
        return ModelResponse([output, *(_tool_message(output, text, c) for c in structured)])
    call = structured[0]
    try:
        value = bindings[call.name].parse(call.args)
    except Exception as exc:
        error = StructuredOutputValidationError(call.name, exc, output)
        text = _retry_text(error, response_format)
        if text is None:
            raise error from exc
        return ModelResponse([output, _tool_message(output, text, call)])
    content = response_format.tool_message_content or f"Returning structured response: {value}"
    return ModelResponse([output, _tool_message(output, content, call)], value)


def native_structured(model: Any, tools: Sequence[Any]) -> bool:
    """Whether ``model`` takes a native structured-output format (alongside ``tools``).
    hone backends do: they take OpenAI's ``response_format`` (local models decode it with
    a grammar)."""
    if not is_langchain_chat_model(model):
        return True
    name = getattr(model, "model_name", None) or getattr(model, "model", None) or ""
    profile = getattr(model, "profile", None)
    if isinstance(profile, Mapping) and profile.get("structured_output"):
        lowered = str(name).lower()
        if not (tools and "gemini" in lowered and "gemini-3" not in lowered):
            return True
    return bool(name) and any(re.search(p, str(name).lower()) for p in _NATIVE_STRUCTURED)


def openai_compatible(model: Any) -> bool:
    return any(c.__name__ == "BaseChatOpenAI" for c in type(model).__mro__)
