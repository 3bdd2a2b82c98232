"""Channels: how each state key (and each internal trigger) folds the writes of a
super-step into its value.

A channel object holds one value for one run. ``update(writes)`` applies a super-step's writes
and says whether the value changed (a change bumps the channel's version, which is what
triggers the nodes subscribed to it); ``consume`` is called when a node reads a trigger,
``finish`` when the graph is about to stop. ``checkpoint()`` / ``from_checkpoint()`` convert
to and from the stored value. The semantics are LangGraph's, channel by channel.
"""

from __future__ import annotations

import collections.abc
from collections.abc import Callable, Iterator, Sequence
from typing import Any, NotRequired, Required, Self

from hone.errors import EmptyChannelError, InvalidUpdateError
from hone.graph._constants import OVERWRITE
from hone.graph._types import Overwrite

__all__ = [
    "MISSING",
    "AnyValue",
    "BinaryOperatorAggregate",
    "Channel",
    "EphemeralValue",
    "LastValue",
    "LastValueAfterFinish",
    "NamedBarrierValue",
    "NamedBarrierValueAfterFinish",
    "Topic",
    "UntrackedValue",
    "overwrite_of",
]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"

    def __bool__(self) -> bool:
        return False


#: Marks "no value".
MISSING: Any = _Missing()


class Channel:
    """Base class: one key's value during a run, and how writes combine into it."""

    __slots__ = ("key", "typ")

    def __init__(self, typ: Any = Any, key: str = "") -> None:
        self.typ = typ
        self.key = key

    def copy(self) -> Self:
        """An independent copy with the same value."""
        return self.from_checkpoint(self.checkpoint())

    def checkpoint(self) -> Any:
        """The value to store (``MISSING`` when there is none)."""
        raise NotImplementedError

    def from_checkpoint(self, checkpoint: Any) -> Self:
        """A new channel of this kind holding a stored value."""
        raise NotImplementedError

    def update(self, values: Sequence[Any]) -> bool:
        """Apply one super-step's writes; True when the value changed."""
        raise NotImplementedError

    def get(self) -> Any:
        """The current value.

        Raises:
            EmptyChannelError: the channel has no value.
        """
        raise NotImplementedError

    def is_available(self) -> bool:
        """Whether :meth:`get` would return a value."""
        try:
            self.get()
        except EmptyChannelError:
            return False
        return True

    def consume(self) -> bool:
        """A subscribed node read this channel; True when that changed the value."""
        return False

    def finish(self) -> bool:
        """The run is about to end; True when that changed the value."""
        return False

    def _empty(self) -> Self:
        new = object.__new__(type(self))
        Channel.__init__(new, self.typ, self.key)
        return new

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.key!r})"


class LastValue(Channel):
    """A plain key: at most one write per super-step; the value is that write."""

    __slots__ = ("value",)

    def __init__(self, typ: Any = Any, key: str = "") -> None:
        super().__init__(typ, key)
        self.value: Any = MISSING

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LastValue)

    __hash__ = Channel.__hash__

    def checkpoint(self) -> Any:
        return self.value

    def from_checkpoint(self, checkpoint: Any) -> Self:
        new = type(self)(self.typ, self.key)
        if checkpoint is not MISSING:
            new.value = checkpoint
        return new

    def update(self, values: Sequence[Any]) -> bool:
        if not values:
            return False
        if len(values) != 1:
            raise InvalidUpdateError(
                f"At key '{self.key}': Can receive only one value per step. Use an Annotated "
                f"key to handle multiple values (e.g. Annotated[list, operator.add])."
            )
        self.value = values[-1]
        return True

    def get(self) -> Any:
        if self.value is MISSING:
            raise EmptyChannelError(self.key)
        return self.value

    def is_available(self) -> bool:
        return self.value is not MISSING


class LastValueAfterFinish(Channel):
    """A last value readable only once the graph is about to finish (deferred nodes)."""

    __slots__ = ("finished", "value")

    def __init__(self, typ: Any = Any, key: str = "") -> None:
        super().__init__(typ, key)
        self.value: Any = MISSING
        self.finished = False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, LastValueAfterFinish)

    __hash__ = Channel.__hash__

    def checkpoint(self) -> Any:
        return MISSING if self.value is MISSING else (self.value, self.finished)

    def from_checkpoint(self, checkpoint: Any) -> Self:
        new = type(self)(self.typ, self.key)
        if checkpoint is not MISSING:
            new.value, new.finished = checkpoint
        return new

    def update(self, values: Sequence[Any]) -> bool:
        if not values:
            return False
        self.finished = False
        self.value = values[-1]
        return True

    def consume(self) -> bool:
        if self.finished:
            self.finished, self.value = False, MISSING
            return True
        return False

    def finish(self) -> bool:
        if not self.finished and self.value is not MISSING:
            self.finished = True
            return True
        return False

    def get(self) -> Any:
        if self.value is MISSING or not self.finished:
            raise EmptyChannelError(self.key)
        return self.value

    def is_available(self) -> bool:
        return self.value is not MISSING and self.finished


class AnyValue(Channel):
    """The last of any number of writes (all assumed equal); cleared by a step without one."""

    __slots__ = ("value",)

    def __init__(self, typ: Any = Any, key: str = "") -> None:
        super().__init__(typ, key)
        self.value: Any = MISSING

    def __eq__(self, other: object) -> bool:
        return isinstance(other, AnyValue)

    __hash__ = Channel.__hash__

    def checkpoint(self) -> Any:
        return self.value

    def from_checkpoint(self, checkpoint: Any) -> Self:
        new = type(self)(self.typ, self.key)
        if checkpoint is not MISSING:
            new.value = checkpoint
        return new

    def update(self, values: Sequence[Any]) -> bool:
        if not values:
            if self.value is MISSING:
                return False
            self.value = MISSING
            return True
        self.value = values[-1]
        return True

    def get(self) -> Any:
        if self.value is MISSING:
            raise EmptyChannelError(self.key)
        return self.value

    def is_available(self) -> bool:
        return self.value is not MISSING


