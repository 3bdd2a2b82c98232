"""``LLMToolEmulator``: answer tool calls with a model's invention instead of running the
tools — for testing an agent before its tools exist, or without their side effects.

Each emulated call becomes one prompt (the tool's name, description and arguments) to the
emulator model, whose reply is the tool message's content. Calls of tools not emulated run
as usual.
"""

from __future__ import annotations

import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from hone.agents.middleware._base import AgentMiddleware
from hone.agents.middleware._calls import tool_answer
from hone.agents.middleware._side_model import (
    acomplete_text,
    complete_text,
    internal_config,
    side_model,
)
from hone.errors import ModelSpecError
from hone.interop._messages import is_langchain_message
from hone.interop._model import is_langchain_chat_model
from hone.messages import UserMessage

__all__ = ["LLMToolEmulator"]

_DEFAULT_EMULATOR_MODEL = "anthropic:claude-sonnet-4-5-20250929"


def _prompt(name: str, description: str, arguments: Any) -> str:
    return (
        "You are emulating a tool call for testing purposes.\n\n"
        f"Tool: {name}\n"
        f"Description: {description}\n"
        f"Arguments: {arguments}\n\n"
        "Generate a realistic response that this tool would return given these arguments.\n"
        "Return ONLY the tool's output, no explanation or preamble. "
        "Introduce variation into your responses."
    )


def _default_model() -> Any:
    """The deprecated default emulator model (Anthropic's, through LangChain).

    Raises:
        ImportError: ``langchain-anthropic`` is not installed.
    """
    warnings.warn(
        f"LLMToolEmulator's default model ({_DEFAULT_EMULATOR_MODEL!r}) is deprecated and will "
        "be removed in a future release. Pass `model` explicitly instead.",
        DeprecationWarning,
        stacklevel=3,
    )
    try:
        return side_model(_DEFAULT_EMULATOR_MODEL)
    except (ImportError, ModelSpecError) as exc:
        raise ImportError(
            "LLMToolEmulator's default model requires `langchain-anthropic` to be installed. "
            "Install it with `pip install langchain-anthropic`, or pass `model=...` "
            "explicitly to use a different provider."
        ) from exc


class LLMToolEmulator(AgentMiddleware[Any, Any, Any]):
    """Answers calls of the chosen tools with an emulator model's reply.

    Args:
        tools: the tools to emulate, by name or as tool objects; None: every tool; an empty
            list: none.
        model: the emulator model (a LangChain chat model, a hone backend or spec string).
            Leaving it out is deprecated (a ``DeprecationWarning``): the default is
            Anthropic's Claude Sonnet 4.5, which needs ``langchain-anthropic``.

    Raises:
        ImportError: no ``model`` and ``langchain-anthropic`` is not installed.
    """

    def __init__(self, *, tools: Sequence[Any] | None = None, model: Any = None) -> None:
        self.emulate_all = tools is None
        self.tools_to_emulate: set[str] = {
            t if isinstance(t, str) else t.name for t in (tools or ())
        }
        self.model = _default_model() if model is None else side_model(model)

    def _emulates(self, name: str) -> bool:
        return self.emulate_all or name in self.tools_to_emulate

    def _prompt_for(self, request: Any) -> str:
        call = request.tool_call
        description = (
            getattr(request.tool, "description", None) if request.tool is not None else None
        )
        return _prompt(call["name"], description or "No description available", call["args"])

    def _answer(self, request: Any, content: Any) -> Any:
        """The tool message carrying ``content``, in the conversation's family."""
        call = request.tool_call
        state = request.state
        messages = state.get("messages") if isinstance(state, Mapping) else state
        langchain = (
            is_langchain_message(messages[-1])
            if isinstance(messages, list) and messages
            else is_langchain_chat_model(self.model)
        )
        return tool_answer(content, call["id"], call["name"], langchain=langchain)

    def wrap_tool_call(self, request: Any, handler: Callable[[Any], Any]) -> Any:
        """Emulate the call when its tool is emulated, else run it."""
        if not self._emulates(request.tool_call["name"]):
            return handler(request)
        prompt = self._prompt_for(request)
        if is_langchain_chat_model(self.model):
            from langchain_core.messages import HumanMessage

            reply = self.model.invoke(
                [HumanMessage(prompt)], config=internal_config("tool_emulation")
            )
            return self._answer(request, reply.content)
        return self._answer(request, complete_text(self.model, [UserMessage(content=prompt)]))

    async def awrap_tool_call(self, request: Any, handler: Callable[[Any], Awaitable[Any]]) -> Any:
        """Async :meth:`wrap_tool_call`."""
        if not self._emulates(request.tool_call["name"]):
            return await handler(request)
        prompt = self._prompt_for(request)
        if is_langchain_chat_model(self.model):
            from langchain_core.messages import HumanMessage

            reply = await self.model.ainvoke(
                [HumanMessage(prompt)], config=internal_config("tool_emulation")
            )
            return self._answer(request, reply.content)
        text = await acomplete_text(self.model, [UserMessage(content=prompt)])
        return self._answer(request, text)
