"""In-process caches that let a saver find delta bases without reading them back.

The value cache keeps, per (thread, ns, channel), the last list value stored and the id of its
blob. Blobs never change once written, so an entry is valid exactly when its blob id matches
the one a checkpoint refers to; entries written by other processes simply miss. Only lists of
immutable items (messages, frozen models, scalars) are cached: their items can be shared with
the caller without a later in-place change of an item silently changing the cached base.
"""

from __future__ import annotations

import dataclasses
import operator
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

__all__ = ["LRU", "ValueCache", "extends", "immutable_items", "snapshot"]

K = TypeVar("K")
V = TypeVar("V")

_IMMUTABLE: dict[type, bool] = {t: True for t in (str, int, float, bool, type(None), bytes)}


class LRU(Generic[K, V]):
    """A small thread-safe least-recently-used map."""

    def __init__(self, size: int = 1024) -> None:
        self._size = size
        self._data: OrderedDict[K, V] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: K) -> V | None:
        """The value for ``key``, marking it recently used; None if absent."""
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: K, value: V) -> None:
        """Store a value, evicting the least recently used beyond the size."""
        with self._lock:
            self._data[key] = value
            self._data.move_to_end(key)
            while len(self._data) > self._size:
                self._data.popitem(last=False)

    def forget(self, match: Callable[[K], bool]) -> None:
        """Drop every entry whose key matches."""
        with self._lock:
            for key in [k for k in self._data if match(k)]:
                del self._data[key]


class ValueCache:
    """Last stored list value per (thread, ns, channel), valid for one blob id."""

    def __init__(self, size: int = 1024) -> None:
        self._lru: LRU[tuple[str, str, str], tuple[str, tuple[Any, ...]]] = LRU(size)

    def get(self, thread_id: str, ns: str, channel: str, blob_id: str) -> tuple[Any, ...] | None:
        """The cached items of blob ``blob_id``, or None."""
        entry = self._lru.get((thread_id, ns, channel))
        if entry is None or entry[0] != blob_id:
            return None
        return entry[1]

    def put(
        self, thread_id: str, ns: str, channel: str, blob_id: str, items: tuple[Any, ...]
    ) -> None:
        """Remember the items of a stored list value."""
        self._lru.put((thread_id, ns, channel), (blob_id, items))

    def forget(self, thread_id: str) -> None:
        """Drop every entry of a thread."""
        self._lru.forget(lambda key: key[0] == thread_id)


def _immutable(item: Any) -> bool:
    kind = type(item)
    known = _IMMUTABLE.get(kind)
    if known is None:
        if issubclass(kind, BaseModel):
            known = bool(kind.model_config.get("frozen"))
        elif dataclasses.is_dataclass(kind):
            known = bool(kind.__dataclass_params__.frozen)  # type: ignore[attr-defined]
        else:
            known = False
        _IMMUTABLE[kind] = known
    return known


def immutable_items(items: list[Any]) -> bool:
    """Whether no item of a list can change in place (so the items may be shared)."""
    return all(map(_immutable, items))


def snapshot(value: list[Any], checked: int = 0) -> tuple[Any, ...] | None:
    """A private copy of a list to cache, or None if an item could change in place.
    The first ``checked`` items are already known to be immutable."""
    if all(map(_immutable, value[checked:])):
        return tuple(value)
    return None


def extends(new: list[Any], old: Sequence[Any]) -> bool:
    """Whether ``new[:len(old)]`` equals ``old`` item by item, types included."""
    k = len(old)
    if len(new) < k:
        return False
    if all(map(operator.is_, old, new)):
        return True
    try:
        return all(type(a) is type(b) and a == b for a, b in zip(old, new, strict=False))
    except Exception:  # an item whose == raises (arrays, ...) cannot be compared
        return False
