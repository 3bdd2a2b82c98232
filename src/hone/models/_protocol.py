"""The one small protocol every model backend implements, and the values it exchanges.

A backend takes a :class:`ChatRequest` (messages, tool schemas, sampling options) and returns a
:class:`Completion`: the parsed assistant message plus everything training needs when the
backend can give it (exact prompt and sampled token ids, per-token logprobs).

The protocol is async at its core; :func:`complete_sync` is the thin sync shell.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, Protocol, TypeAlias, runtime_checkable

from hone.messages import AnyMessage, AssistantMessage, MessageLike, to_messages

__all__ = [
    "ChatRequest",
    "Completion",
    "FinishReason",
    "ModelBackend",
    "SamplingOptions",
    "StreamEvent",
    "TokenLogprob",
    "ToolChoice",
    "Usage",
    "complete_sync",
    "make_request",
]

FinishReason: TypeAlias = Literal["stop", "length", "tool_calls", "content_filter", "error"]
#: Whether the model may, must or must not call tools, or which one it must call: "auto",
#: "none", "required", or ``{"type": "function", "function": {"name": ...}}`` (OpenAI's shape).
ToolChoice: TypeAlias = Literal["auto", "none", "required"] | Mapping[str, Any]


@dataclass(frozen=True, slots=True)
class SamplingOptions:
    """How to sample. ``None`` means the backend's default."""

    max_tokens: int = 512
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int | None = None
    stop: tuple[str, ...] = ()
    seed: int | None = None
    #: Ask for per-token logprobs of the sampled tokens.
    logprobs: bool = False
    #: Ask for the exact prompt and sampled token ids.
    return_token_ids: bool = False
    #: Passed to the chat template (Qwen3-style ``enable_thinking``); None leaves it out.
    enable_thinking: bool | None = None
    #: After this many reasoning tokens, close the reasoning and go on with the answer.
    thinking_budget: int | None = None
    #: With ``logprobs``: also the this many most likely tokens at each position (OpenAI's
    #: ``top_logprobs``); None for none.
    top_logprobs: int | None = None

    def with_(self, **changes: Any) -> SamplingOptions:
        """A copy with some fields changed."""
        return replace(self, **changes)


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One conversation to complete."""

    messages: tuple[AnyMessage, ...]
    #: Tool schemas in OpenAI function format: {"type": "function", "function": {...}}.
    tools: tuple[Mapping[str, Any], ...] = ()
    options: SamplingOptions = field(default_factory=SamplingOptions)
    #: Whether and which tools the model must call (OpenAI's ``tool_choice``).
    tool_choice: ToolChoice = "auto"
    #: Whether the model may call several tools in one turn.
    parallel_tool_calls: bool = True
    #: The shape the reply must have, in OpenAI's ``response_format`` shape:
    #: ``{"type": "json_schema", "json_schema": {"name", "schema", "strict"}}``,
    #: ``{"type": "json_object"}`` or None (free text).
    response_format: Mapping[str, Any] | None = None


def make_request(
    messages: Sequence[MessageLike] | MessageLike,
    *,
    tools: Sequence[Mapping[str, Any]] = (),
    options: SamplingOptions | None = None,
) -> ChatRequest:
    """A :class:`ChatRequest` from anything message-like."""
    return ChatRequest(
        messages=tuple(to_messages(messages)),
        tools=tuple(tools),
        options=options or SamplingOptions(),
    )


@dataclass(frozen=True, slots=True)
class Usage:
    """Token counts of one call."""

    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.completion_tokens


@dataclass(frozen=True, slots=True)
class TokenLogprob:
    """One sampled token as OpenAI's ``logprobs.content`` entries show it: its text, its raw
    logprob and (when ``SamplingOptions.top_logprobs`` asks) the most likely tokens there."""

    #: The token's text (a piece of a multi-byte character decodes to U+FFFD).
    token: str
    logprob: float
    #: The token id, when the backend knows it.
    token_id: int | None = None
    #: The most likely tokens at this position, most likely first (empty unless asked for).
    top: tuple[TokenLogprob, ...] = ()


@dataclass(frozen=True, slots=True)
class Completion:
    """What one model call produced.

    ``message`` is the parsed turn (text, reasoning, tool calls). ``parse_errors`` are tool-call
    parse failures phrased for the model; the agent loop shows them to it. Token ids and
    logprobs are ``None`` when the backend cannot give them.
    """

    message: AssistantMessage
    #: The raw generated text, before parsing (empty if the backend only gives parsed output).
    text: str = ""
    finish_reason: FinishReason = "stop"
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    parse_errors: tuple[str, ...] = ()
    prompt_token_ids: tuple[int, ...] | None = None
    token_ids: tuple[int, ...] | None = None
    #: Log-probability of each sampled token under the model (raw logits, before temperature
    #: or top-p, as vLLM reports by default); shape (len(token_ids),)
    logprobs: tuple[float, ...] | None = None
    #: With ``SamplingOptions.logprobs``: each sampled token's text, logprob and top
    #: alternatives, for OpenAI-shaped ``logprobs``; None when not asked for or not given.
    token_logprobs: tuple[TokenLogprob, ...] | None = None
    #: The version of the policy (weights or adapter) that generated this completion, when the
    #: backend knows it; recorded on every :class:`~hone.trajectory.ModelCall` so a trainer can
    #: tell how stale a sample is.
    policy_version: int | str | None = None
    #: The reply as the backend's own library returned it (a LangChain chat model's
    #: ``AIMessage``), or None. hone's LangChain-facing surfaces give it back unchanged while
    #: ``message`` is still the message it converts to (see
    #: :func:`~hone.interop.from_langchain`); not part of the completion's value (equality).
    native: Any = field(default=None, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class StreamEvent:
    """One streamed piece of a completion: a text/reasoning delta, or the final completion."""

    kind: Literal["text", "reasoning", "done"]
    delta: str = ""
    completion: Completion | None = None
    #: With ``SamplingOptions.logprobs``: the tokens this delta was decoded from (backends
    #: that cannot tell leave it empty; the ``done`` completion has them all).
    logprobs: tuple[TokenLogprob, ...] = ()


@runtime_checkable
class ModelBackend(Protocol):
    """A chat model. Implementations: OpenAI-compatible server, local Transformers, scripted."""

    @property
    def name(self) -> str:
        """A short name for logs and trajectories (the model id)."""
        ...

    async def complete(self, request: ChatRequest) -> Completion:
        """Complete one conversation."""
        ...

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """Complete many conversations; local backends batch them into one generate call."""
        ...

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Complete one conversation, yielding deltas and finally a ``done`` event."""
        ...


def complete_sync(backend: ModelBackend, request: ChatRequest) -> Completion:
    """Run ``backend.complete`` from synchronous code (also from inside a running event loop)."""
    from hone._sync import run_sync

    return run_sync(backend.complete(request))
