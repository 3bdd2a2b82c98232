"""Node caching: a node (or functional-API task) with a :class:`~hone.graph.CachePolicy`
reuses the writes of an earlier run with the same input, from the cache the graph was
compiled with.

A cache maps ``(namespace, key)`` to a value with an optional time to live; namespaces are
``("__pregel_ns_writes", "<module>.<function>", "<node>")``. :class:`InMemoryCache` keeps
copies of the values in this process; any object with the same four methods (``get``,
``set``, ``clear`` and their async twins) works, LangGraph's caches included.
"""

from __future__ import annotations

import copy
import threading
import time
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TypeAlias, runtime_checkable

__all__ = ["BaseCache", "FullKey", "InMemoryCache", "Namespace"]

Namespace: TypeAlias = tuple[str, ...]
FullKey: TypeAlias = tuple[Namespace, str]


@runtime_checkable
class BaseCache(Protocol):
    """What the runtime needs from a cache."""

    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, Any]:
        """The cached values of those keys that have one (not expired)."""
        ...

    def set(self, pairs: Mapping[FullKey, tuple[Any, int | None]]) -> None:
        """Store values, each with a time to live in seconds (None: forever)."""
        ...

    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        """Delete the values of some namespaces (None: all)."""
        ...


class InMemoryCache:
    """A thread-safe in-process cache; values are copied in and out."""

    def __init__(self) -> None:
        self._data: dict[Namespace, dict[str, tuple[Any, float | None]]] = {}
        self._lock = threading.RLock()

    def get(self, keys: Sequence[FullKey]) -> dict[FullKey, Any]:
        """The cached values of those keys that have one (not expired)."""
        now = time.time()
        out: dict[FullKey, Any] = {}
        with self._lock:
            for ns, key in keys:
                ns = tuple(ns)
                entry = self._data.get(ns, {}).get(key)
                if entry is None:
                    continue
                value, expiry = entry
                if expiry is not None and now >= expiry:
                    del self._data[ns][key]
                    continue
                out[(ns, key)] = copy.deepcopy(value)
        return out

    def set(self, pairs: Mapping[FullKey, tuple[Any, int | None]]) -> None:
        """Store values, each with a time to live in seconds (None: forever)."""
        now = time.time()
        with self._lock:
            for (ns, key), (value, ttl) in pairs.items():
                expiry = None if ttl is None else now + ttl
                self._data.setdefault(tuple(ns), {})[key] = (copy.deepcopy(value), expiry)

    def clear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        """Delete the values of some namespaces (None: all)."""
        with self._lock:
            if namespaces is None:
                self._data.clear()
                return
            for ns in namespaces:
                self._data.pop(tuple(ns), None)

    async def aget(self, keys: Sequence[FullKey]) -> dict[FullKey, Any]:
        """Async :meth:`get`."""
        return self.get(keys)

    async def aset(self, pairs: Mapping[FullKey, tuple[Any, int | None]]) -> None:
        """Async :meth:`set`."""
        self.set(pairs)

    async def aclear(self, namespaces: Sequence[Namespace] | None = None) -> None:
        """Async :meth:`clear`."""
        self.clear(namespaces)
