"""The join channels: a node waiting for several others is triggered through a
:class:`NamedBarrierValue` (or, for a deferred node, :class:`NamedBarrierValueAfterFinish`)
that becomes available once every named writer has written it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Self

from hone.errors import EmptyChannelError, InvalidUpdateError
from hone.graph._channels import MISSING, Channel

__all__ = ["NamedBarrierValue", "NamedBarrierValueAfterFinish"]


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
