"""Equality of hone messages with the messages of other libraries.

:mod:`hone.messages` sits below the modules that convert its messages to other libraries'
(:mod:`hone.interop` for LangChain's), so it cannot call them; they register a check here
when they are imported, and a hone message's ``==`` asks them about a value of a type it does
not know. ``hone`` imports :mod:`hone.interop` whenever it is imported, so the LangChain check
is always in place.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["foreign_equal", "register_foreign_equality"]

#: ``check(hone_message, other)``: whether the two are equal, or None for another library's type.
ForeignEquality = Callable[[Any, object], bool | None]

_CHECKS: list[ForeignEquality] = []


def register_foreign_equality(check: ForeignEquality) -> None:
    """Ask ``check`` whenever a hone message is compared with a value it does not know."""
    if check not in _CHECKS:
        _CHECKS.append(check)


def foreign_equal(message: Any, other: object) -> bool | None:
    """Whether ``message`` equals ``other`` by the first check that knows ``other``'s type;
    None when none does."""
    for check in _CHECKS:
        verdict = check(message, other)
        if verdict is not None:
            return verdict
    return None
