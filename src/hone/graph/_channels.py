"""How each state key folds the writes of one super-step into its value.

A channel is stateless: values live in the run's state dict, and a channel only says how
writes combine. That keeps a super-step to one shallow dict copy plus one call per written key.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from hone.errors import InvalidUpdateError

__all__ = [
    "MISSING",
    "BinaryOperatorAggregate",
    "Channel",
    "EphemeralValue",
    "LastValue",
    "Topic",
]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


#: Marks a key that has no value yet.
MISSING: Any = _Missing()


class Channel:
    """Base class: how a key combines the writes of one super-step."""

    __slots__ = ("ephemeral", "key")

    def __init__(self) -> None:
        self.key = ""
        #: The value is dropped after a step that did not write it.
        self.ephemeral = False

    def initial(self) -> Any:
        """The value before any write (:data:`MISSING` for none)."""
        return MISSING

    def apply(self, old: Any, values: Sequence[Any], writers: Sequence[str]) -> Any:
        """The new value after ``values`` were written (by ``writers``) in one step."""
        raise NotImplementedError

    def bind(self, key: str) -> Channel:
        """This channel, named for error messages."""
        self.key = key
        return self


class LastValue(Channel):
    """A plain key: at most one write per super-step; the value is the last write."""

    __slots__ = ()

    def apply(self, old: Any, values: Sequence[Any], writers: Sequence[str]) -> Any:
        if len(values) != 1:
            raise InvalidUpdateError(
                f"state key {self.key!r} was written by {len(values)} nodes in one step "
                f"({', '.join(repr(w) for w in writers)}); a plain key takes one write per step. "
                f"Give it a reducer, e.g. Annotated[list, operator.add], to combine writes."
            )
        return values[0]


class BinaryOperatorAggregate(Channel):
    """A key with a reducer: each write is folded in with ``reducer(old, new)``."""

    __slots__ = ("_default", "reducer")

    def __init__(
        self, reducer: Callable[[Any, Any], Any], default: Callable[[], Any] | None
    ) -> None:
        super().__init__()
        self.reducer = reducer
        self._default = default

    def initial(self) -> Any:
        return MISSING if self._default is None else self._default()

    def apply(self, old: Any, values: Sequence[Any], writers: Sequence[str]) -> Any:
        it = iter(values)
        if old is MISSING:
            old = next(it)
        for value in it:
            old = self.reducer(old, value)
        return old


class EphemeralValue(Channel):
    """A value that lasts one super-step: readable in the step after it was written."""

    __slots__ = ()

    def __init__(self) -> None:
        super().__init__()
        self.ephemeral = True

    def apply(self, old: Any, values: Sequence[Any], writers: Sequence[str]) -> Any:
        if len(values) != 1:
            raise InvalidUpdateError(
                f"ephemeral key {self.key!r} was written by {len(values)} nodes in one step "
                f"({', '.join(repr(w) for w in writers)}); it takes one write per step."
            )
        return values[0]


class Topic(Channel):
    """Collects every write of a step into a list (lists are flattened). With
    ``accumulate=True`` the list grows across steps; otherwise it lasts one step."""

    __slots__ = ("accumulate",)

    def __init__(self, accumulate: bool = False) -> None:
        super().__init__()
        self.accumulate = accumulate
        self.ephemeral = not accumulate

    def initial(self) -> Any:
        return []

    def apply(self, old: Any, values: Sequence[Any], writers: Sequence[str]) -> Any:
        out = list(old) if self.accumulate and old is not MISSING else []
        for value in values:
            if isinstance(value, list):
                out.extend(value)
            else:
                out.append(value)
        return out
