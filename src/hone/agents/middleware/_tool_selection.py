"""``LLMToolSelectorMiddleware``: before each model call, ask a (usually smaller) model which
of the agent's many tools fit the user's last message, and offer the main model only those.

The selection is a structured answer ``{"tools": [names...]}`` under a JSON schema whose
items are the selectable tool names (each described by its tool's description): from a
LangChain chat model through ``with_structured_output``, from a hone backend as its
``response_format``. A malformed answer is asked for again (``max_retries``), then handled by
``on_parsing_failure``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from hone.agent._scope import given_model
from hone.agents.middleware._base import AgentMiddleware
from hone.agents.middleware._side_model import (
    acomplete_json,
    complete_json,
    internal_config,
    kind_of,
    side_model,
)
from hone.agents.middleware._types import ModelRequest, ModelResponse
from hone.interop._messages import from_langchain, is_langchain_message
from hone.interop._model import is_langchain_chat_model, resolve_model
from hone.messages import SystemMessage

__all__ = ["DEFAULT_SYSTEM_PROMPT", "LLMToolSelectorMiddleware", "OnParsingFailure"]

DEFAULT_SYSTEM_PROMPT = (
    "Your goal is to select the most relevant tools for answering the user's query."
)

#: What to select when the selection model's answers stay malformed: raise (``"error"``),
#: no tools (``"none"``), every tool (``"all"``), these names, or what a function of the
#: last answer returns.
OnParsingFailure: TypeAlias = (
    Literal["error", "none", "all"] | list[str] | Callable[[Any], list[str]]
)


@dataclass
class _SelectionRequest:
    """What one selection call needs."""

    available_tools: list[Any]
    system_message: str
    last_user_message: Any
    model: Any
    valid_tool_names: list[str]


def _create_tool_selection_response(tools: Sequence[Any]) -> dict[str, Any]:
    """The JSON schema of a selection among ``tools``: ``{"tools": [name, ...]}``, each
    name one of the tools' (described by the tool's description).

    Raises:
        AssertionError: no tools (callers ask only when there is a choice).
    """
    if not tools:
        raise AssertionError("Invalid usage: tools must be non-empty")
    choices = [
        {"const": t.name, "type": "string", "description": getattr(t, "description", "") or ""}
        for t in tools
    ]
    return {
        "title": "ToolSelectionResponse",
        "description": "Use to select relevant tools.",
        "type": "object",
        "properties": {
            "tools": {
                "title": "Tools",
                "description": "Tools to use. Place the most relevant tools first.",
                "type": "array",
                "items": {"anyOf": choices},
            }
        },
        "required": ["tools"],
    }


def _is_valid_selection_response(response: Any) -> bool:
    """Whether ``response`` is a selection: a dict with a ``tools`` list."""
    return isinstance(response, dict) and isinstance(response.get("tools"), list)


class LLMToolSelectorMiddleware(AgentMiddleware[Any, Any, Any]):
    """Narrows the tools offered to the model to those a selection model picks for the
    user's last message.

    Args:
        model: the selection model (a LangChain chat model, a hone backend or spec string);
            None: the agent's own model.
        system_prompt: the selection instruction.
        max_tools: the most tools kept of the selection (the first ones); None: no limit.
        always_include: tool names offered whatever the selection (not counted in
            ``max_tools``).
        max_retries: how many more times a malformed answer is asked for.
        on_parsing_failure: see :data:`OnParsingFailure` (its tools are not capped by
            ``max_tools``).

    Provider tools (dicts) are always kept. Only a ``wrap_model_call`` is defined.

    Raises:
        ValueError: ``max_retries`` below 0.
    """

    def __init__(
        self,
        *,
        model: Any = None,
        system_prompt: str = DEFAULT_SYSTEM_PROMPT,
        max_tools: int | None = None,
        always_include: list[str] | None = None,
        max_retries: int = 1,
        on_parsing_failure: OnParsingFailure = "error",
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        self.system_prompt = system_prompt
        self.max_tools = max_tools
        self.always_include = list(always_include or [])
        self.max_retries = max_retries
        self.on_parsing_failure = on_parsing_failure
        self.model = side_model(model)

    def _selection_model(self, request: ModelRequest[Any]) -> Any:
        """The model asked: this middleware's, else the run's given model, else the agent's."""
        if self.model is not None:
            return self.model
        given = given_model(None)
        if given is not None:
            return given
        if is_langchain_chat_model(request.model):
            return request.model
        return resolve_model(request.model)

    def _prepare_selection_request(self, request: ModelRequest[Any]) -> _SelectionRequest | None:
        """What the selection call needs, or None when there is nothing to select among.

        Raises:
            ValueError: ``always_include`` names a tool the request does not offer.
            AssertionError: the conversation has no user message.
        """
        if not request.tools:
            return None
        named = [t for t in request.tools if not isinstance(t, Mapping)]
        if self.always_include:
            names = {t.name for t in named}
            missing = [n for n in self.always_include if n not in names]
            if missing:
                raise ValueError(
                    f"Tools in always_include not found in request: {missing}. "
                    f"Available tools: {sorted(names)}"
                )
        available = [t for t in named if t.name not in self.always_include]
        if not available:
            return None
        system = self.system_prompt
        if self.max_tools is not None:
            system += (
                "\nIMPORTANT: List the tool names in order of relevance, with the most "
                "relevant first. If you exceed the maximum number of tools, only the first "
                f"{self.max_tools} will be used."
            )
        last_user = next((m for m in reversed(request.messages) if kind_of(m) == "user"), None)
        if last_user is None:
            raise AssertionError(
                "No user message found in request messages: the tool selector picks tools "
                "for the user's last message"
            )
        return _SelectionRequest(
            available_tools=available,
            system_message=system,
            last_user_message=last_user,
            model=self._selection_model(request),
            valid_tool_names=[t.name for t in available],
        )

    def _process_selection_response(
        self,
        response: Mapping[str, Any],
        available_tools: Sequence[Any],
        valid_tool_names: Sequence[str],
        request: ModelRequest[Any],
        *,
        apply_max_tools: bool = True,
    ) -> ModelRequest[Any]:
        """``request`` offering the selected tools, then the always-included ones, then the
        provider tools.

        Raises:
            ValueError: the selection names tools that are not selectable.
        """
        limit = self.max_tools if apply_max_tools else None
        chosen: list[str] = []
        invalid = []
        for name in response.get("tools", []):
            if name not in valid_tool_names:
                invalid.append(name)
            elif name not in chosen and (limit is None or len(chosen) < limit):
                chosen.append(name)
        if invalid:
            raise ValueError(f"Model selected invalid tools: {invalid}")
        selected = [t for t in available_tools if t.name in chosen]
        always = [
            t for t in request.tools if not isinstance(t, Mapping) and t.name in self.always_include
        ]
        provider = [t for t in request.tools if isinstance(t, Mapping)]
        return request.override(tools=[*selected, *always, *provider])

    def _resolve_parsing_failure(self, response: Any, valid_tool_names: list[str]) -> list[str]:
        """The tools to use once the answers stayed malformed.

        Raises:
            ValueError: ``on_parsing_failure="error"``.
        """
        policy = self.on_parsing_failure
        if policy == "error":
            raise ValueError(
                "LLMToolSelectorMiddleware: selection model returned a malformed response "
                f"after {self.max_retries} retries (expected a dict with a 'tools' list): "
                f"{response!r}"
            )
        if policy == "none":
            return []
        if policy == "all":
            return list(valid_tool_names)
        if callable(policy):
            return list(policy(response))
        return list(policy)

    def _langchain_call(self, selection: _SelectionRequest) -> tuple[Any, list[Any]]:
        schema = _create_tool_selection_response(selection.available_tools)
        structured = selection.model.with_structured_output(schema)
        messages = [
            {"role": "system", "content": selection.system_message},
            selection.last_user_message,
        ]
        return structured, messages

    def _hone_messages(self, selection: _SelectionRequest) -> list[Any]:
        user = selection.last_user_message
        return [
            SystemMessage(content=selection.system_message),
            from_langchain(user) if is_langchain_message(user) else user,
        ]

    def _select(self, selection: _SelectionRequest) -> Any:
        """The selection model's answer, asked again while malformed (``max_retries``)."""
        if is_langchain_chat_model(selection.model):
            structured, messages = self._langchain_call(selection)

            def ask() -> Any:
                return structured.invoke(messages, config=internal_config("tool_selection"))
        else:
            schema = _create_tool_selection_response(selection.available_tools)
            hone_messages = self._hone_messages(selection)

            def ask() -> Any:
                return complete_json(selection.model, hone_messages, schema)

        response = ask()
        for _ in range(self.max_retries):
            if _is_valid_selection_response(response):
                break
            response = ask()
        return response

    async def _aselect(self, selection: _SelectionRequest) -> Any:
        """Async :meth:`_select`."""
        if is_langchain_chat_model(selection.model):
            structured, messages = self._langchain_call(selection)

            async def ask() -> Any:
                return await structured.ainvoke(messages, config=internal_config("tool_selection"))
        else:
            schema = _create_tool_selection_response(selection.available_tools)
            hone_messages = self._hone_messages(selection)

            async def ask() -> Any:
                return await acomplete_json(selection.model, hone_messages, schema)

        response = await ask()
        for _ in range(self.max_retries):
            if _is_valid_selection_response(response):
                break
            response = await ask()
        return response

    def _narrowed(
        self, request: ModelRequest[Any], selection: _SelectionRequest, response: Any
    ) -> ModelRequest[Any]:
        if _is_valid_selection_response(response):
            return self._process_selection_response(
                response, selection.available_tools, selection.valid_tool_names, request
            )
        fallback = self._resolve_parsing_failure(response, selection.valid_tool_names)
        return self._process_selection_response(
            {"tools": fallback},
            selection.available_tools,
            selection.valid_tool_names,
            request,
            apply_max_tools=False,
        )

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> Any:
        """Call the model with the selected tools.

        Raises:
            ValueError: see :meth:`_prepare_selection_request`, an invalid selection, or a
                malformed one with ``on_parsing_failure="error"``.
        """
        selection = self._prepare_selection_request(request)
        if selection is None:
            return handler(request)
        return handler(self._narrowed(request, selection, self._select(selection)))

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> Any:
        """Async :meth:`wrap_model_call`."""
        selection = self._prepare_selection_request(request)
        if selection is None:
            return await handler(request)
        response = await self._aselect(selection)
        return await handler(self._narrowed(request, selection, response))
