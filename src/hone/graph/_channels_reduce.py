"""The channels that fold many writes per step into one value: a reducer key
(:class:`BinaryOperatorAggregate`, with :func:`overwrite_of` for ``Overwrite`` writes) and a
topic (:class:`Topic`), which collects the writes into a list."""

from __future__ import annotations

import collections.abc
import inspect
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NotRequired, Required, Self

from hone.errors import EmptyChannelError, InvalidUpdateError
from hone.graph._channels import MISSING, Channel
from hone.graph._constants import OVERWRITE
from hone.graph._types import Overwrite

__all__ = ["BinaryOperatorAggregate", "Topic", "overwrite_of"]


def overwrite_of(value: Any) -> tuple[bool, Any]:
    """Whether ``value`` is an :class:`Overwrite` (typed, or as the dict forms it takes after
    JSON), and the value it carries."""
    if isinstance(value, Overwrite):
        return True, value.value
    if isinstance(value, dict):
        if len(value) == 1 and OVERWRITE in value:
            return True, value[OVERWRITE]
        if value.get("type") == OVERWRITE and "value" in value:
            return True, value["value"]
    return False, None


def _concrete(typ: Any) -> Any:
    while hasattr(typ, "__origin__"):
        typ = typ.__args__[0] if typ.__origin__ in (Required, NotRequired) else typ.__origin__
    if typ in (collections.abc.Sequence, collections.abc.MutableSequence):
        return list
    if typ in (collections.abc.Set, collections.abc.MutableSet):
        return set
    if typ in (collections.abc.Mapping, collections.abc.MutableMapping):
        return dict
    return typ


def _same_operator(a: Callable[..., Any], b: Callable[..., Any]) -> bool:
    # Lambdas cannot be compared by identity across schemas; treat them as equal.
    if getattr(a, "__name__", "") == "<lambda>" or getattr(b, "__name__", "") == "<lambda>":
        return True
    # A reducer wrapping another (``__wrapped__``, as ``functools.wraps`` sets) merges as the
    # one it wraps: ``add_messages`` on a key declaring LangChain messages is one.
    return inspect.unwrap(a) is inspect.unwrap(b)


class BinaryOperatorAggregate(Channel):
    """A key with a reducer: each write is folded in with ``operator(current, write)``.

    The value starts as ``typ()`` when the type can be built without arguments (an empty
    list for ``list``), else empty. :class:`~hone.graph.Overwrite` replaces the value.
    """

    __slots__ = ("operator", "value")

    def __init__(self, typ: Any, operator: Callable[[Any, Any], Any], key: str = "") -> None:
        super().__init__(typ, key)
        self.operator = operator
        try:
            self.value: Any = _concrete(typ)()
        except Exception:
            self.value = MISSING

    def __eq__(self, other: object) -> bool:
        return isinstance(other, BinaryOperatorAggregate) and _same_operator(
            self.operator, other.operator
        )

    __hash__ = Channel.__hash__

    def copy(self) -> Self:
        new = self._empty()
        new.operator = self.operator
        new.value = self.value
        return new

    def checkpoint(self) -> Any:
        return self.value

    def from_checkpoint(self, checkpoint: Any) -> Self:
        new = type(self)(self.typ, self.operator, self.key)
        if checkpoint is not MISSING:
            new.value = checkpoint
        return new

    def update(self, values: Sequence[Any]) -> bool:
        if not values:
            return False
        if self.value is MISSING:
            self.value, values = values[0], values[1:]
        overwritten = False
        for value in values:
            is_overwrite, replacement = overwrite_of(value)
            if is_overwrite:
                if overwritten:
                    raise InvalidUpdateError(
                        f"At key '{self.key}': Can receive only one Overwrite value per super-step."
                    )
                self.value, overwritten = replacement, True
            elif not overwritten:
                self.value = self.operator(self.value, value)
        return True

    def get(self) -> Any:
        if self.value is MISSING:
            raise EmptyChannelError(self.key)
        return self.value

    def is_available(self) -> bool:
        return self.value is not MISSING


def _flatten(values: Sequence[Any]) -> Iterator[Any]:
    for value in values:
        if isinstance(value, list):
            yield from value
        else:
            yield value


class Topic(Channel):
    """Collects every write of a step into a list (list writes are flattened). With
    ``accumulate=True`` the list grows across steps; otherwise it lasts one step."""

    __slots__ = ("accumulate", "values")

    def __init__(self, typ: Any = Any, accumulate: bool = False, key: str = "") -> None:
        super().__init__(typ, key)
        self.accumulate = accumulate
        self.values: list[Any] = []

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Topic) and other.accumulate == self.accumulate

    __hash__ = Channel.__hash__

    def copy(self) -> Self:
        new = type(self)(self.typ, self.accumulate, self.key)
        new.values = list(self.values)
        return new

    def checkpoint(self) -> Any:
        return self.values

    def from_checkpoint(self, checkpoint: Any) -> Self:
        new = type(self)(self.typ, self.accumulate, self.key)
        if checkpoint is not MISSING:
            new.values = list(checkpoint[1] if isinstance(checkpoint, tuple) else checkpoint)
        return new

    def update(self, values: Sequence[Any]) -> bool:
        changed = False
        if not self.accumulate:
            changed = bool(self.values)
            self.values = []
        flat = list(_flatten(values))
        if flat:
            self.values.extend(flat)
            changed = True
        return changed

    def get(self) -> Any:
        if not self.values:
            raise EmptyChannelError(self.key)
        return list(self.values)

    def is_available(self) -> bool:
        return bool(self.values)
