"""``ContextEditingMiddleware``: before each model call, once the conversation costs more
tokens than a threshold, replace older tool results with a placeholder (Anthropic's
``clear_tool_uses`` context edit, for any model).

Only the request the model sees is edited: the agent's state keeps every tool result.
Works over either message family; a cleared message says so in its response metadata
(LangChain's ``response_metadata``, kept in a hone message's ``extra``), so it is not
cleared twice.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, Protocol, TypeAlias

from hone.agents.middleware._base import AgentMiddleware
from hone.agents.middleware._types import ModelRequest, ModelResponse
from hone.interop._messages import from_langchain, is_langchain_message
from hone.messages import AssistantMessage, ToolMessage, to_message

__all__ = [
    "DEFAULT_TOOL_PLACEHOLDER",
    "ClearToolUsesEdit",
    "ContextEdit",
    "ContextEditingMiddleware",
    "TokenCounter",
]

#: What a cleared tool result reads.
DEFAULT_TOOL_PLACEHOLDER = "[cleared]"

#: Counts the tokens of a list of messages (either family).
TokenCounter: TypeAlias = Callable[[Sequence[Any]], int]

_MARK = "context_editing"


class ContextEdit(Protocol):
    """One way to shrink a conversation: edits ``messages`` in place."""

    def apply(self, messages: list[Any], *, count_tokens: TokenCounter) -> None:
        """Edit ``messages`` (replace items; never mutate the messages themselves)."""
        ...


# -- family-neutral reading and writing -------------------------------------------------


def _call_ids_and_names(message: Any) -> list[tuple[str | None, str]]:
    """(id, name) of each tool call of a model turn, either family."""
    if is_langchain_message(message):
        return [(c.get("id"), c["name"]) for c in message.tool_calls]
    return [(c.id, c.name) for c in message.tool_calls]


def _is_tool_message(message: Any) -> bool:
    if is_langchain_message(message):
        return getattr(message, "type", None) == "tool"
    return isinstance(message, ToolMessage)


def _is_ai_message(message: Any) -> bool:
    if is_langchain_message(message):
        return getattr(message, "type", None) == "ai"
    return isinstance(message, AssistantMessage)


def _metadata(message: Any) -> dict[str, Any]:
    """The message's response metadata (a hone message keeps LangChain's in ``extra``)."""
    if is_langchain_message(message):
        return dict(message.response_metadata or {})
    return dict((message.extra or {}).get("response_metadata") or {})


def _with_metadata(message: Any, metadata: dict[str, Any], **changes: Any) -> Any:
    """A copy of ``message`` with ``metadata`` as its response metadata and ``changes``."""
    if is_langchain_message(message):
        return message.model_copy(update={**changes, "response_metadata": metadata})
    extra = {**(message.extra or {}), "response_metadata": metadata}
    if changes.pop("artifact", False) is None:
        extra.pop("artifact", None)
    return message.model_copy(update={**changes, "extra": extra})


def _cleared_tool_result(message: Any, placeholder: str) -> Any:
    metadata = {**_metadata(message), _MARK: {"cleared": True, "strategy": "clear_tool_uses"}}
    return _with_metadata(message, metadata, content=placeholder, artifact=None)


def _cleared_tool_input(message: Any, call_id: str) -> Any:
    """``message`` (a model turn) with the arguments of call ``call_id`` emptied."""
    found = any(found_id == call_id for found_id, _ in _call_ids_and_names(message))
    calls: Any
    if is_langchain_message(message):
        calls = [
            {**call, "args": {}} if call.get("id") == call_id else dict(call)
            for call in message.tool_calls
        ]
    else:
        calls = tuple(
            call.model_copy(update={"arguments": {}, "raw_arguments": None})
            if call.id == call_id
            else call
            for call in message.tool_calls
        )
    metadata = _metadata(message)
    if found:
        entry = dict(metadata.get(_MARK) or {})
        entry["cleared_tool_inputs"] = sorted({*entry.get("cleared_tool_inputs", ()), call_id})
        metadata[_MARK] = entry
    return _with_metadata(message, metadata, tool_calls=calls)


@dataclass(slots=True)
class ClearToolUsesEdit:
    """Clear older tool results once the conversation costs more than ``trigger`` tokens.

    The ``keep`` most recent tool results stay; older ones (except those of tools named in
    ``exclude_tools``, and results no model turn asked for) become ``placeholder``, oldest
    first, until ``clear_at_least`` tokens are reclaimed (0: all of them). With
    ``clear_tool_inputs`` the cleared call's arguments are emptied in the model's turn too.
    """

    trigger: int = 100_000
    clear_at_least: int = 0
    keep: int = 3
    clear_tool_inputs: bool = False
    exclude_tools: Sequence[str] = ()
    placeholder: str = DEFAULT_TOOL_PLACEHOLDER

    def apply(self, messages: list[Any], *, count_tokens: TokenCounter) -> None:
        """Clear tool results in ``messages`` (in place) when over the trigger."""
        tokens = count_tokens(messages)
        if tokens <= self.trigger:
            return
        candidates = [i for i, m in enumerate(messages) if _is_tool_message(m)]
        candidates = candidates[: -self.keep] if self.keep else candidates
        excluded = set(self.exclude_tools)
        for index in candidates:
            result = messages[index]
            if (_metadata(result).get(_MARK) or {}).get("cleared"):
                continue
            turn_index = next(
                (i for i in range(index - 1, -1, -1) if _is_ai_message(messages[i])), None
            )
            if turn_index is None:
                continue
            call_name = next(
                (
                    n
                    for i, n in _call_ids_and_names(messages[turn_index])
                    if i == result.tool_call_id
                ),
                None,
            )
            if call_name is None or (result.name or call_name) in excluded:
                continue
            messages[index] = _cleared_tool_result(result, self.placeholder)
            if self.clear_tool_inputs:
                messages[turn_index] = _cleared_tool_input(
                    messages[turn_index], result.tool_call_id
                )
            if self.clear_at_least > 0 and tokens - count_tokens(messages) >= self.clear_at_least:
                break


# -- token counting ----------------------------------------------------------------------


def _hone_messages(messages: Sequence[Any]) -> list[Any]:
    return [from_langchain(m) if is_langchain_message(m) else to_message(m) for m in messages]


def _approximate(messages: Sequence[Any]) -> int:
    """LangChain's approximation: langchain-core's own for LangChain messages, hone's
    reimplementation otherwise (langchain-core stays unimported)."""
    if any(is_langchain_message(m) for m in messages):
        from langchain_core.messages.utils import count_tokens_approximately

        return count_tokens_approximately(messages)
    from hone.memory import ApproximateCounter

    return ApproximateCounter().count(_hone_messages(messages))


def _model_counter(request: ModelRequest[Any]) -> TokenCounter:
    """The model's own count of the request (its system message and tools included)."""
    system = [] if request.system_message is None else [request.system_message]
    count_langchain = getattr(request.model, "get_num_tokens_from_messages", None)
    if callable(count_langchain):

        def count_with_model(messages: Sequence[Any]) -> int:
            return int(count_langchain([*system, *messages], request.tools))

        return count_with_model
    from hone.memory import token_counter
    from hone.tools import ToolRegistry

    counter = token_counter(request.model)
    callables = [t for t in request.tools if not isinstance(t, Mapping)]
    specs = [
        *(ToolRegistry.coerce(callables).specs() if callables else []),
        *(t for t in request.tools if isinstance(t, Mapping)),
    ]

    def count_with_template(messages: Sequence[Any]) -> int:
        return counter.count(_hone_messages([*system, *messages]), specs)

    return count_with_template


