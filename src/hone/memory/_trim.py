"""Trimming a conversation to a token budget, in whole turns.

The unit of trimming is a *turn*: one message, except that an assistant message with tool
calls and the tool results that answer it form one unit, kept or dropped together. So a
trimmed conversation never holds a tool result without the call it answers, nor a call
without its results: what OpenAI-style APIs reject. The leading system messages always stay;
a budget they alone exceed is an error, not a silent empty context.

Counts come from the model's own chat template where it has one (see
:mod:`hone.memory._count`), and the count is of the whole prompt as sent, so the budget is
met exactly: the longest run of turns that fits is found by bisection over prompt counts.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, Literal, TypeAlias

from hone.errors import ConfigError, ContextBudgetError
from hone.interop._messages import from_langchain, is_langchain_message
from hone.memory._count import ApproximateCounter, TokenCounter, token_counter
from hone.messages import (
    AnyMessage,
    AssistantMessage,
    SystemMessage,
    ToolMessage,
    UserMessage,
    to_message,
)

__all__ = ["CounterLike", "as_hone", "bisect", "count_with", "trim_messages", "turns"]

#: What may count tokens: a :class:`TokenCounter`, a model (its chat template, else the
#: approximation), ``"approximate"``, or a function of a message list (LangChain's form; it
#: gets the messages as given, hone's or LangChain's).
CounterLike: TypeAlias = TokenCounter | Callable[[list[Any]], int] | Literal["approximate"] | Any

_ROLES: dict[str, type] = {
    "human": UserMessage,
    "user": UserMessage,
    "ai": AssistantMessage,
    "assistant": AssistantMessage,
    "tool": ToolMessage,
    "system": SystemMessage,
}


def as_hone(messages: Sequence[Any]) -> list[AnyMessage]:
    """``messages`` (hone's, LangChain's, dicts, tuples) as hone messages."""
    return [from_langchain(m) if is_langchain_message(m) else to_message(m) for m in messages]


def turns(messages: Sequence[AnyMessage]) -> list[tuple[int, int]]:
    """The trimming units of ``messages`` as ``(start, end)`` index ranges: an assistant
    message with tool calls together with the tool messages that follow it, every other
    message alone (a stray tool message joins the unit before it)."""
    out: list[tuple[int, int]] = []
    i = 0
    while i < len(messages):
        message = messages[i]
        end = i + 1
        if isinstance(message, AssistantMessage) and message.tool_calls:
            while end < len(messages) and isinstance(messages[end], ToolMessage):
                end += 1
        elif isinstance(message, ToolMessage) and out:
            start, _ = out.pop()
            out.append((start, end))
            i = end
            continue
        out.append((i, end))
        i = end
    return out


Count: TypeAlias = Callable[[Sequence[Any], Sequence[AnyMessage], Sequence[Mapping[str, Any]]], int]


def count_with(counter: CounterLike) -> Count:
    """A function ``(given messages, their hone twins, tools) -> tokens`` for ``counter`` (a
    plain function counts the messages it is given and cannot see the tools)."""
    if counter is None or (isinstance(counter, str) and counter == "approximate"):
        counter = ApproximateCounter()
    if isinstance(counter, TokenCounter):
        resolved: TokenCounter = counter
    elif hasattr(counter, "complete") or hasattr(counter, "encode_prompt"):
        resolved = token_counter(counter)
    elif callable(counter):
        function = counter
        return lambda given, hone, tools: int(function(list(given)))
    else:
        raise ConfigError(
            "token_counter must be a TokenCounter, a model, 'approximate' or a function, "
            f"got {counter!r}"
        )
    return lambda given, hone, tools: resolved.count(hone, tools)


def _start_index(
    hone: Sequence[AnyMessage], units: list[tuple[int, int]], first: int, start_on: Any
) -> int:
    kinds = start_on if isinstance(start_on, list | tuple) else [start_on]
    classes = tuple(_ROLES[k] if isinstance(k, str) else k for k in kinds)
    for index in range(first, len(units)):
        if isinstance(hone[units[index][0]], classes):
            return index
    raise ContextBudgetError(
        f"no message of type {start_on!r} fits the budget after trimming; raise max_tokens"
    )


def trim_messages(
    messages: Sequence[Any],
    *,
    max_tokens: int,
    token_counter: CounterLike = "approximate",
    strategy: Literal["last", "first"] = "last",
    include_system: bool = True,
    start_on: str | type | Sequence[str | type] | None = None,
    tools: Sequence[Mapping[str, Any]] = (),
) -> list[Any]:
    """The messages that fit ``max_tokens``, dropped in whole turns (LangChain's
    ``trim_messages``, with atomic tool turns and the system prompt always kept).

    Args:
        messages: the conversation (hone or LangChain messages; the result is the same
            objects, in order).
        max_tokens: the budget for the prompt these messages (and ``tools``) make.
        token_counter: how to count (:data:`CounterLike`); pass the model to count with its
            chat template.
        strategy: ``"last"`` keeps the newest turns, ``"first"`` the oldest.
        include_system: keep the leading system messages (and count them).
        start_on: with ``"last"``, drop turns until one starting with this type
            (``"human"``/``"user"``, ``"ai"``, a message class, or a list of them).
        tools: tool schemas sent with the messages (they count toward the budget).

    Raises:
        ContextBudgetError: ``max_tokens`` below 1, the system messages alone exceed it, no
            turn fits beside them, or no turn of ``start_on``'s type fits.
    """
    if not isinstance(max_tokens, int) or max_tokens < 1:
        raise ContextBudgetError(f"max_tokens must be a positive int, got {max_tokens!r}")
    if strategy not in ("last", "first"):
        raise ConfigError(f"strategy is 'last' or 'first', got {strategy!r}")
    given = list(messages)
    hone = as_hone(given)
    system_end = 0
    if include_system:
        while system_end < len(hone) and isinstance(hone[system_end], SystemMessage):
            system_end += 1
    body = hone[system_end:]
    units = [(s + system_end, e + system_end) for s, e in turns(body)]
    counter = count_with(token_counter)

    def cost(start: int, end: int) -> int:
        return counter(
            given[:system_end] + given[start:end], hone[:system_end] + hone[start:end], tools
        )

    system_cost = cost(len(hone), len(hone))
    if system_cost > max_tokens:
        raise ContextBudgetError(
            f"the system prompt alone takes {system_cost} tokens, more than max_tokens="
            f"{max_tokens}; raise the budget or shorten the system prompt"
        )
    if not units:
        return given[:system_end]
    if strategy == "last":
        keep = bisect(len(units), lambda k: cost(units[len(units) - k][0], len(hone)) <= max_tokens)
        if keep == 0:
            newest = cost(units[-1][0], len(hone))
            raise ContextBudgetError(
                f"the newest turn needs {newest} tokens with the system prompt, more than "
                f"max_tokens={max_tokens}; raise the budget"
            )
        first = len(units) - keep
        if start_on is not None:
            first = _start_index(hone, units, first, start_on)
        return given[:system_end] + given[units[first][0] :]
    keep = bisect(len(units), lambda k: cost(system_end, units[k - 1][1]) <= max_tokens)
    if keep == 0:
        raise ContextBudgetError(
            f"the oldest turn does not fit max_tokens={max_tokens} beside the system prompt"
        )
    return given[:system_end] + given[system_end : units[keep - 1][1]]


def bisect(n: int, fits: Callable[[int], bool]) -> int:
    """The largest k in [0, n] with ``fits(k)`` (``fits`` holds for a prefix of k's; k = 0
    is never tested)."""
    lo, hi = 0, n
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo
