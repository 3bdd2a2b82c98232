"""Model-call spans (``chat {model}``), put on every backend's ``complete``,
``complete_batch`` and ``stream`` by :class:`~hone.models.ChatSurface` when a class is defined.

One logical call is one span. Wrappers nest (``RecordingModel(BoundModel(BatchingModel(
TransformersModel)))``): the outermost call starts the span and makes it current; a call made
inside it by the same task (a wrapper passing the request on) adds no span but writes its own
request's attributes over the outer ones, so the span shows what the innermost backend was
asked (a binding's tools and temperature, a recorder's seed). Batched calls made inside a
call (``BatchingModel`` sending a batch from its own task) add nothing. A top-level
``complete_batch`` gives one span per request.

Attributes follow the GenAI conventions' inference span: ``gen_ai.operation.name="chat"``,
``gen_ai.provider.name`` (``openai`` for :class:`~hone.models.OpenAICompatibleModel`, whose
requests also carry ``server.address`` / ``server.port`` and span kind CLIENT; ``hone`` with
kind INTERNAL for in-process backends), the request's model and sampling settings, and the
reply's model, finish reason, token usage and, when the backend knows it, the policy version
that generated it (``hone.policy.version``, over the one :func:`~hone.observability.policy_version`
set). Content (``gen_ai.input.messages``,
``gen_ai.output.messages``, ``gen_ai.tool.definitions``) only when capture is on.
"""

from __future__ import annotations

import functools
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any, TypeAlias
from urllib.parse import urlsplit

from opentelemetry.trace import Span, SpanKind, Tracer
from opentelemetry.util.types import AttributeValue

from hone.observability._config import active_tracer, capture_content
from hone.observability._content import input_messages, output_messages, tool_definitions
from hone.observability._spans import (
    OPERATION,
    POLICY_VERSION,
    PROVIDER,
    attach,
    context_attributes,
    end_with_error,
    json_attribute,
)

if TYPE_CHECKING:
    from hone.models._protocol import ChatRequest, Completion, StreamEvent

__all__ = ["annotate_model_call", "trace_backend_methods"]

Complete: TypeAlias = "Callable[[Any, ChatRequest], Awaitable[Completion]]"
CompleteBatch: TypeAlias = "Callable[[Any, Sequence[ChatRequest]], Awaitable[list[Completion]]]"
Stream: TypeAlias = "Callable[[Any, ChatRequest], AsyncIterator[StreamEvent]]"


class _Call:
    """The span of the model call running in this context (None inside a batch)."""

    __slots__ = ("span",)

    def __init__(self, span: Span | None) -> None:
        self.span = span


#: The logical model call this context is inside, if any.
_ACTIVE: ContextVar[_Call | None] = ContextVar("hone_model_call", default=None)


def _leaf(model: Any) -> Any:
    """The backend at the end of a chain of wrappers (``.backend``)."""
    seen: set[int] = set()
    while id(model) not in seen:
        seen.add(id(model))
        inner = getattr(model, "backend", None)
        if inner is None:
            return model
        model = inner
    return model


def _provider(model: Any) -> tuple[str, SpanKind, dict[str, AttributeValue]]:
    """The provider name, span kind and server attributes of ``model``'s innermost backend:
    one that talks to a server over HTTP (an OpenAI-compatible client) is ``openai``."""
    base_url = getattr(_leaf(model), "base_url", None)
    if not isinstance(base_url, str):
        return "hone", SpanKind.INTERNAL, {}
    server: dict[str, AttributeValue] = {}
    parts = urlsplit(base_url)
    if parts.hostname:
        server["server.address"] = parts.hostname
        port = parts.port or (443 if parts.scheme == "https" else 80)
        server["server.port"] = port
    return "openai", SpanKind.CLIENT, server


def _request_attributes(model: Any, request: ChatRequest) -> dict[str, AttributeValue]:
    options = request.options
    attributes: dict[str, AttributeValue] = {
        "gen_ai.request.model": model.name,
        "gen_ai.request.max_tokens": options.max_tokens,
        "gen_ai.request.temperature": options.temperature,
        "gen_ai.request.top_p": options.top_p,
    }
    if options.top_k is not None:
        attributes["gen_ai.request.top_k"] = float(options.top_k)
    if options.seed is not None:
        attributes["gen_ai.request.seed"] = options.seed
    if options.stop:
        attributes["gen_ai.request.stop_sequences"] = list(options.stop)
    if request.response_format is not None:
        attributes["gen_ai.output.type"] = "json"
    if capture_content():
        attributes["gen_ai.input.messages"] = json_attribute(input_messages(request.messages))
        if request.tools:
            attributes["gen_ai.tool.definitions"] = json_attribute(tool_definitions(request.tools))
    return attributes


def _start(tracer: Tracer, model: Any, request: ChatRequest, *, stream: bool = False) -> Span:
    provider, kind, server = _provider(model)
    attributes: dict[str, AttributeValue] = {OPERATION: "chat", PROVIDER: provider, **server}
    attributes.update(_request_attributes(model, request))
    attributes.update(context_attributes())
    if stream:
        attributes["gen_ai.request.stream"] = True
    return tracer.start_span(f"chat {model.name}", kind=kind, attributes=attributes)


def _finish(span: Span, completion: Completion) -> None:
    attributes: dict[str, AttributeValue] = {
        "gen_ai.response.finish_reasons": [completion.finish_reason],
        "gen_ai.usage.input_tokens": completion.usage.prompt_tokens,
        "gen_ai.usage.output_tokens": completion.usage.completion_tokens,
    }
    if completion.model:
        attributes["gen_ai.response.model"] = completion.model
    if completion.parse_errors:
        attributes["hone.response.parse_errors"] = len(completion.parse_errors)
    if completion.policy_version is not None:  # the backend knows its weights' version
        attributes[POLICY_VERSION] = completion.policy_version
    if capture_content():
        attributes["gen_ai.output.messages"] = json_attribute(
            output_messages(completion.message, completion.finish_reason)
        )
    span.set_attributes(attributes)


def _refine(call: _Call, model: Any, request: ChatRequest) -> None:
    """A wrapper passed the request on: record what the inner backend was asked."""
    if call.span is not None and call.span.is_recording():
        call.span.set_attributes(_request_attributes(model, request))


def annotate_model_call(attributes: Mapping[str, AttributeValue]) -> None:
    """Add ``attributes`` to the span of the model call running in this context (a recorder
    tagging the call with its episode); does nothing outside a traced call."""
    call = _ACTIVE.get()
    if call is not None and call.span is not None and call.span.is_recording():
        call.span.set_attributes(attributes)


def _traced_complete(own: Complete) -> Complete:
    @functools.wraps(own)
    async def complete(self: Any, request: ChatRequest) -> Completion:
        tracer = active_tracer()
        if tracer is None:
            return await own(self, request)
        outer = _ACTIVE.get()
        if outer is not None:
            _refine(outer, self, request)
            return await own(self, request)
        span = _start(tracer, self, request)
        token = _ACTIVE.set(_Call(span))
        try:
            with attach(span):
                completion = await own(self, request)
            _finish(span, completion)
            return completion
        except BaseException as exc:
            end_with_error(span, exc)
            raise
        finally:
            _ACTIVE.reset(token)
            span.end()

    return complete


def _traced_complete_batch(own: CompleteBatch) -> CompleteBatch:
    @functools.wraps(own)
    async def complete_batch(self: Any, requests: Sequence[ChatRequest]) -> list[Completion]:
        tracer = active_tracer()
        if tracer is None or _ACTIVE.get() is not None:
            return await own(self, requests)
        spans = [_start(tracer, self, r) for r in requests]
        token = _ACTIVE.set(_Call(None))  # calls inside belong to the batch: no spans
        try:
            completions = await own(self, requests)
            for span, completion in zip(spans, completions, strict=False):
                _finish(span, completion)
            return completions
        except BaseException as exc:
            for span in spans:
                end_with_error(span, exc)
            raise
        finally:
            _ACTIVE.reset(token)
            for span in spans:
                span.end()

    return complete_batch


def _traced_stream(own: Stream) -> Stream:
    @functools.wraps(own)
    def stream(self: Any, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        if active_tracer() is None:
            return own(self, request)
        return _stream(self, own, request)

    return stream


async def _stream(model: Any, own: Stream, request: ChatRequest) -> AsyncIterator[StreamEvent]:
    tracer = active_tracer()
    outer = _ACTIVE.get()
    if tracer is None or outer is not None:
        if outer is not None:
            _refine(outer, model, request)
        async for event in own(model, request):
            yield event
        return
    span = _start(tracer, model, request, stream=True)
    call = _Call(span)
    started = time.perf_counter()
    first = True
    iterator: AsyncIterator[StreamEvent] | None = None
    try:
        while True:
            # The call is current only while the backend works (inside ``__anext__``), never
            # while the consumer holds an event: a context set across a ``yield`` would leak
            # into the consumer's code.
            token = _ACTIVE.set(call)
            try:
                with attach(span):
                    if iterator is None:
                        iterator = aiter(own(model, request))
                    event = await anext(iterator)
            except StopAsyncIteration:
                break
            finally:
                _ACTIVE.reset(token)
            if first:
                span.set_attribute(
                    "gen_ai.response.time_to_first_chunk", time.perf_counter() - started
                )
                first = False
            if event.kind == "done" and event.completion is not None:
                _finish(span, event.completion)
            yield event
    except GeneratorExit:  # the consumer stopped reading: not a failure
        raise
    except BaseException as exc:
        end_with_error(span, exc)
        raise
    finally:
        closer = getattr(iterator, "aclose", None)
        if closer is not None:
            await closer()
        span.end()


def trace_backend_methods(cls: type) -> None:
    """Put model-call spans on the ``complete``, ``complete_batch`` and ``stream`` that
    ``cls`` defines itself (inherited ones are already traced)."""
    own = cls.__dict__
    wrappers: dict[str, Callable[[Any], Any]] = {
        "complete": _traced_complete,
        "complete_batch": _traced_complete_batch,
        "stream": _traced_stream,
    }
    for name, wrap in wrappers.items():
        method = own.get(name)
        if method is None or not callable(method) or getattr(method, "_hone_traced", False):
            continue
        if getattr(method, "_chat_surface", False):
            continue  # the surface's own dispatcher around an already traced method
        traced = wrap(method)
        traced._hone_traced = True
        setattr(cls, name, traced)
