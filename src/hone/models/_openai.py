"""A model backend for any server that speaks the OpenAI chat-completions API.

That covers OpenAI itself, vLLM, SGLang, llama.cpp, Ollama and ``hone serve``. Sampling options
the OpenAI API lacks (``top_k``, token ids, ``enable_thinking``, a thinking budget) go in the
request body the way vLLM reads them. Tool calls come from the server's native ``tool_calls``
when it parses them, and otherwise from the reply text (Hermes ``<tool_call>`` blocks, or
the format ``parser=`` names), so a server started without a tool parser still works. A reply
cut off at the token limit (``finish_reason == "length"``) is parsed as truncated: a tool
call it cuts is reported to the model, never repaired and run. ``response_format``, ``tool_choice`` and
``parallel_tool_calls`` go to the server as they are; the reply is checked against them the
same way local replies are (a misfit is a parse error, for the model to see).

Retries with exponential backoff and timeouts are the ``openai`` SDK's; SDK exceptions become
:mod:`hone.errors` exceptions that say what to check.
"""

from __future__ import annotations

import asyncio
import logging
import os
import weakref
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, cast

import openai
from openai import AsyncOpenAI

from hone.errors import (
    ContextOverflowError,
    ModelAuthError,
    ModelConnectionError,
    ModelError,
    ModelNotFoundError,
)
from hone.messages import to_openai
from hone.models._chat import ChatSurface
from hone.models._protocol import (
    ChatRequest,
    Completion,
    FinishReason,
    StreamEvent,
    TokenLogprob,
    Usage,
)
from hone.models._structured import output_format, reply_problems, tool_requirement
from hone.parsing import ParseFormat, Parser, parse_openai_tool_calls, resolve_parser

__all__ = ["OpenAICompatibleModel"]

logger = logging.getLogger(__name__)

_FINISH_REASONS: dict[str, FinishReason] = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
    "error": "error",
}
_CONTEXT_MARKERS = ("context length", "context_length", "context window", "maximum context")


