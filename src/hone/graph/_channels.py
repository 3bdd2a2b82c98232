"""Channels: how each state key (and each internal trigger) folds the writes of a
super-step into its value.

A channel object holds one value for one run. ``update(writes)`` applies a super-step's writes
and says whether the value changed (a change bumps the channel's version, which is what
triggers the nodes subscribed to it); ``consume`` is called when a node reads a trigger,
``finish`` when the graph is about to stop. ``checkpoint()`` / ``from_checkpoint()`` convert
to and from the stored value. The semantics are LangGraph's, channel by channel.

This module holds the base class and the channels that keep one written value; the reducer
and topic channels are in ``_channels_reduce``, the join barriers in ``_channels_barrier``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

from hone.errors import EmptyChannelError, InvalidUpdateError

__all__ = [
    "MISSING",
    "AnyValue",
    "Channel",
    "EphemeralValue",
    "LastValue",
    "LastValueAfterFinish",
    "UntrackedValue",
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