class ContextEditingMiddleware(AgentMiddleware[Any, Any, Any]):
    """Shrink what the model sees by applying ``edits`` before every model call.

    Args:
        edits: the edits, in order; default one :class:`ClearToolUsesEdit` with its
            defaults.
        token_count_method: ``"approximate"`` (characters / 4, fast) or ``"model"`` (the
            model's own count: a LangChain chat model's ``get_num_tokens_from_messages``,
            a hone local model's chat template).
        token_counter: counts the tokens itself; takes precedence over
            ``token_count_method``.
    """

    def __init__(
        self,
        *,
        edits: Iterable[ContextEdit] | None = None,
        token_count_method: Literal["approximate", "model"] = "approximate",
        token_counter: TokenCounter | None = None,
    ) -> None:
        self.edits: list[ContextEdit] = list(edits or (ClearToolUsesEdit(),))
        self.token_count_method = token_count_method
        self.token_counter = token_counter

    def _counter(self, request: ModelRequest[Any]) -> TokenCounter:
        if self.token_counter is not None:
            return self.token_counter
        if self.token_count_method == "approximate":
            return _approximate
        return _model_counter(request)

    def _edited(self, request: ModelRequest[Any]) -> ModelRequest[Any]:
        # A copy: a custom edit may change messages in place, the state must not see it.
        messages = copy.deepcopy(list(request.messages))
        count_tokens = self._counter(request)
        for edit in self.edits:
            edit.apply(messages, count_tokens=count_tokens)
        return request.override(messages=messages)

    def wrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], ModelResponse[Any]],
    ) -> Any:
        """Call the model with the edited conversation."""
        if not request.messages:
            return handler(request)
        return handler(self._edited(request))

    async def awrap_model_call(
        self,
        request: ModelRequest[Any],
        handler: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
    ) -> Any:
        """Async :meth:`wrap_model_call`."""
        if not request.messages:
            return await handler(request)
        return await handler(self._edited(request))
