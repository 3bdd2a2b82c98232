"""Any LangChain chat model as a hone model backend.

:class:`LangChainModel` implements :class:`~hone.models.ModelBackend` over a LangChain
``BaseChatModel``: hone's messages go in as LangChain messages (losslessly), tools are bound
with the model's own ``bind_tools``, and the reply comes back as a hone
:class:`~hone.models.Completion`. A LangChain model gives no token ids or logprobs: that is
fine for serving and for SFT data, and RL through it is refused early (see
``RecordingModel``).

The LangChain model's own settings govern sampling (temperature, token limits, seeds): hone's
``SamplingOptions`` are not passed to it, except ``stop``.
"""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import sys
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, TypeAlias

from hone.errors import ConfigError
from hone.interop._messages import (
    REASONING_KEY,
    from_langchain,
    langchain_messages_module,
    to_langchain,
)
from hone.messages import AssistantMessage
from hone.models._chat import ChatSurface
from hone.models._protocol import ChatRequest, Completion, FinishReason, StreamEvent, Usage
from hone.models._spec import load_model

if TYPE_CHECKING:
    from hone.models._protocol import ModelBackend

__all__ = ["LangChainModel", "ModelLike", "is_langchain_chat_model", "resolve_model"]

#: A model backend, a model spec string (``"tiny:"``, ``"openai:gpt-4.1"``,
#: ``"anthropic:claude-sonnet-4-5"``) or a LangChain chat model.
ModelLike: TypeAlias = "ModelBackend | str | Any"

logger = logging.getLogger(__name__)

_FINISH: dict[str, FinishReason] = {
    "stop": "stop",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "STOP": "stop",
    "length": "length",
    "max_tokens": "length",
    "MAX_TOKENS": "length",
    "tool_calls": "tool_calls",
    "tool_use": "tool_calls",
    "function_call": "tool_calls",
    "content_filter": "content_filter",
    "SAFETY": "content_filter",
}


def is_langchain_chat_model(value: object) -> bool:
    """Whether ``value`` is a LangChain chat model (never imports langchain-core)."""
    base = sys.modules.get("langchain_core.language_models.chat_models")
    return base is not None and isinstance(value, base.BaseChatModel)


def _finish_reason(message: Any, has_calls: bool) -> FinishReason:
    meta = message.response_metadata or {}
    raw = meta.get("finish_reason") or meta.get("stop_reason")
    if isinstance(raw, str) and raw in _FINISH:
        return _FINISH[raw]
    return "tool_calls" if has_calls else "stop"


def _usage(message: Any) -> Usage:
    usage = getattr(message, "usage_metadata", None) or {}
    return Usage(
        prompt_tokens=int(usage.get("input_tokens", 0)),
        completion_tokens=int(usage.get("output_tokens", 0)),
    )


