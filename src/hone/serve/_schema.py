"""The request body of ``POST /v1/chat/completions``, and how it becomes a :class:`ChatRequest`."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hone.errors import ConfigError
from hone.messages import AnyMessage, from_openai
from hone.models._protocol import ChatRequest, SamplingOptions, ToolChoice
from hone.models._structured import output_format, tool_requirement

__all__ = ["ChatCompletionBody", "FieldError", "StreamOptions", "check_structured"]


class FieldError(ValueError):
    """A request field the server cannot accept; ``param`` names it (OpenAI's error param)."""

    def __init__(self, param: str, message: str) -> None:
        super().__init__(message)
        self.param = param


def check_structured(request: ChatRequest, *, format_param: str = "response_format") -> None:
    """Check ``response_format`` and ``tool_choice`` before the backend sees them.

    Raises:
        FieldError: either is malformed; ``param`` names which.
    """
    try:
        output_format(request.response_format)
    except ConfigError as exc:
        raise FieldError(format_param, str(exc)) from exc
    try:
        tool_requirement(request.tool_choice, request.tools)
    except ConfigError as exc:
        raise FieldError("tool_choice", str(exc)) from exc


class StreamOptions(BaseModel):
    """``stream_options``: whether the last streamed chunk carries the usage."""

    include_usage: bool = False


class ChatCompletionBody(BaseModel):
    """An OpenAI chat-completions request, with vLLM's extras.

    Unknown fields are ignored, as vLLM does. ``response_format``, ``tool_choice`` and
    ``parallel_tool_calls`` go to the backend, which enforces them (local models by
    constrained decoding).
    """

    model_config = ConfigDict(extra="allow")

    model: str
    messages: list[dict[str, Any]] = Field(min_length=1)
    tools: list[dict[str, Any]] | None = None
    tool_choice: Literal["none", "auto", "required"] | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    response_format: dict[str, Any] | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=1)
    max_completion_tokens: int | None = Field(default=None, ge=1)
    stop: str | list[str] | None = None
    seed: int | None = None
    n: int = Field(default=1, ge=1, le=128)
    logprobs: bool = False
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    stream: bool = False
    stream_options: StreamOptions | None = None
    # vLLM extras
    top_k: int | None = None
    return_token_ids: bool = False
    return_tokens_as_token_ids: bool = False
    chat_template_kwargs: dict[str, Any] | None = None
    thinking_budget: int | None = Field(default=None, ge=0)
    thinking_token_budget: int | None = Field(default=None, ge=0)

    def chat_messages(self) -> tuple[AnyMessage, ...]:
        """The typed messages.

        Raises:
            ValueError: a message is malformed; the text names which one.
        """
        out: list[AnyMessage] = []
        for i, raw in enumerate(self.messages):
            if raw.get("role") == "developer":  # OpenAI's newer name for system
                raw = {**raw, "role": "system"}
            try:
                out.append(from_openai(raw))
            except ValueError as exc:  # pydantic's ValidationError is a ValueError too
                raise ValueError(f"messages[{i}]: {exc}") from exc
        return tuple(out)

    def options(self) -> SamplingOptions:
        """The sampling options this body asks for (unset fields keep hone's defaults)."""
        defaults = SamplingOptions()
        stop = (self.stop,) if isinstance(self.stop, str) else tuple(self.stop or ())
        kwargs = self.chat_template_kwargs or {}
        thinking = kwargs.get("enable_thinking")
        budget = self.thinking_token_budget
        return SamplingOptions(
            max_tokens=self.max_completion_tokens or self.max_tokens or defaults.max_tokens,
            temperature=defaults.temperature if self.temperature is None else self.temperature,
            top_p=defaults.top_p if self.top_p is None else self.top_p,
            # vLLM spells "no top-k" as -1 (or 0).
            top_k=self.top_k if self.top_k is not None and self.top_k > 0 else None,
            stop=stop,
            seed=self.seed,
            logprobs=self.logprobs,
            top_logprobs=self.top_logprobs or None,
            return_token_ids=self.return_token_ids,
            enable_thinking=thinking if isinstance(thinking, bool) else None,
            thinking_budget=budget if budget is not None else self.thinking_budget,
        )

    def chat_request(self) -> ChatRequest:
        """The :class:`ChatRequest` this body asks for.

        Raises:
            FieldError: a field is malformed or inconsistent; ``param`` names it.
            ValueError: a message is malformed.
        """
        if self.top_logprobs and not self.logprobs:
            raise FieldError("top_logprobs", "top_logprobs requires logprobs to be true")
        choice: ToolChoice = self.tool_choice if self.tool_choice is not None else "auto"
        request = ChatRequest(
            messages=self.chat_messages(),
            tools=tuple(self.tools or ()),
            options=self.options(),
            tool_choice=choice,
            parallel_tool_calls=self.parallel_tool_calls is not False,
            response_format=self.response_format,
        )
        check_structured(request)
        return request
