"""Token counters: how many tokens a conversation (and the tool schemas sent with it) costs.

For hone's local models (``TransformersModel``, the tiny model, and any wrapper around one:
recording, batching, bound models) the count is exact: the prompt the model's own chat
template makes of the request, tokenized by its tokenizer, generation prompt included. A
remote model (an OpenAI-compatible server, a LangChain chat model) exposes no tokenizer, so
its count is LangChain's approximation: characters / 4 plus 3 tokens per message, tool calls
and tool schemas counted by their JSON. Budget remote models with some slack.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from hone.messages import AnyMessage, AssistantMessage, text_of
from hone.models._protocol import ChatRequest

__all__ = ["ApproximateCounter", "ChatTemplateCounter", "TokenCounter", "token_counter"]


@runtime_checkable
class TokenCounter(Protocol):
    """Counts the tokens of a request's messages and tool schemas."""

    def count(self, messages: Sequence[AnyMessage], tools: Sequence[Mapping[str, Any]] = ()) -> int:
        """Tokens of the prompt ``messages`` and ``tools`` make."""
        ...


@dataclass(frozen=True, slots=True)
class ApproximateCounter:
    """LangChain's ``count_tokens_approximately``: ``ceil(chars / chars_per_token)`` plus
    ``tokens_per_message`` per message; tool calls, tool-call ids and tool schemas count by
    their JSON text."""

    chars_per_token: float = 4.0
    tokens_per_message: float = 3.0

    def count(self, messages: Sequence[AnyMessage], tools: Sequence[Mapping[str, Any]] = ()) -> int:
        """The approximate token count."""
        chars = 0
        for message in messages:
            chars += len(text_of(message.content)) + len(message.role)
            if isinstance(message, AssistantMessage):
                chars += len(message.reasoning or "")
                for call in message.tool_calls:
                    chars += len(call.name) + len(call.id) + len(json.dumps(call.arguments))
            tool_call_id = getattr(message, "tool_call_id", None)
            if tool_call_id:
                chars += len(tool_call_id)
        chars += sum(len(json.dumps(dict(t))) for t in tools)
        return math.ceil(chars / self.chars_per_token + self.tokens_per_message * len(messages))


class ChatTemplateCounter:
    """Exact counts with a local model's chat template and tokenizer (``encode_prompt``).

    Args:
        model: a backend with ``encode_prompt(request)``, or a wrapper (``.backend``)
            around one.

    Raises:
        TypeError: nothing in the chain can encode prompts.
    """

    def __init__(self, model: Any) -> None:
        encoder = _encoder_of(model)
        if encoder is None:
            raise TypeError(f"{model!r} exposes no chat template (no encode_prompt)")
        self._encode: Callable[[ChatRequest], Sequence[int]] = encoder

    def count(self, messages: Sequence[AnyMessage], tools: Sequence[Mapping[str, Any]] = ()) -> int:
        """The exact prompt length, generation prompt included."""
        request = ChatRequest(messages=tuple(messages), tools=tuple(tools))
        return len(self._encode(request))


def _encoder_of(model: Any) -> Callable[[ChatRequest], Sequence[int]] | None:
    seen: set[int] = set()
    while model is not None and id(model) not in seen:
        encode = getattr(model, "encode_prompt", None)
        if callable(encode):
            return encode  # type: ignore[no-any-return]
        seen.add(id(model))
        model = getattr(model, "backend", None)
    return None


def token_counter(model: Any = None) -> TokenCounter:
    """The counter for ``model``: its chat template when it has one (hone's local models and
    wrappers around them), else :class:`ApproximateCounter`."""
    if model is not None and _encoder_of(model) is not None:
        return ChatTemplateCounter(model)
    return ApproximateCounter()