class LangChainModel(ChatSurface):
    """A :class:`~hone.models.ModelBackend` over a LangChain chat model.

    ``run_agent``, ``create_react_agent``, ``ToolNode`` graphs and ``load_model`` wrap a
    LangChain chat model in one of these themselves; make one directly to name it or to use
    it with the rest of hone (``BatchingModel``, ``hone serve``).

    Args:
        chat_model: any LangChain ``BaseChatModel``.
        name: the name reported in completions; defaults to the model's ``model_name`` /
            ``model``, else its LangChain type.

    Raises:
        ConfigError: ``chat_model`` is not a LangChain chat model.
    """

    #: Its tokens reach a graph's ``messages`` stream through LangChain's callbacks (the
    #: handler a streaming run installs), not through hone's ``stream`` events.
    streams_to_callbacks: ClassVar[bool] = True

    def __init__(self, chat_model: Any, *, name: str | None = None) -> None:
        if not is_langchain_chat_model(chat_model):
            raise ConfigError(
                f"LangChainModel needs a LangChain chat model (a BaseChatModel), got "
                f"{type(chat_model).__name__}"
            )
        self.chat_model = chat_model
        self._name = name or _model_name(chat_model)
        self._warned_tools = False

    def __repr__(self) -> str:
        return f"LangChainModel({type(self.chat_model).__name__}, name={self._name!r})"

    @property
    def name(self) -> str:
        """The model's name."""
        return self._name

    async def complete(self, request: ChatRequest) -> Completion:
        """Complete one conversation with the LangChain model's ``ainvoke``."""
        messages = [to_langchain(m) for m in request.messages]
        kwargs = self._call_kwargs(request)
        schema = self._structured_schema(request)
        structured = None if schema is None else self._structured(schema)
        if structured is not None:
            if not structured.include_raw:
                return await self._complete_parsed(structured.runnable, messages, kwargs)
            out = await structured.runnable.ainvoke(messages, **kwargs)
            return self._completion(out["raw"], parsed=out.get("parsed"))
        reply = await self._runnable(request).ainvoke(messages, **kwargs)
        return self._completion(reply)

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """Complete many conversations (concurrently, as LangChain's ``abatch`` would)."""
        return list(await asyncio.gather(*(self.complete(r) for r in requests)))

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Stream with the LangChain model's ``astream``: text and reasoning deltas, then the
        whole reply in a ``done`` event."""
        lc = langchain_messages_module()
        messages = [to_langchain(m) for m in request.messages]
        total: Any = None
        async for chunk in self._runnable(request).astream(messages, **self._call_kwargs(request)):
            total = chunk if total is None else total + chunk
            text = chunk.text if isinstance(chunk.content, str) else ""
            if text:
                yield StreamEvent(kind="text", delta=text)
            reasoning = chunk.additional_kwargs.get(REASONING_KEY)
            if isinstance(reasoning, str) and reasoning:
                yield StreamEvent(kind="reasoning", delta=reasoning)
        final = lc.message_chunk_to_message(total) if total is not None else lc.AIMessage("")
        yield StreamEvent(kind="done", completion=self._completion(final))

    # -- helpers ---------------------------------------------------------------------------

    @staticmethod
    def _call_kwargs(request: ChatRequest) -> dict[str, Any]:
        stop = list(request.options.stop)
        return {"stop": stop} if stop else {}

    def _runnable(self, request: ChatRequest) -> Any:
        """The chat model with the request's tools bound (if it can bind tools)."""
        if not request.tools or request.tool_choice == "none":
            return self.chat_model
        from langchain_core.language_models.chat_models import BaseChatModel

        if type(self.chat_model).bind_tools is BaseChatModel.bind_tools:
            if not self._warned_tools:
                logger.warning(
                    "LangChain model %s cannot bind tools (no bind_tools); it is called "
                    "without the tools' schemas",
                    type(self.chat_model).__name__,
                )
                self._warned_tools = True
            return self.chat_model
        kwargs: dict[str, Any] = {}
        choice = request.tool_choice
        if choice == "required":
            kwargs["tool_choice"] = "any"
        elif isinstance(choice, Mapping):
            function = choice.get("function")
            name = function.get("name") if isinstance(function, Mapping) else choice.get("name")
            kwargs["tool_choice"] = name
        if not request.parallel_tool_calls:
            kwargs["parallel_tool_calls"] = False
        return self.chat_model.bind_tools(list(request.tools), **kwargs)

    @staticmethod
    def _structured_schema(request: ChatRequest) -> dict[str, Any] | None:
        """The JSON schema of a json_schema request the model's own structured output can
        serve, or None (no such request, or tools in the request too)."""
        fmt = request.response_format
        if request.tools or not isinstance(fmt, Mapping) or fmt.get("type") != "json_schema":
            return None
        spec = fmt.get("json_schema") or {}
        return {**dict(spec.get("schema") or {}), "title": spec.get("name", "output")}

    def _structured(self, schema: dict[str, Any]) -> _Structured | None:
        """The model's own structured-output runnable for ``schema``, or None (a model
        without it: then the reply is checked against the schema by the caller).

        ``include_raw=True`` when the model's ``with_structured_output`` takes it (the reply
        stays a message); else the plain call LangGraph makes (custom and fake models)."""
        raw = _takes_include_raw(self.chat_model.with_structured_output)
        try:
            if raw:
                runnable = self.chat_model.with_structured_output(schema, include_raw=True)
            else:
                runnable = self.chat_model.with_structured_output(schema)
        except NotImplementedError:
            logger.debug("%s has no structured output; its reply is checked", self._name)
            return None
        return _Structured(runnable, include_raw=raw)

    async def _complete_parsed(
        self, runnable: Any, messages: list[Any], kwargs: dict[str, Any]
    ) -> Completion:
        """A completion of the value a plain ``with_structured_output`` runnable returns; a
        reply it cannot parse becomes a completion of the reply's text, so the caller shows
        the problems to the model and tries again."""
        from langchain_core.exceptions import OutputParserException

        try:
            value = await runnable.ainvoke(messages, **kwargs)
        except OutputParserException as exc:
            text = exc.llm_output if isinstance(exc.llm_output, str) else str(exc)
            return self._text_completion(text)
        return self._text_completion(_value_text(value))

    def _text_completion(self, text: str) -> Completion:
        message = AssistantMessage(content=text)
        return Completion(message=message, text=text, finish_reason="stop", model=self._name)

    def _completion(self, reply: Any, *, parsed: Any = None) -> Completion:
        message = from_langchain(reply)
        if not isinstance(message, AssistantMessage):
            raise ConfigError(
                f"LangChain model {self._name!r} answered with a {type(reply).__name__}, not "
                "an AI message"
            )
        if parsed is not None:
            # The model's own structured output (often a forced tool call): the value is the
            # reply's text, as with OpenAI's response_format.
            text = _value_text(parsed)
            message = message.model_copy(update={"content": text, "tool_calls": ()})
        return Completion(
            message=message,
            text=message.text,
            finish_reason=_finish_reason(reply, bool(message.tool_calls)),
            usage=_usage(reply),
            model=self._name,
            native=reply if parsed is None else None,
        )