class EphemeralValue(Channel):
    """A value readable only in the step after it was written. With ``guard`` (the
    default) a step may write it at most once."""

    __slots__ = ("guard", "value")

    def __init__(self, typ: Any = Any, guard: bool = True, key: str = "") -> None:
        super().__init__(typ, key)
        self.guard = guard
        self.value: Any = MISSING

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EphemeralValue) and other.guard == self.guard

    __hash__ = Channel.__hash__

    def checkpoint(self) -> Any:
        return self.value

    def from_checkpoint(self, checkpoint: Any) -> Self:
        new = type(self)(self.typ, self.guard, self.key)
        if checkpoint is not MISSING:
            new.value = checkpoint
        return new

    def update(self, values: Sequence[Any]) -> bool:
        if not values:
            if self.value is MISSING:
                return False
            self.value = MISSING
            return True
        if len(values) != 1 and self.guard:
            raise InvalidUpdateError(
                f"At key '{self.key}': EphemeralValue(guard=True) can receive only one value "
                f"per step. Use guard=False if you want to store any one of multiple values."
            )
        self.value = values[-1]
        return True

    def get(self) -> Any:
        if self.value is MISSING:
            raise EmptyChannelError(self.key)
        return self.value

    def is_available(self) -> bool:
        return self.value is not MISSING


class UntrackedValue(Channel):
    """A last value that is never checkpointed."""

    __slots__ = ("guard", "value")

    def __init__(self, typ: Any = Any, guard: bool = True, key: str = "") -> None:
        super().__init__(typ, key)
        self.guard = guard
        self.value: Any = MISSING

    def __eq__(self, other: object) -> bool:
        return isinstance(other, UntrackedValue) and other.guard == self.guard

    __hash__ = Channel.__hash__

    def checkpoint(self) -> Any:
        return MISSING

    def copy(self) -> Self:
        new = type(self)(self.typ, self.guard, self.key)
        new.value = self.value
        return new

    def from_checkpoint(self, checkpoint: Any) -> Self:
        return type(self)(self.typ, self.guard, self.key)

    def update(self, values: Sequence[Any]) -> bool:
        if not values:
            return False
        if len(values) != 1 and self.guard:
            raise InvalidUpdateError(
                f"At key '{self.key}': UntrackedValue(guard=True) can receive only one value "
                f"per step. Use guard=False if you want to store any one of multiple values."
            )
        self.value = values[-1]
        return True

    def get(self) -> Any:
        if self.value is MISSING:
            raise EmptyChannelError(self.key)
        return self.value

    def is_available(self) -> bool:
        return self.value is not MISSING


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
    return a is b


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


class NamedBarrierValue(Channel):
    """A join: available once every one of ``names`` has written it (then consumed)."""

    __slots__ = ("names", "seen")

    def __init__(self, typ: Any, names: set[str], key: str = "") -> None:
        super().__init__(typ, key)
        self.names = set(names)
        self.seen: set[str] = set()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NamedBarrierValue) and other.names == self.names

    __hash__ = Channel.__hash__

    def copy(self) -> Self:
        new = type(self)(self.typ, self.names, self.key)
        new.seen = set(self.seen)
        return new

    def checkpoint(self) -> Any:
        return self.seen

    def from_checkpoint(self, checkpoint: Any) -> Self:
        new = type(self)(self.typ, self.names, self.key)
        if checkpoint is not MISSING:
            new.seen = set(checkpoint)
        return new

    def update(self, values: Sequence[Any]) -> bool:
        changed = False
        for value in values:
            if value not in self.names:
                raise InvalidUpdateError(f"At key '{self.key}': Value {value} not in {self.names}")
            if value not in self.seen:
                self.seen.add(value)
                changed = True
        return changed

    def get(self) -> Any:
        if self.seen != self.names:
            raise EmptyChannelError(self.key)
        return None

    def is_available(self) -> bool:
        return self.seen == self.names

    def consume(self) -> bool:
        if self.seen == self.names:
            self.seen = set()
            return True
        return False


class NamedBarrierValueAfterFinish(NamedBarrierValue):
    """A join for a deferred node: available once all have written *and* the graph is
    about to finish."""

    __slots__ = ("finished",)

    def __init__(self, typ: Any, names: set[str], key: str = "") -> None:
        super().__init__(typ, names, key)
        self.finished = False

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NamedBarrierValueAfterFinish) and other.names == self.names

    __hash__ = Channel.__hash__

    def copy(self) -> Self:
        new = super().copy()
        new.finished = self.finished
        return new

    def checkpoint(self) -> Any:
        return (self.seen, self.finished)

    def from_checkpoint(self, checkpoint: Any) -> Self:
        new = type(self)(self.typ, self.names, self.key)
        if checkpoint is not MISSING:
            seen, new.finished = checkpoint
            new.seen = set(seen)
        return new

    def get(self) -> Any:
        if not self.finished or self.seen != self.names:
            raise EmptyChannelError(self.key)
        return None

    def is_available(self) -> bool:
        return self.finished and self.seen == self.names

    def consume(self) -> bool:
        if self.finished and self.seen == self.names:
            self.finished, self.seen = False, set()
            return True
        return False

    def finish(self) -> bool:
        if not self.finished and self.seen == self.names:
            self.finished = True
            return True
        return False