class OpenAICompatibleModel(ChatSurface):
    """A :class:`~hone.models.ModelBackend` for an OpenAI-compatible chat-completions server.

    Args:
        model: the model id the server serves.
        base_url: the API root, e.g. ``http://localhost:8000/v1``; ``None`` means OpenAI.
        api_key: the key; defaults to ``OPENAI_API_KEY``. Local servers without auth need none.
        timeout: seconds before one HTTP attempt gives up.
        max_retries: retries (with exponential backoff) on connection errors, 408, 409, 429, 5xx.
        extra_body: fields added to every request body (server-specific options).
        max_concurrency: at most this many requests in flight in :meth:`complete_batch`.
        parser: how the reply *text* is read when the server sends no native ``tool_calls``
            (a server without a tool parser): a name from :func:`hone.parsing.parser_names`
            or a parser function. Default: Hermes ``<tool_call>`` blocks.
        policy_version: the version of the policy ``model`` serves, recorded on every
            :class:`~hone.models.Completion` (``None``: unknown). :meth:`serve_policy` changes
            both at once, as a policy publisher does after loading a new adapter.

    Raises:
        ModelAuthError: no key is given or set for OpenAI's own API.
        ConfigError: ``parser`` is not a known name or a parser function.
    """

    def __init__(
        self,
        model: str,
        *,
        base_url: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        max_retries: int = 2,
        extra_body: Mapping[str, Any] | None = None,
        max_concurrency: int = 16,
        parser: ParseFormat | Parser | None = None,
        policy_version: int | str | None = None,
    ) -> None:
        key = api_key if api_key is not None else os.environ.get("OPENAI_API_KEY")
        if not key:
            if base_url is None:
                raise ModelAuthError(
                    "no API key for the OpenAI API: pass api_key=... or set OPENAI_API_KEY"
                )
            key = "EMPTY"  # servers without auth ignore it; the SDK needs a value
        self._model = model
        self._policy_version = policy_version
        self._base_url = base_url
        self._api_key = key
        self._timeout = timeout
        self._max_retries = max_retries
        self._extra_body = dict(extra_body or {})
        self._max_concurrency = max(1, max_concurrency)
        self._parser = resolve_parser(parser) if parser is not None else None
        official = base_url is None or "api.openai.com" in base_url
        # OpenAI deprecated max_tokens; other servers may only know max_tokens.
        self._max_tokens_key = "max_completion_tokens" if official else "max_tokens"
        self._clients: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, AsyncOpenAI] = (
            weakref.WeakKeyDictionary()
        )

    def __getstate__(self) -> dict[str, Any]:
        """The settings without the HTTP clients, so the backend pickles (Ray rollout
        workers get a copy that opens its own connections)."""
        state = dict(self.__dict__)
        state.pop("_clients", None)
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._clients = weakref.WeakKeyDictionary()

    @property
    def name(self) -> str:
        """The model id."""
        return self._model

    @property
    def policy_version(self) -> int | str | None:
        """The version of the policy requests go to now (``None``: unknown)."""
        return self._policy_version

    def serve_policy(self, model: str, policy_version: int | str | None) -> None:
        """Send every later request to ``model`` (e.g. a LoRA adapter's name on vLLM) and
        record ``policy_version`` on its completions. Requests already sent keep theirs."""
        # Requests read the pair once, when they start, so each completion carries the
        # version of the model it was actually sent to.
        self._model, self._policy_version = model, policy_version

    @property
    def parser_name(self) -> str:
        """How reply text without native tool calls is parsed (``"hermes"`` by default)."""
        return self._parser[0] if self._parser is not None else "hermes"

    @property
    def base_url(self) -> str:
        """The API root this backend talks to."""
        return self._base_url or "https://api.openai.com/v1"

    async def complete(self, request: ChatRequest) -> Completion:
        """Complete one conversation.

        Raises:
            ModelConnectionError, ModelAuthError, ModelNotFoundError, ContextOverflowError,
            ModelError: the server could not be reached or refused the request.
        """
        client = self._client()
        model, version = self._model, self._policy_version
        try:
            response = await client.chat.completions.create(
                **self._body(request, model), stream=False
            )
        except openai.OpenAIError as exc:
            raise await self._translate(exc, model) from exc
        return self._completion(_raw_from_response(response), request, model, version)

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """Complete many conversations with concurrent requests (``max_concurrency`` at once)."""
        limit = asyncio.Semaphore(self._max_concurrency)

        async def one(request: ChatRequest) -> Completion:
            async with limit:
                return await self.complete(request)

        return list(await asyncio.gather(*(one(r) for r in requests)))

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Stream one completion: text and reasoning deltas, then ``done`` with the full result.

        Tool calls arrive in the final :class:`~hone.models.Completion` only.
        """
        client = self._client()
        state = _StreamState()
        model, version = self._model, self._policy_version
        try:
            chunks = await client.chat.completions.create(
                **self._body(request, model),
                stream=True,
                stream_options={"include_usage": True},
            )
            async for chunk in chunks:
                for event in state.feed(chunk):
                    yield event
        except openai.OpenAIError as exc:
            raise await self._translate(exc, model) from exc
        completion = self._completion(state.raw, request, model, version)
        yield StreamEvent(kind="done", completion=completion)

    async def list_models(self) -> list[str]:
        """The ids of the models the server serves (``GET /models``)."""
        try:
            page = await self._client().models.list()
        except openai.OpenAIError as exc:
            raise await self._translate(exc, self._model) from exc
        return [m.id for m in page.data]

    def request_body(self, request: ChatRequest) -> dict[str, Any]:
        """The keyword arguments for ``chat.completions.create`` that ``request`` maps to."""
        return self._body(request, self._model)

    def _body(self, request: ChatRequest, model: str) -> dict[str, Any]:
        opts = request.options
        body: dict[str, Any] = {
            "model": model,
            "messages": [to_openai(m) for m in request.messages],
            "temperature": opts.temperature,
            "top_p": opts.top_p,
            self._max_tokens_key: opts.max_tokens,
        }
        if request.tools:
            # OpenAI rejects tool_choice and parallel_tool_calls without tools.
            body["tools"] = [dict(t) for t in request.tools]
            if request.tool_choice != "auto":
                choice = request.tool_choice
                body["tool_choice"] = choice if isinstance(choice, str) else dict(choice)
            if not request.parallel_tool_calls:
                body["parallel_tool_calls"] = False
        if request.response_format is not None:
            body["response_format"] = dict(request.response_format)
        if opts.stop:
            body["stop"] = list(opts.stop)
        if opts.seed is not None:
            body["seed"] = opts.seed
        if opts.logprobs:
            body["logprobs"] = True
            if opts.top_logprobs:
                body["top_logprobs"] = opts.top_logprobs
        extra = dict(self._extra_body)
        if opts.top_k is not None:
            extra["top_k"] = opts.top_k
        if opts.return_token_ids:
            extra["return_token_ids"] = True
        if opts.enable_thinking is not None:
            kwargs = dict(extra.get("chat_template_kwargs") or {})
            extra["chat_template_kwargs"] = {**kwargs, "enable_thinking": opts.enable_thinking}
        if opts.thinking_budget is not None:
            extra["thinking_token_budget"] = opts.thinking_budget
        if extra:
            body["extra_body"] = extra
        return body

    async def aclose(self) -> None:
        """Close the HTTP client of the running event loop, if one was opened."""
        client = self._clients.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.close()

    def _client(self) -> AsyncOpenAI:
        # An httpx connection pool belongs to the event loop that opened it, and sync callers
        # run each call on a fresh loop, so keep one client per loop.
        loop = asyncio.get_running_loop()
        client = self._clients.get(loop)
        if client is None:
            client = AsyncOpenAI(
                api_key=self._api_key,
                base_url=self._base_url,
                timeout=self._timeout,
                max_retries=self._max_retries,
            )
            self._clients[loop] = client
        return client

    def _completion(
        self, raw: _Raw, request: ChatRequest, model: str, version: int | str | None
    ) -> Completion:
        finish = _FINISH_REASONS.get(raw.finish_reason or "stop", "stop")
        cut = finish == "length"
        if self._parser is not None and not raw.tool_calls:
            # A server with no tool parser: the calls are in the text, in the chosen format.
            parsed = self._parser[1](raw.content, tools=request.tools, truncated=cut)
        else:
            # Native tool_calls, else the text's Hermes <tool_call> blocks.
            parsed = parse_openai_tool_calls(raw.tool_calls or None, raw.content, truncated=cut)
        message = parsed.to_message()
        if raw.reasoning:
            message = message.model_copy(update={"reasoning": raw.reasoning})
        if message.tool_calls and finish == "stop":
            finish = "tool_calls"
        if request.options.return_token_ids and raw.token_ids is None:
            logger.warning("%s returned no token ids; is it vLLM >= 0.10.2?", self.base_url)
        problems = reply_problems(
            message,
            fmt=output_format(request.response_format),
            tools=tool_requirement(
                request.tool_choice, request.tools, parallel=request.parallel_tool_calls
            ),
            truncated=cut,
        )
        return Completion(
            message=message,
            text=raw.content,
            finish_reason=finish,
            usage=raw.usage,
            model=raw.model or model,
            parse_errors=parsed.errors + problems,
            prompt_token_ids=_ints(raw.prompt_token_ids),
            token_ids=_ints(raw.token_ids),
            logprobs=tuple(raw.logprobs) if raw.logprobs is not None else None,
            token_logprobs=tuple(raw.token_logprobs) if raw.token_logprobs is not None else None,
            policy_version=version,
        )

    async def _translate(self, exc: openai.OpenAIError, model: str) -> ModelError:
        url = self.base_url
        if isinstance(exc, openai.APITimeoutError):
            return ModelConnectionError(f"the model server at {url} did not answer in time ({exc})")
        if isinstance(exc, openai.APIConnectionError):
            return ModelConnectionError(
                f"cannot reach the model server at {url} ({str(exc).rstrip('.')}); "
                "is it running, and is the URL right?"
            )
        if isinstance(exc, openai.AuthenticationError | openai.PermissionDeniedError):
            return ModelAuthError(
                f"the model server at {url} refused the API key ({exc.status_code}); "
                "check the API key / OPENAI_API_KEY"
            )
        if isinstance(exc, openai.NotFoundError):
            return ModelNotFoundError(await self._not_found_message(exc, model))
        if isinstance(exc, openai.APIStatusError):
            text = f"{exc.message} {exc.code or ''}".lower()
            if exc.status_code in (400, 413) and any(m in text for m in _CONTEXT_MARKERS):
                return ContextOverflowError(
                    f"the prompt does not fit the context window of {model!r}: {exc.message}"
                )
            return ModelError(
                f"the model server at {url} answered {exc.status_code}: {exc.message}"
            )
        return ModelError(f"the model server at {url} failed: {exc}")

    async def _not_found_message(self, exc: openai.NotFoundError, model: str) -> str:
        head = f"the server at {self.base_url} does not serve model {model!r} ({exc.message})"
        try:
            page = await self._client().models.list()
        except openai.OpenAIError:
            return f"{head}; check the model name, and that base_url ends in /v1"
        served = ", ".join(sorted(m.id for m in page.data)) or "none"
        return f"{head}; it serves: {served}"


@dataclass
class _Raw:
    """A reply as the server sent it, before parsing."""

    content: str = ""
    reasoning: str | None = None
    #: Tool calls in OpenAI format: {"id", "type", "function": {"name", "arguments"}}.
    tool_calls: list[dict[str, Any]] = field(default_factory=list)
    finish_reason: str | None = None
    usage: Usage = field(default_factory=Usage)
    model: str = ""
    logprobs: list[float] | None = None
    token_logprobs: list[TokenLogprob] | None = None
    token_ids: list[Any] | None = None
    prompt_token_ids: list[Any] | None = None


def _raw_from_response(response: Any) -> _Raw:
    """A non-streamed ``ChatCompletion`` as a :class:`_Raw`."""
    raw = _Raw(model=response.model or "", usage=_usage(response.usage))
    raw.prompt_token_ids = _extra(response).get("prompt_token_ids")
    if not response.choices:
        return raw
    choice = response.choices[0]
    message = choice.message
    raw.content = message.content or ""
    raw.reasoning = _reasoning(message)
    raw.tool_calls = [tc.model_dump(exclude_none=True) for tc in message.tool_calls or ()]
    raw.finish_reason = choice.finish_reason
    raw.token_ids = _extra(choice).get("token_ids")
    if choice.logprobs is not None and choice.logprobs.content is not None:
        raw.logprobs = [t.logprob for t in choice.logprobs.content]
        raw.token_logprobs = [_token_logprob(t) for t in choice.logprobs.content]
    return raw


class _StreamState:
    """Accumulates ``chat.completion.chunk`` objects into one :class:`_Raw`."""

    def __init__(self) -> None:
        self.raw = _Raw()
        self._calls: dict[int, dict[str, Any]] = {}

    def feed(self, chunk: Any) -> list[StreamEvent]:
        """Take one chunk; return the deltas it carries as events."""
        raw = self.raw
        raw.model = chunk.model or raw.model
        prompt_ids = _extra(chunk).get("prompt_token_ids")
        if prompt_ids is not None:
            raw.prompt_token_ids = prompt_ids
        if chunk.usage is not None:
            raw.usage = _usage(chunk.usage)
        events: list[StreamEvent] = []
        for choice in chunk.choices:
            if choice.index != 0:
                continue
            events.extend(self._feed_choice(choice))
        raw.tool_calls = [self._calls[i] for i in sorted(self._calls)]
        return events

    def _feed_choice(self, choice: Any) -> list[StreamEvent]:
        raw, delta, events = self.raw, choice.delta, []
        reasoning = _reasoning(delta)
        if reasoning:
            raw.reasoning = (raw.reasoning or "") + reasoning
            events.append(StreamEvent(kind="reasoning", delta=reasoning))
        if delta.content:
            raw.content += delta.content
            events.append(StreamEvent(kind="text", delta=delta.content))
        for call in delta.tool_calls or ():
            slot = self._calls.setdefault(
                call.index,
                {"id": "", "type": "function", "function": {"name": "", "arguments": ""}},
            )
            slot["id"] = call.id or slot["id"]
            if call.function is not None:
                slot["function"]["name"] += call.function.name or ""
                slot["function"]["arguments"] += call.function.arguments or ""
        entries: tuple[TokenLogprob, ...] = ()
        if choice.logprobs is not None and choice.logprobs.content is not None:
            entries = tuple(_token_logprob(t) for t in choice.logprobs.content)
            raw.logprobs = (raw.logprobs or []) + [t.logprob for t in entries]
            raw.token_logprobs = (raw.token_logprobs or []) + list(entries)
        if entries:
            # The entries ride on this chunk's delta (or on their own when it has none).
            if events:
                events[-1] = replace(events[-1], logprobs=entries)
            else:
                events.append(StreamEvent(kind="text", delta="", logprobs=entries))
        token_ids = _extra(choice).get("token_ids")
        if token_ids is not None:
            raw.token_ids = (raw.token_ids or []) + list(token_ids)
        if choice.finish_reason is not None:
            raw.finish_reason = choice.finish_reason
        return events


def _token_logprob(entry: Any) -> TokenLogprob:
    """An SDK ``ChatCompletionTokenLogprob`` (or a top-logprob entry) as a TokenLogprob."""
    top = tuple(_token_logprob(t) for t in getattr(entry, "top_logprobs", None) or ())
    token = str(entry.token)
    # vLLM's return_tokens_as_token_ids names tokens "token_id:<id>".
    token_id = int(token[9:]) if token.startswith("token_id:") and token[9:].isdigit() else None
    return TokenLogprob(token=token, logprob=float(entry.logprob), token_id=token_id, top=top)


def _extra(obj: Any) -> dict[str, Any]:
    """Fields the SDK's models do not declare (vLLM's token ids, reasoning)."""
    return cast(dict[str, Any], getattr(obj, "model_extra", None) or {})


def _reasoning(obj: Any) -> str | None:
    extra = _extra(obj)
    value = extra.get("reasoning_content") or extra.get("reasoning")
    return value if isinstance(value, str) and value else None


def _usage(usage: Any) -> Usage:
    if usage is None:
        return Usage()
    return Usage(
        prompt_tokens=usage.prompt_tokens or 0, completion_tokens=usage.completion_tokens or 0
    )


def _ints(values: list[Any] | None) -> tuple[int, ...] | None:
    return tuple(int(v) for v in values) if values is not None else None
