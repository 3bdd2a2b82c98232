"""``ModelFallbackMiddleware``: when the agent's model fails, try other models in turn
(LangChain's ``ModelFallbackMiddleware``).

A request may carry provider-specific prompt-cache settings an outer middleware put there
for the primary model: Anthropic's ``cache_control`` markers (in the model settings, in
content blocks, on tools), Fireworks' session-affinity header, OpenAI's
``prompt_cache_key``. A fallback from another provider may reject them, and the middleware
that added them does not run again, so each fallback attempt gets a copy of the request
without the settings its model does not accept (hone backends accept none of them). The
request itself is never changed, so every fallback starts from the original.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any

from hone.agents.middleware._base import AgentMiddleware
from hone.agents.middleware._retry import is_control_signal
from hone.agents.middleware._types import ModelRequest, ModelResponse
from hone.interop import resolve_model

__all__ = ["ModelFallbackMiddleware"]

logger = logging.getLogger(__name__)

#: LangChain ``_llm_type``s of chat models that speak Anthropic's API and so accept
#: ``cache_control`` markers: Anthropic itself, Claude on Bedrock, Claude on Vertex AI.
_ANTHROPIC_LLM_TYPES = frozenset(
    {"anthropic-chat", "anthropic-bedrock-chat", "anthropic-chat-vertexai"}
)
_FIREWORKS_LLM_TYPE = "fireworks-chat"
#: Chat models that take ``prompt_cache_key``.
_CACHE_KEY_LLM_TYPES = frozenset({_FIREWORKS_LLM_TYPE, "openai-chat", "azure-openai-chat"})
_AFFINITY_HEADER = "x-session-affinity"
_CACHE_CONTROL = "cache_control"
#: Where a content block may nest a cache marker.
_NESTED_KEYS = ("extras", "metadata")


def _llm_type(model: Any) -> str | None:
    """A LangChain chat model's ``_llm_type`` when it is a string; None otherwise (hone
    backends have none)."""
    value = getattr(model, "_llm_type", None)
    return value if isinstance(value, str) else None


def _supports_anthropic_cache_control(model: Any) -> bool:
    """Whether ``model`` accepts Anthropic's ``cache_control`` markers."""
    return _llm_type(model) in _ANTHROPIC_LLM_TYPES


def _supports_fireworks_prompt_cache(model: Any) -> bool:
    """Whether ``model`` accepts Fireworks' session-affinity header."""
    return _llm_type(model) == _FIREWORKS_LLM_TYPE


def _supports_prompt_cache_key(model: Any) -> bool:
    """Whether ``model`` accepts ``prompt_cache_key``."""
    return _llm_type(model) in _CACHE_KEY_LLM_TYPES


def _without_marker(payload: dict[str, Any]) -> dict[str, Any]:
    """``payload`` without ``cache_control`` (``payload`` itself when it has none)."""
    if _CACHE_CONTROL not in payload:
        return payload
    return {k: v for k, v in payload.items() if k != _CACHE_CONTROL}


def _clean_block(block: dict[str, Any]) -> dict[str, Any]:
    """A content block without cache markers, on itself or in its ``extras`` /
    ``metadata`` (``block`` itself when it has none)."""
    cleaned = _without_marker(block)
    for key in _NESTED_KEYS:
        nested = cleaned.get(key)
        if isinstance(nested, dict) and _CACHE_CONTROL in nested:
            cleaned = {**cleaned, key: _without_marker(nested)}
    return cleaned


def _clean_content(content: Any) -> Any:
    """Message content without cache markers in its dict blocks (``content`` itself when
    it has none)."""
    if not isinstance(content, list):
        return content
    cleaned = [_clean_block(b) if isinstance(b, dict) else b for b in content]
    return content if all(a is b for a, b in zip(cleaned, content, strict=True)) else cleaned


def _clean_message(message: Any) -> Any:
    """A message without cache markers in its content (``message`` itself when it has none)."""
    if message is None:
        return None
    content = getattr(message, "content", None)
    cleaned = _clean_content(content)
    return message if cleaned is content else message.model_copy(update={"content": cleaned})