@dataclass(frozen=True, slots=True)
class _Structured:
    """A model's structured-output runnable, and whether it returns the raw reply too."""

    runnable: Any
    include_raw: bool


def _takes_include_raw(method: Any) -> bool:
    """Whether a ``with_structured_output`` method takes ``include_raw`` (LangChain's own
    models do; a custom or fake model may take the schema alone, as LangGraph calls it)."""
    try:
        params = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == "include_raw" or p.kind is p.VAR_KEYWORD for p in params)


def _value_text(value: Any) -> str:
    """A structured value (a pydantic model or JSON data) as JSON text."""
    data = value.model_dump(mode="json") if hasattr(value, "model_dump") else value
    return json.dumps(data, ensure_ascii=False)


def _model_name(chat_model: Any) -> str:
    for attr in ("model_name", "model", "model_id"):
        value = getattr(chat_model, attr, None)
        if isinstance(value, str) and value:
            return value
    try:
        return str(chat_model._llm_type)
    except (AttributeError, NotImplementedError):
        return type(chat_model).__name__


def resolve_model(model: ModelLike) -> ModelBackend:
    """The backend for anything accepted as a model: a backend as it is, a string (a model
    spec or an object path) through :func:`~hone.models.load_model`, a LangChain chat model
    wrapped in :class:`LangChainModel`.

    Raises:
        ModelSpecError: a string that names no model.
        ConfigError: a value that is none of those.
    """
    if isinstance(model, str):
        return load_model(model)
    if is_langchain_chat_model(model):
        return LangChainModel(model)
    for method in ("complete", "complete_batch", "stream"):
        if not callable(getattr(model, method, None)):
            raise ConfigError(
                f"{type(model).__name__} is not a model: pass a hone model backend, a model "
                "spec string such as 'openai:gpt-4.1' or 'tiny:', or a LangChain chat model"
            )
    backend: ModelBackend = model
    return backend
