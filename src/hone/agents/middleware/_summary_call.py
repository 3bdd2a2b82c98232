"""The summary call of :class:`~hone.agents.middleware.SummarizationMiddleware`: asking the
summary model (a LangChain chat model through its retry runnable, a hone backend retried
here) or a user's ``summarizer`` (a function or runnable, sync or async) for the summary,
and which errors are worth a retry.
"""

from __future__ import annotations

import inspect
from typing import Any

from hone.agents.middleware._side_model import acomplete_text, complete_text, internal_config
from hone.errors import (
    CapabilityError,
    ConfigError,
    ModelAuthError,
    ModelNotFoundError,
)
from hone.errors import ContextOverflowError as HoneContextOverflowError
from hone.interop._model import is_langchain_chat_model
from hone.messages import UserMessage

__all__ = [
    "acall_summarizer",
    "amodel_summary",
    "call_summarizer",
    "checked",
    "is_model",
    "model_summary",
    "overflow_errors",
    "with_retry",
]

_SUMMARY_ATTEMPTS = 3


def _retryable(error: BaseException) -> bool:
    """Whether a failed summary call may succeed when repeated: not for an authentication,
    missing-model, capability or configuration error, nor for one a LangChain model marks
    as not retryable."""
    if not isinstance(error, Exception):
        return False
    if isinstance(
        error, ModelAuthError | ModelNotFoundError | CapabilityError | ConfigError | TypeError
    ):
        return False
    retryable = getattr(type(error), "is_retryable", None)
    if isinstance(retryable, bool) and type(error).__module__.startswith("langchain_core"):
        return retryable
    return True


def overflow_errors() -> tuple[type[BaseException], ...]:
    """The errors a model raises for a prompt too long for it: hone's, and LangChain's when
    LangChain is installed."""
    try:
        from langchain_core.exceptions import ContextOverflowError
    except ImportError:  # pragma: no cover - only LangChain models raise it
        return (HoneContextOverflowError,)
    return (HoneContextOverflowError, ContextOverflowError)


def with_retry(model: Any) -> Any:
    """What is called for a summary: a LangChain model wrapped in its retry runnable, a
    hone backend as it is (retried by :func:`model_summary`)."""
    if is_langchain_chat_model(model):
        return model.with_retry(
            retry_if_exception_type=_retryable, stop_after_attempt=_SUMMARY_ATTEMPTS
        )
    return model


def is_model(value: Any) -> bool:
    """Whether a ``summarizer`` is a chat model (LangChain's, or a hone backend) rather than
    a function of the messages."""
    if value is None or isinstance(value, str):
        return False
    return is_langchain_chat_model(value) or all(
        callable(getattr(value, m, None)) for m in ("complete", "stream")
    )


def checked(summary: object) -> str:
    """A summarizer's answer, stripped.

    Raises:
        TypeError: an answer that is not a string.
    """
    if not isinstance(summary, str):
        raise TypeError(f"`summarizer` must return a str, got {type(summary).__name__}.")
    return summary.strip()


def call_summarizer(summarizer: Any, messages: list[Any]) -> Any:
    """What ``summarizer`` (a runnable or a sync function) answers for ``messages``.

    Raises:
        TypeError: an async function, which cannot be called synchronously.
    """
    if hasattr(summarizer, "invoke"):
        return summarizer.invoke(messages, config=internal_config("summarization"))
    if inspect.iscoroutinefunction(summarizer):
        raise TypeError(
            "Cannot invoke a coroutine function synchronously: the summarizer is async; "
            "invoke the agent with ainvoke/astream, or pass a sync summarizer"
        )
    return summarizer(messages)


async def acall_summarizer(summarizer: Any, messages: list[Any]) -> Any:
    """Async :func:`call_summarizer` (a sync function is called as it is)."""
    if hasattr(summarizer, "ainvoke"):
        return await summarizer.ainvoke(messages, config=internal_config("summarization"))
    result = summarizer(messages)
    return await result if inspect.isawaitable(result) else result


def model_summary(model: Any, prompt: str) -> str:
    """``model``'s stripped answer to ``prompt``; a hone backend is retried (three attempts
    in all) unless the error cannot pass by repeating it or is a context overflow.

    Raises:
        Exception: the call's error once its retries are spent.
    """
    if hasattr(model, "invoke"):
        reply = model.invoke(prompt, config=internal_config("summarization"))
        return str(reply.text).strip()
    for attempt in range(1, _SUMMARY_ATTEMPTS + 1):
        try:
            return complete_text(model, [UserMessage(content=prompt)]).strip()
        except HoneContextOverflowError:
            raise
        except Exception as exc:
            if attempt == _SUMMARY_ATTEMPTS or not _retryable(exc):
                raise
    raise AssertionError("unreachable")  # pragma: no cover


async def amodel_summary(model: Any, prompt: str) -> str:
    """Async :func:`model_summary`."""
    if hasattr(model, "ainvoke"):
        reply = await model.ainvoke(prompt, config=internal_config("summarization"))
        return str(reply.text).strip()
    for attempt in range(1, _SUMMARY_ATTEMPTS + 1):
        try:
            text = await acomplete_text(model, [UserMessage(content=prompt)])
            return text.strip()
        except HoneContextOverflowError:
            raise
        except Exception as exc:
            if attempt == _SUMMARY_ATTEMPTS or not _retryable(exc):
                raise
    raise AssertionError("unreachable")  # pragma: no cover
