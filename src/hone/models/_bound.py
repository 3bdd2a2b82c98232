"""A model with tools, a tool choice, an output format or sampling options bound to every
call: what ``bind_tools``, ``bind`` and ``with_structured_output`` build on.

A :class:`BoundModel` is itself a :class:`~hone.models.ModelBackend` wrapping another one,
so it works wherever a model does (``run_agent``, ``create_react_agent``, graphs); its
binding is applied to every request that passes through it. Binding again merges into the
same wrapper rather than nesting wrappers.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hone.errors import ConfigError
from hone.models._chat import ChatSurface
from hone.models._protocol import ChatRequest, Completion, ModelBackend, StreamEvent, ToolChoice
from hone.tools._convert import tool_names, tool_spec

__all__ = ["Binding", "BoundModel", "bound_tools", "tool_choice_of"]


@dataclass(frozen=True, slots=True)
class Binding:
    """What a bound model sets on each request; None leaves the request's own value."""

    #: Tool schemas (OpenAI function format) offered on every call.
    tools: tuple[dict[str, Any], ...] | None = None
    tool_choice: ToolChoice | None = None
    parallel_tool_calls: bool | None = None
    #: OpenAI's ``response_format``.
    response_format: Mapping[str, Any] | None = None
    #: ``SamplingOptions`` fields to set.
    options: Mapping[str, Any] = field(default_factory=dict)

    def merged(self, later: Binding) -> Binding:
        """This binding with ``later``'s values on top."""
        return Binding(
            tools=later.tools if later.tools is not None else self.tools,
            tool_choice=later.tool_choice if later.tool_choice is not None else self.tool_choice,
            parallel_tool_calls=(
                later.parallel_tool_calls
                if later.parallel_tool_calls is not None
                else self.parallel_tool_calls
            ),
            response_format=(
                later.response_format if later.response_format is not None else self.response_format
            ),
            options={**self.options, **later.options},
        )

    def apply(self, request: ChatRequest) -> ChatRequest:
        """``request`` with the binding's values set."""
        changes: dict[str, Any] = {}
        if self.tools is not None:
            changes["tools"] = self.tools
        if self.tool_choice is not None:
            changes["tool_choice"] = self.tool_choice
        if self.parallel_tool_calls is not None:
            changes["parallel_tool_calls"] = self.parallel_tool_calls
        if self.response_format is not None:
            changes["response_format"] = self.response_format
        if self.options:
            changes["options"] = request.options.with_(**self.options)
        return dataclasses.replace(request, **changes) if changes else request


def tool_choice_of(choice: Any, names: Sequence[str]) -> ToolChoice | None:
    """hone's ``tool_choice`` (OpenAI's shape) for LangChain's spellings of it.

    Raises:
        ConfigError: a name that is not among ``names``, or ``True`` with several tools.
    """
    if choice is None or choice is False:
        return None
    if choice is True:
        if len(names) != 1:
            raise ConfigError(
                f"tool_choice=True needs exactly one bound tool, got {len(names)}; name the tool "
                "to call or use 'required'"
            )
        choice = names[0]
    if isinstance(choice, Mapping):
        return dict(choice)
    if not isinstance(choice, str):
        raise ConfigError(f"tool_choice must be a string, a bool or a dict, got {choice!r}")
    if choice in ("auto", "none", "required"):
        return choice  # type: ignore[return-value]
    if choice == "any":
        return "required"
    if choice not in names:
        raise ConfigError(
            f"tool_choice names {choice!r}, which is not among the bound tools "
            f"({', '.join(names) or 'none'}); use one of them, 'auto', 'none' or 'required'"
        )
    return {"type": "function", "function": {"name": choice}}


def bound_tools(
    tools: Sequence[Any], tool_choice: Any, strict: bool | None
) -> tuple[tuple[dict[str, Any], ...], ToolChoice | None]:
    """The schemas of ``tools`` and the normalised tool choice.

    Raises:
        ToolDefinitionError: a tool that cannot become a schema.
        ConfigError: a bad ``tool_choice``.
    """
    specs = [copy.deepcopy(tool_spec(t)) for t in tools]
    if strict is not None:
        for spec in specs:
            spec["function"]["strict"] = strict
    return tuple(specs), tool_choice_of(tool_choice, tool_names(specs))


class BoundModel(ChatSurface):
    """A model with a :class:`Binding` applied to every call. Made by ``bind_tools``,
    ``bind`` and ``with_structured_output``; a :class:`~hone.models.ModelBackend` itself.

    Args:
        backend: the model that answers.
        binding: what to set on each request.
    """

    def __init__(self, backend: ModelBackend, binding: Binding) -> None:
        self.backend = backend
        self.binding = binding

    @classmethod
    def over(cls, model: Any, binding: Binding) -> BoundModel:
        """``model`` with ``binding`` (merged into an existing binding, not nested)."""
        if isinstance(model, BoundModel):
            return cls(model.backend, model.binding.merged(binding))
        return cls(model, binding)

    def __repr__(self) -> str:
        return f"BoundModel({self.backend!r}, {self.binding!r})"

    @property
    def name(self) -> str:
        """The wrapped model's name."""
        return self.backend.name

    async def complete(self, request: ChatRequest) -> Completion:
        """Complete one conversation with the binding applied."""
        return await self.backend.complete(self.binding.apply(request))

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """Complete many conversations with the binding applied."""
        return await self.backend.complete_batch([self.binding.apply(r) for r in requests])

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Stream one conversation with the binding applied."""
        return self.backend.stream(self.binding.apply(request))

    def _surface_prepare(self, request: ChatRequest, changes: Mapping[str, Any]) -> ChatRequest:
        return super()._surface_prepare(self.binding.apply(request), changes)

    def _surface_target(self) -> Any:
        return self.backend
