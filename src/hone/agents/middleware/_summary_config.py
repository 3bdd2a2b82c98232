"""The configuration of :class:`~hone.agents.middleware.SummarizationMiddleware`: the context
sizes its ``trigger`` and ``keep`` are given in, their range checks, the normalisation of a
trigger into clauses, and the summary model's context window that ``"fraction"`` sizes are
measured against.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, TypeAlias, TypedDict

from hone.interop._model import is_langchain_chat_model

__all__ = [
    "PROFILE_REQUIRED",
    "ContextFraction",
    "ContextMessages",
    "ContextSize",
    "ContextTokens",
    "TriggerClause",
    "context_window",
    "copy_trigger",
    "legacy_trigger_conditions",
    "normalize_trigger",
    "validate_context_size",
]

#: A share of the model's context window (its profile's ``max_input_tokens``).
ContextFraction: TypeAlias = tuple[Literal["fraction"], float]
#: A number of tokens.
ContextTokens: TypeAlias = tuple[Literal["tokens"], int]
#: A number of messages.
ContextMessages: TypeAlias = tuple[Literal["messages"], int]
#: How much context: ``("fraction", 0.8)``, ``("tokens", 3000)`` or ``("messages", 50)``.
ContextSize: TypeAlias = ContextFraction | ContextTokens | ContextMessages


class TriggerClause(TypedDict, total=False):
    """Thresholds that must all be reached for the clause to trigger a summary (a list of
    clauses triggers when any one does): ``{"tokens": 4000, "messages": 10}``."""

    tokens: int
    messages: int
    fraction: float


#: The error message for a ``"fraction"`` size with a model whose context window is unknown.
PROFILE_REQUIRED = (
    "Model profile information is required to use fractional token limits, and is "
    "unavailable for the specified model. Please use absolute token counts instead, or pass "
    '`\n\nChatModel(..., profile={"max_input_tokens": ...})`.\n\n'
    "with a desired integer value of the model's maximum input tokens."
)


def copy_trigger(trigger: Any) -> Any:
    """``trigger`` with its dicts copied (a caller's later edits do not reach it)."""
    if isinstance(trigger, Mapping):
        return dict(trigger)
    if isinstance(trigger, list):
        return [dict(t) if isinstance(t, Mapping) else t for t in trigger]
    return trigger


def validate_context_size(context: Any, parameter_name: str) -> Any:
    """``context`` when its value is in range for its kind.

    Raises:
        ValueError: a fraction outside (0, 1], a count below 1, or an unknown kind.
    """
    kind, value = context
    if kind == "fraction":
        if not 0 < value <= 1:
            raise ValueError(
                f"Fractional {parameter_name} values must be between 0 and 1, got {value}."
            )
    elif kind in ("tokens", "messages"):
        if value <= 0:
            raise ValueError(f"{parameter_name} thresholds must be greater than 0, got {value}.")
    else:
        raise ValueError(f"Unsupported context size type {kind} for {parameter_name}.")
    return context


def _clause(mapping: Mapping[str, Any]) -> TriggerClause:
    """A dict trigger, checked: known metrics, integer counts, numeric fractions.

    Raises:
        ValueError: an empty clause, an unknown metric, or a value of the wrong type or
            out of range.
    """
    if not mapping:
        raise ValueError(
            "trigger clause must specify at least one of 'tokens', 'messages', 'fraction'"
        )
    clause: dict[str, Any] = {}
    for metric, value in mapping.items():
        if metric not in ("tokens", "messages", "fraction"):
            raise ValueError(f"Unsupported trigger metric: {metric!r}")
        if isinstance(value, bool):
            raise ValueError(f"{metric} trigger value must be numeric, got {value!r}")
        if metric == "fraction" and not isinstance(value, int | float):
            raise ValueError(f"Fraction trigger values must be numeric, got {value!r}")
        if metric != "fraction" and not isinstance(value, int):
            raise ValueError(f"{metric} trigger values must be integers, got {value!r}")
        validate_context_size((metric, value), "trigger")
        clause[metric] = value
    return clause  # type: ignore[return-value]


def _one_clause(item: Any, where: str) -> TriggerClause:
    """One trigger item (a dict or a ``(kind, value)`` tuple) as a clause.

    Raises:
        TypeError: an item that is neither a tuple nor a dict.
        ValueError: as :func:`validate_context_size` and :func:`_clause`.
    """
    if isinstance(item, Mapping):
        return _clause(item)
    if isinstance(item, tuple):
        kind, value = validate_context_size(item, "trigger")
        return {kind: value}  # type: ignore[misc]
    raise TypeError(f"Unsupported {where} type: {type(item)}")


def normalize_trigger(trigger: Any) -> list[TriggerClause]:
    """``trigger`` as a list of clauses (any clause triggers; all of a clause's
    thresholds must be reached).

    Raises:
        TypeError: a trigger, or a list item, that is neither a tuple nor a dict.
        ValueError: as :func:`validate_context_size` and :func:`_clause`.
    """
    if trigger is None:
        return []
    if isinstance(trigger, list):
        return [_one_clause(item, "trigger item") for item in trigger]
    return [_one_clause(trigger, "trigger")]


def legacy_trigger_conditions(trigger: Any) -> list[Any]:
    """The trigger's single-threshold items as ``(kind, value)`` tuples."""
    if trigger is None:
        return []
    items = trigger if isinstance(trigger, list) else [trigger]
    out = []
    for item in items:
        if isinstance(item, tuple):
            out.append(validate_context_size(item, "trigger"))
        elif isinstance(item, Mapping) and len(item) == 1:
            out.append(validate_context_size(next(iter(item.items())), "trigger"))
    return out


def context_window(model: Any) -> int | None:
    """``model``'s context window in tokens (LangChain's ``profile["max_input_tokens"]``,
    a hone model's ``max_context``), or None when it does not say."""
    profile = getattr(model, "profile", None)
    limit = profile.get("max_input_tokens") if isinstance(profile, Mapping) else None
    if limit is None and not is_langchain_chat_model(model):
        limit = getattr(model, "max_context", None)
    return limit if isinstance(limit, int) and not isinstance(limit, bool) else None
