"""LangChain's chat-model surface on every hone model backend.

:class:`ChatSurface` is mixed into every backend and wrapper (``ScriptedModel``,
``OpenAICompatibleModel``, ``TransformersModel``, ``BatchingModel``, ``RecordingModel``,
``LangChainModel``, and the bound models ``bind_tools`` returns), so code written for a
LangChain chat model reads the same with a hone model::

    reply = model.invoke("What is 2 + 2?")                 # an AssistantMessage
    reply = model.invoke([HumanMessage("What is 2 + 2?")])  # a LangChain AIMessage
    for chunk in model.stream("Tell me a story"): ...
    llm = model.bind_tools([search], tool_choice="search")

Input is a string, a list of message-likes of either family (hone messages, LangChain
messages, OpenAI dicts, ``(role, text)`` tuples, strings) or a LangChain ``PromptValue``.
The reply's family follows the input: LangChain messages in give a LangChain ``AIMessage``
(``AIMessageChunk`` when streaming) out; anything else gives hone's ``AssistantMessage``
(``AssistantMessageChunk``). Chunks add up with ``+`` to the whole message.

``stream`` is also the name of the backend protocol's method: called with a
:class:`~hone.models.ChatRequest` it is the protocol's async event stream, called with
anything else it is LangChain's sync chunk iterator.
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import functools
import queue
import threading
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from hone._sync import run_sync
from hone.errors import ConfigError, ModelError
from hone.interop._messages import (
    from_langchain,
    is_langchain_message,
)
from hone.messages import (
    AnyMessage,
    AssistantMessage,
    AssistantMessageChunk,
    SystemMessage,
    ToolMessage,
    UserMessage,
    to_message,
)
from hone.models._chat_reply import ChunkMaker, Family, langchain_reply
from hone.models._protocol import ChatRequest, Completion, SamplingOptions
from hone.observability._models import trace_backend_methods

if TYPE_CHECKING:
    from hone.models._bound import BoundModel
    from hone.models._chat_output import StructuredModel

__all__ = [
    "ChatSurface",
    "Family",
    "ModelInput",
    "iterate_sync",
    "read_input",
    "sampling_changes",
]

#: What ``invoke`` takes: a string, a sequence of message-likes, or a LangChain PromptValue.
ModelInput: TypeAlias = str | Sequence[Any] | Any
_OPTION_NAMES = frozenset(f.name for f in dataclasses.fields(SamplingOptions))
_HONE = (SystemMessage, UserMessage, AssistantMessage, ToolMessage, AssistantMessageChunk)


def read_input(value: ModelInput) -> tuple[list[AnyMessage], Family]:
    """The hone messages of a model input, and the family the reply should have.

    Raises:
        ConfigError: the value is not a model input; the message says what is accepted.
    """
    if isinstance(value, str):
        return [UserMessage(content=value)], "hone"
    to_messages = getattr(value, "to_messages", None)
    if callable(to_messages) and not isinstance(value, Sequence | Mapping):
        value = list(to_messages())  # a LangChain PromptValue
    if is_langchain_message(value) or isinstance(value, (*_HONE, Mapping, tuple)):
        value = [value]
    if not isinstance(value, Sequence):
        raise ConfigError(
            f"cannot read a model input of type {type(value).__name__}; pass a string, a list "
            "of messages (hone's or LangChain's, dicts, (role, text) tuples) or a PromptValue"
        )
    family: Family = "langchain" if any(is_langchain_message(v) for v in value) else "hone"
    try:
        messages = [from_langchain(v) if is_langchain_message(v) else to_message(v) for v in value]
    except ValueError as exc:
        raise ConfigError(f"cannot read the model input: {exc}") from exc
    return messages, family


def sampling_changes(stop: Sequence[str] | None, kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """``SamplingOptions`` changes from LangChain-style call arguments.

    Raises:
        ConfigError: an argument that is not a sampling option; the message lists them.
    """
    unknown = sorted(set(kwargs) - _OPTION_NAMES)
    if unknown:
        raise ConfigError(
            f"unknown model call argument(s) {', '.join(unknown)}; hone models take the "
            f"sampling options {', '.join(sorted(_OPTION_NAMES))} (and stop=[...])"
        )
    changes = dict(kwargs)
    if "stop" in changes:
        changes["stop"] = tuple(changes["stop"] or ())
    if stop is not None:
        changes["stop"] = tuple(stop)
    return changes


def iterate_sync(make: Callable[[], AsyncIterator[Any]]) -> Iterator[Any]:
    """A sync iterator over an async one, run on its own loop in a worker thread (with the
    caller's context variables); items arrive as they are produced."""
    items: queue.Queue[tuple[str, Any]] = queue.Queue()
    closed = threading.Event()

    async def pump() -> None:
        try:
            async for item in make():
                items.put(("item", item))
                if closed.is_set():
                    return
        except BaseException as exc:  # handed to the consumer, who raises it
            items.put(("error", exc))
            return
        items.put(("end", None))

    context = contextvars.copy_context()
    worker = threading.Thread(target=context.run, args=(asyncio.run, pump()), daemon=True)
    worker.start()
    try:
        while True:
            kind, value = items.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        closed.set()


class ChatSurface:
    """LangChain's chat-model methods on a hone :class:`~hone.models.ModelBackend`.

    Mixed into every backend; it uses only the protocol (``complete``, ``complete_batch``,
    ``stream``, ``name``). ``config`` arguments (LangChain's ``RunnableConfig``) are accepted
    for compatibility; only ``max_concurrency`` is read (by ``batch``). Other keyword
    arguments are sampling options (``temperature=0``, ``max_tokens=64``, ``stop=[...]``).
    """

    if TYPE_CHECKING:

        @property
        def name(self) -> str: ...

        async def complete(self, request: ChatRequest) -> Completion: ...

        async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]: ...

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        trace_backend_methods(cls)  # model-call spans (hone.observability)
        own = cls.__dict__.get("stream")
        if own is None or getattr(own, "_chat_surface", False):
            return

        @functools.wraps(own)
        def stream(self: ChatSurface, input: Any, *args: Any, **kwargs: Any) -> Any:
            if isinstance(input, ChatRequest):
                return own(self, input, *args, **kwargs)
            return self._surface_stream(input, *args, **kwargs)

        stream._chat_surface = True  # type: ignore[attr-defined]
        cls.stream = stream  # type: ignore[attr-defined]

    # -- hooks a bound model overrides ----------------------------------------------------

    def _surface_prepare(self, request: ChatRequest, changes: Mapping[str, Any]) -> ChatRequest:
        """The request to send for one call (a bound model applies its binding here)."""
        if not changes:
            return request
        return dataclasses.replace(request, options=request.options.with_(**changes))

    def _surface_target(self) -> Any:
        """The backend that answers calls made through the surface."""
        return self

    def _surface_request(
        self, input: ModelInput, stop: Sequence[str] | None, kwargs: Mapping[str, Any]
    ) -> tuple[ChatRequest, Family]:
        messages, family = read_input(input)
        request = ChatRequest(messages=tuple(messages), options=SamplingOptions())
        return self._surface_prepare(request, sampling_changes(stop, kwargs)), family

    @staticmethod
    def _surface_reply(completion: Completion, family: Family) -> Any:
        return langchain_reply(completion) if family == "langchain" else completion.message

    # -- invoke / batch --------------------------------------------------------------------

    async def ainvoke(
        self,
        input: ModelInput,
        config: Mapping[str, Any] | None = None,
        *,
        stop: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Complete one conversation; the reply's family follows the input's."""
        request, family = self._surface_request(input, stop, kwargs)
        completion = await self._surface_target().complete(request)
        return self._surface_reply(completion, family)

    def invoke(
        self,
        input: ModelInput,
        config: Mapping[str, Any] | None = None,
        *,
        stop: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> Any:
        """The synchronous :meth:`ainvoke`."""
        return run_sync(self.ainvoke(input, config, stop=stop, **kwargs))

    async def abatch(
        self,
        inputs: Sequence[ModelInput],
        config: Mapping[str, Any] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        """Complete many conversations: one ``complete_batch`` call (a local model generates
        them together), in groups of ``config["max_concurrency"]`` when given. With
        ``return_exceptions`` each conversation runs on its own and a failure is returned in
        its place instead of raised."""
        stop = kwargs.pop("stop", None)
        prepared = [self._surface_request(i, stop, kwargs) for i in inputs]
        requests = [request for request, _ in prepared]
        target = self._surface_target()
        results: list[Any]
        if return_exceptions:
            results = list(
                await asyncio.gather(
                    *(target.complete(r) for r in requests), return_exceptions=True
                )
            )
        else:
            size = int((config or {}).get("max_concurrency") or len(requests) or 1)
            results = []
            for start in range(0, len(requests), size):
                results.extend(await target.complete_batch(requests[start : start + size]))
        return [
            r if isinstance(r, BaseException) else self._surface_reply(r, family)
            for r, (_, family) in zip(results, prepared, strict=True)
        ]

    def batch(
        self,
        inputs: Sequence[ModelInput],
        config: Mapping[str, Any] | None = None,
        *,
        return_exceptions: bool = False,
        **kwargs: Any,
    ) -> list[Any]:
        """The synchronous :meth:`abatch`."""
        return run_sync(self.abatch(inputs, config, return_exceptions=return_exceptions, **kwargs))

    # -- streaming -------------------------------------------------------------------------

    async def astream(
        self,
        input: ModelInput,
        config: Mapping[str, Any] | None = None,
        *,
        stop: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[Any]:
        """Stream one reply as chunks (``AIMessageChunk`` for LangChain input, else
        ``AssistantMessageChunk``); text and reasoning arrive as deltas, tool calls and
        metadata in the last chunk, and the chunks add up to the whole reply."""
        request, family = self._surface_request(input, stop, kwargs)
        target: Any = self._surface_target()
        chunks = ChunkMaker(family)
        completion: Completion | None = None
        async for event in target.stream(request):
            if event.kind == "done":
                completion = event.completion
            elif event.delta:
                chunk = chunks.delta(event)
                if chunk is not None:
                    yield chunk
        if completion is None:
            raise ModelError(
                f"model {self.name!r} ended its stream without a 'done' event carrying the "
                "completion"
            )
        yield chunks.last(completion)

    def _surface_stream(
        self,
        input: ModelInput,
        config: Mapping[str, Any] | None = None,
        *,
        stop: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> Iterator[Any]:
        return iterate_sync(lambda: self.astream(input, config, stop=stop, **kwargs))

    # -- binding ---------------------------------------------------------------------------

    def bind_tools(
        self,
        tools: Sequence[Any],
        *,
        tool_choice: Any = None,
        parallel_tool_calls: bool | None = None,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> BoundModel:
        """A model that offers ``tools`` on every call (hone tools, LangChain tools, typed
        functions, pydantic models, TypedDicts or OpenAI tool dicts).

        ``tool_choice``: ``"auto"``, ``"none"``, ``"required"`` (or LangChain's ``"any"``),
        a tool's name, ``True`` (the only tool), or OpenAI's ``{"type": "function", ...}``.
        ``strict`` marks every schema for OpenAI's strict mode. Other keyword arguments are
        sampling options bound with the tools.

        Raises:
            ToolDefinitionError: a tool that cannot become a schema.
            ConfigError: a ``tool_choice`` that names no bound tool.
        """
        from hone.models._bound import Binding, BoundModel, bound_tools

        specs, choice = bound_tools(tools, tool_choice, strict)
        binding = Binding(
            tools=specs,
            tool_choice=choice,
            parallel_tool_calls=parallel_tool_calls,
            options=sampling_changes(kwargs.pop("stop", None), kwargs),
        )
        return BoundModel.over(self, binding)

    def bind(self, *, stop: Sequence[str] | None = None, **kwargs: Any) -> BoundModel:
        """A model with sampling options bound to every call (``model.bind(temperature=0)``)."""
        from hone.models._bound import Binding, BoundModel

        return BoundModel.over(self, Binding(options=sampling_changes(stop, kwargs)))

    def with_structured_output(
        self,
        schema: Any,
        *,
        method: Literal["json_schema", "function_calling", "json_mode"] = "json_schema",
        include_raw: bool = False,
        strict: bool | None = None,
        **kwargs: Any,
    ) -> StructuredModel:
        """A runnable whose ``invoke`` returns the reply parsed into ``schema``: an instance
        of a pydantic model, a dict for a TypedDict or a JSON-schema dict.

        ``method``: ``"json_schema"`` (default; the request's ``response_format``),
        ``"function_calling"`` (the reply is a forced call of a tool with that schema) or
        ``"json_mode"`` (any JSON object, validated against ``schema`` when given). With
        ``include_raw`` the result is ``{"raw": message, "parsed": value or None,
        "parsing_error": error or None}`` and a reply that does not fit is not raised.

        Raises:
            ConfigError: a schema that is none of those, or an unknown method.
        """
        from hone.models._chat_output import StructuredModel

        return StructuredModel.build(
            self, schema, method=method, include_raw=include_raw, strict=strict, **kwargs
        )
