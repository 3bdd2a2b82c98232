"""In-process caches that let a saver find delta bases without reading them back.

The value cache keeps, per (thread, ns, channel), the last list value stored and the id of its
chain. Chains only grow and stored items never change, so an entry serves every reference to
a prefix of its chain; entries written by other processes simply miss. A list of immutable
items (messages, frozen models, scalars) is cached as the caller's items, which can be shared
without a later in-place change of an item silently changing the cached base; other lists are
cached as private copies decoded from the stored bytes.
"""

from __future__ import annotations

import dataclasses
import operator
import threading
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

__all__ = ["LRU", "ValueCache", "extends", "immutable_items"]

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
    """The last list stored per (thread, ns, channel): its chain, and its items.

    Chains only grow, so the first ``n`` items of the cached chain are the value of any
    reference ``(chain, n)`` with ``n`` up to the cached length. Items are either the
    caller's own (when none can change in place: they are shared) or private copies the
    saver decoded from what it stored (mutable items: used to find delta bases, never handed
    out).
    """

    def __init__(self, size: int = 1024) -> None:
        self._lru: LRU[tuple[str, str, str], tuple[str, tuple[Any, ...], bool]] = LRU(size)

    def base(
        self, thread_id: str, ns: str, channel: str, chain_id: str, n: int
    ) -> tuple[Any, ...] | None:
        """The first ``n`` items of ``chain_id``, shared or private; None if not cached."""
        entry = self._lru.get((thread_id, ns, channel))
        if entry is None or entry[0] != chain_id or len(entry[1]) < n:
            return None
        return entry[1] if len(entry[1]) == n else entry[1][:n]

    def shared(
        self, thread_id: str, ns: str, channel: str, chain_id: str, n: int
    ) -> tuple[Any, ...] | None:
        """Like :meth:`base`, but only items that may be handed to a caller."""
        entry = self._lru.get((thread_id, ns, channel))
        if entry is None or entry[0] != chain_id or len(entry[1]) < n or entry[2]:
            return None
        return entry[1]

    def put(
        self,
        thread_id: str,
        ns: str,
        channel: str,
        chain_id: str,
        items: tuple[Any, ...],
        *,
        private: bool,
    ) -> None:
        """Remember the items of a stored list (``private``: copies not to hand out)."""
        self._lru.put((thread_id, ns, channel), (chain_id, items, private))

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
    # One check per type, not per item: a history of thousands of messages has a handful.
    return all(map(_immutable, {type(item): item for item in items}.values()))


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
