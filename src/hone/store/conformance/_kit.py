"""What the conformance checks share: the harness, expectations, sample data."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from hone.store._base import BaseStore

__all__ = ["StoreHarness", "expect", "keys_of", "opened"]


@dataclass(frozen=True, slots=True)
class StoreHarness:
    """How the checks get stores.

    Attributes:
        make: a new, empty store from keyword arguments ``index`` and ``ttl`` (LangGraph's
            config dicts, or None).
        reopen: a second store on the same storage as the last one ``make`` returned, with
            new ``index`` / ``ttl`` (for checks of what persists); None skips those checks.
        close: how to release a store (default: its ``close()`` when it has one).
    """

    make: Callable[..., BaseStore]
    reopen: Callable[..., BaseStore] | None = None
    close: Callable[[BaseStore], None] | None = None

    def release(self, store: BaseStore) -> None:
        """Close ``store``."""
        if self.close is not None:
            self.close(store)
            return
        closer = getattr(store, "close", None)
        if callable(closer):
            closer()


@contextmanager
def opened(harness: StoreHarness, *, index: Any = None, ttl: Any = None) -> Iterator[BaseStore]:
    """A fresh store, closed afterwards."""
    store = harness.make(index=index, ttl=ttl)
    try:
        yield store
    finally:
        harness.release(store)


def expect(condition: bool, message: str) -> None:
    """Fail the check with ``message`` unless ``condition``."""
    if not condition:
        raise AssertionError(message)


def keys_of(items: list[Any]) -> list[str]:
    """The keys of found items, in order."""
    return [item.key for item in items]
