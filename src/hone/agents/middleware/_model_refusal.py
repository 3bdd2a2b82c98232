"""``ModelRefusalMiddleware``: treat a model's explicit refusal as an error instead of a final
answer (LangChain's ``ModelRefusalMiddleware``).

Providers report a refusal as a successful reply: Anthropic with ``stop_reason="refusal"``,
OpenAI with a ``refusal`` field, both as a ``refusal`` content block in LangChain's standard
blocks. Without this middleware the agent ends with that reply; with it, the model call
raises :class:`ModelRefusalError`, which an outer middleware (``ModelFallbackMiddleware``)
may handle. Text that merely sounds like a refusal ("I cannot help") is not one.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from hone.agents.middleware._base import AgentMiddleware
from hone.agents.middleware._types import ModelRequest, ModelResponse
from hone.agents.structured_output import StructuredOutputValidationError
from hone.errors import ModelError
from hone.graph._types import TracePolicy, omit_payload
from hone.interop._messages import is_langchain_message

__all__ = ["ModelRefusalError", "ModelRefusalMiddleware"]

_DEFAULT_TEXT = "Model refused to produce the requested output"


class ModelRefusalError(ModelError):
    """The model declined to produce the requested output.

    ``raw_message`` is the reply that held the refusal. Sending the same request again is
    unlikely to change the answer, so retry middleware does not retry it
    (``is_retryable = False``). When the reply is a LangChain message the error raised is
    also LangChain's ``langchain_core.exceptions.ModelRefusalError``.
    """

    is_retryable = False

    def __init__(self, message: str = _DEFAULT_TEXT, *, raw_message: Any = None) -> None:
        super().__init__(message)
        # Set after the base initializers: LangChain's (in the mixed class) resets it.
        self.raw_message = raw_message


def _error_text(refusal: Mapping[str, Any]) -> str:
    """The error's message: the default text, then the refusal's category and its text."""
    text = _DEFAULT_TEXT
    extras = refusal.get("extras")
    category = extras.get("category") if isinstance(extras, Mapping) else None
    if category:
        text += f" (category={category!r})"
    reason = refusal.get("refusal")
    if reason:
        text += f": {reason}"
    return text


@functools.cache
def _langchain_error_class() -> type[ModelRefusalError]:
    """hone's error that is also LangChain's ``ModelRefusalError`` (hone's alone when the
    installed langchain-core predates it)."""
    try:
        from langchain_core.exceptions import ModelRefusalError as LangChainModelRefusalError
    except ImportError:
        return ModelRefusalError
    return type(
        "ModelRefusalError",
        (ModelRefusalError, LangChainModelRefusalError),
        {"__module__": __name__, "__doc__": ModelRefusalError.__doc__},
    )


def _langchain_refusal(message: Any) -> Mapping[str, Any] | None:
    """The first ``refusal`` block of a LangChain message's standard content blocks."""
    for block in getattr(message, "content_blocks", None) or ():
        if isinstance(block, Mapping) and block.get("type") == "refusal":
            return block
    return None


def _hone_refusal(message: Any) -> Mapping[str, Any] | None:
    """A refusal carried by a hone message: a ``refusal`` block in its content, or the
    provider's refusal fields kept in ``extra`` (a ``refusal`` content block, OpenAI's
    ``refusal`` field, Anthropic's ``stop_reason``)."""
    content = getattr(message, "content", None)
    extra = getattr(message, "extra", None) or {}
    blocks = [*(content if isinstance(content, list | tuple) else ())]
    kept = extra.get("content")
    blocks.extend(kept if isinstance(kept, list) else ())
    for block in blocks:
        if isinstance(block, Mapping) and block.get("type") == "refusal":
            return block
    kwargs = extra.get("additional_kwargs")
    if isinstance(kwargs, Mapping) and kwargs.get("refusal"):
        return {"type": "refusal", "refusal": kwargs["refusal"]}
    metadata = extra.get("response_metadata")
    if isinstance(metadata, Mapping) and metadata.get("stop_reason") == "refusal":
        return {"type": "refusal"}
    return None


def _raise_if_refused(message: Any) -> None:
    """Raise :class:`ModelRefusalError` when ``message`` holds a refusal.

    Raises:
        ModelRefusalError: the message is a refusal (also LangChain's error for a
            LangChain message).
    """
    if message is None:
        return
    if is_langchain_message(message):
        refusal = _langchain_refusal(message)
        if refusal is not None:
            raise _langchain_error_class()(_error_text(refusal), raw_message=message)
        return
    refusal = _hone_refusal(message)
    if refusal is not None:
        raise ModelRefusalError(_error_text(refusal), raw_message=message)


def _checked(response: ModelResponse[Any]) -> ModelResponse[Any]:
    for message in response.result:
        _raise_if_refused(message)
    return response


class ModelRefusalMiddleware(AgentMiddleware[Any, Any, Any]):
    """Raise :class:`ModelRefusalError` when the model's reply is an explicit refusal.

    A structured answer that failed to parse because the model refused raises the refusal
    error instead of the parse error. Put this middleware after ``ModelFallbackMiddleware``
    (inside it) so the fallback sees the error. In a streamed run the refusal's text may
    already have been streamed when the error is raised. Requests are not retried and
    refusals are never guessed from the reply's text.
    """

    #: Hook runs record no input (the conversation, tool arguments), as LangChain's.
    trace_policy = TracePolicy(process_inputs=omit_payload)

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> ModelResponse[Any]:
        """The model's response, checked for a refusal.

        Raises:
            ModelRefusalError: the reply (or the reply a structured answer failed on) is a
                refusal.
        """
        try:
            response = handler(request)
        except StructuredOutputValidationError as exc:
            _raise_if_refused(exc.ai_message)
            raise
        return _checked(response)

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> ModelResponse[Any]:
        """Async :meth:`wrap_model_call`.

        Raises:
            ModelRefusalError: the reply (or the reply a structured answer failed on) is a
                refusal.
        """
        try:
            response = await handler(request)
        except StructuredOutputValidationError as exc:
            _raise_if_refused(exc.ai_message)
            raise
        return _checked(response)