def _clean_tool(tool: Any) -> Any:
    """A tool without cache markers: a dict payload's own and in its ``extras``, a tool
    object's in its ``extras`` (emptied ``extras`` become None). ``tool`` itself when it
    has none."""
    if isinstance(tool, dict):
        cleaned = _without_marker(tool)
        extras = cleaned.get("extras")
        if isinstance(extras, dict) and _CACHE_CONTROL in extras:
            cleaned = {**cleaned, "extras": _without_marker(extras) or None}
        return cleaned
    extras = getattr(tool, "extras", None)
    if not isinstance(extras, Mapping) or _CACHE_CONTROL not in extras:
        return tool
    remaining = {k: v for k, v in extras.items() if k != _CACHE_CONTROL}
    return tool.model_copy(update={"extras": remaining or None})


def _clean_settings(settings: dict[str, Any], model: Any) -> dict[str, Any]:
    """The model settings ``model`` accepts (``settings`` itself when all of them)."""
    cleaned = settings
    if not _supports_anthropic_cache_control(model):
        cleaned = _without_marker(cleaned)
    headers = cleaned.get("extra_headers")
    if not _supports_fireworks_prompt_cache(model) and isinstance(headers, Mapping):
        kept = {
            k: v
            for k, v in headers.items()
            if not (isinstance(k, str) and k.lower() == _AFFINITY_HEADER)
        }
        if len(kept) != len(headers):
            cleaned = {k: v for k, v in cleaned.items() if k != "extra_headers"}
            if kept:
                cleaned["extra_headers"] = kept
    if not _supports_prompt_cache_key(model) and "prompt_cache_key" in cleaned:
        cleaned = {k: v for k, v in cleaned.items() if k != "prompt_cache_key"}
    return cleaned


def _sanitize_request_for_fallback(
    request: ModelRequest[Any], fallback_model: Any = None
) -> ModelRequest[Any]:
    """``request`` without the prompt-cache settings ``fallback_model`` does not accept.
    Only the fields that change are copied; ``request`` itself when none does."""
    changes: dict[str, Any] = {}
    settings = _clean_settings(request.model_settings, fallback_model)
    if settings is not request.model_settings:
        changes["model_settings"] = settings
    if not _supports_anthropic_cache_control(fallback_model):
        system_message = _clean_message(request.system_message)
        if system_message is not request.system_message:
            changes["system_message"] = system_message
        messages = [_clean_message(m) for m in request.messages]
        if any(a is not b for a, b in zip(messages, request.messages, strict=True)):
            changes["messages"] = messages
        tools = [_clean_tool(t) for t in request.tools]
        if any(a is not b for a, b in zip(tools, request.tools, strict=True)):
            changes["tools"] = tools
    if not changes:
        return request
    # The names of the fields only: their content may hold prompts or personal data.
    logger.debug("removed prompt-cache settings from %s for a fallback model", sorted(changes))
    return request.override(**changes)


class ModelFallbackMiddleware(AgentMiddleware[Any, Any, Any]):
    """Try other models, in order, when the agent's model fails.

    The agent's own model is called first; on an exception each fallback is tried in
    turn (with the request's prompt-cache settings it does not accept removed) until one
    answers. When every model fails, the last failure is raised. Graph control signals
    (interrupts) always pass through.

    Args:
        first_model: the first fallback: a LangChain chat model, a hone backend, or a model
            spec string (``"openai:gpt-4.1"``) resolved by
            :func:`~hone.interop.resolve_model`.
        *additional_models: further fallbacks, in order.

    Raises:
        ModelSpecError: a spec string that names no model.
    """

    def __init__(self, first_model: Any, *additional_models: Any) -> None:
        self.models: list[Any] = [
            resolve_model(m) if isinstance(m, str) else m for m in (first_model, *additional_models)
        ]

    def _attempts(self, request: ModelRequest[Any]) -> Iterator[ModelRequest[Any]]:
        """The request, then one per fallback. Each is made only when it is needed, and
        outside the model call's ``try``: a failure to make it is not a model failure."""
        yield request
        for model in self.models:
            yield _sanitize_request_for_fallback(request, model).override(model=model)

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> Any:
        """The first answer of the agent's model, then of each fallback.

        Raises:
            Exception: the last model's failure, when every model failed.
        """
        failures: list[Exception] = []
        for attempt in self._attempts(request):
            try:
                return handler(attempt)
            except Exception as exc:
                if is_control_signal(exc):
                    raise
                failures.append(exc)
        raise failures[-1]

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> Any:
        """Async :meth:`wrap_model_call`.

        Raises:
            Exception: the last model's failure, when every model failed.
        """
        failures: list[Exception] = []
        for attempt in self._attempts(request):
            try:
                return await handler(attempt)
            except Exception as exc:
                if is_control_signal(exc):
                    raise
                failures.append(exc)
        raise failures[-1]
