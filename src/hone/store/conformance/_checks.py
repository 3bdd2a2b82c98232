"""The conformance checks, one function per behaviour, and how to run them."""

from __future__ import annotations

import asyncio
import threading
import time
import unittest
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from hone.errors import (
    ConfigError,
    InvalidFilterError,
    InvalidNamespaceError,
)
from hone.store._base import BaseStore
from hone.store._types import GetOp, ListNamespacesOp, PutOp, SearchOp
from hone.store.conformance._kit import StoreHarness, expect, keys_of, opened
from hone.store.conformance._search_checks import INDEX as _INDEX
from hone.store.conformance._search_checks import TTL_AND_SEARCH_CHECKS

__all__ = ["CHECKS", "FILTER_CASES", "run_all", "run_check"]

Check = Callable[[StoreHarness], None]

# -- keys and values -------------------------------------------------------------------------


def check_put_get_delete(harness: StoreHarness) -> None:
    """A value comes back as put; a second put replaces it, keeps ``created_at`` and moves
    ``updated_at``; delete removes it; missing keys and deleting them are fine."""
    with opened(harness) as store:
        ns = ("users", "42")
        expect(store.get(ns, "missing") is None, "a missing key gives None")
        value = {"name": "Ada", "langs": ["en", "fr"], "age": 36, "ok": True, "x": None}
        store.put(ns, "profile", value)
        first = store.get(ns, "profile")
        expect(first is not None and first.value == value, f"got back {first!r}")
        assert first is not None
        expect(first.namespace == ns and first.key == "profile", "namespace or key changed")
        expect(isinstance(first.created_at, datetime), "created_at is a datetime")
        expect(first.created_at.tzinfo is not None, "times are timezone-aware (UTC)")
        time.sleep(0.01)
        store.put(ns, "profile", {"name": "Ada L."})
        second = store.get(ns, "profile")
        assert second is not None
        expect(second.value == {"name": "Ada L."}, "a put replaces the whole value")
        expect(second.created_at == first.created_at, "created_at must not change on update")
        expect(second.updated_at > first.updated_at, "updated_at must move on update")
        store.delete(ns, "profile")
        expect(store.get(ns, "profile") is None, "deleted item still there")
        store.delete(ns, "profile")  # deleting again is not an error
        store.put(ns, 7, {"n": 1})  # type: ignore[arg-type]
        expect(store.get(ns, "7") is not None, "keys are strings (str(key))")


def check_values_are_copies(harness: StoreHarness) -> None:
    """Changing a dict after putting it, or one got back, never changes the stored item."""
    with opened(harness) as store:
        value: dict[str, Any] = {"a": [1, 2], "b": {"c": 1}}
        store.put(("ns",), "k", value)
        value["a"].append(3)
        value["b"]["c"] = 99
        got = store.get(("ns",), "k")
        assert got is not None
        expect(got.value == {"a": [1, 2], "b": {"c": 1}}, "stored value changed with the caller's")
        got.value["a"].append(4)
        again = store.get(("ns",), "k")
        assert again is not None
        expect(again.value == {"a": [1, 2], "b": {"c": 1}}, "stored value changed with a read one")


def check_unicode(harness: StoreHarness) -> None:
    """Labels, keys and values may hold any text but a period or NUL in labels."""
    with opened(harness) as store:
        ns = ("用户", "émile", "🙂")
        store.put(ns, "clé/ü", {"t": "naïve – 雪"})
        got = store.get(ns, "clé/ü")
        expect(got is not None and got.value == {"t": "naïve – 雪"}, f"got {got!r}")
        expect(store.list_namespaces() == [ns], "unicode namespace not listed")


def check_bad_namespaces(harness: StoreHarness) -> None:
    """Malformed namespaces raise InvalidNamespaceError (also a ValueError), through the
    methods and through ``batch``."""
    with opened(harness) as store:
        bad_puts: list[Any] = [
            (),
            ("langgraph", "x"),
            ("a.b",),
            ("",),
            ("a", 1),
            "users",
            ("a\x00",),
        ]
        for ns in bad_puts:
            try:
                store.put(ns, "k", {"v": 1})
            except InvalidNamespaceError as exc:
                expect(isinstance(exc, ValueError), "InvalidNamespaceError is a ValueError")
            else:
                raise AssertionError(f"put accepted namespace {ns!r}")
        for call in (
            lambda: store.get(("a.b",), "k"),
            lambda: store.search(("",)),
            lambda: store.list_namespaces(prefix=("x.y",)),
            lambda: store.delete(("a", 2), "k"),  # type: ignore[arg-type]
            lambda: store.batch([GetOp(("a.b",), "k")]),
            lambda: store.batch([PutOp(("a.b",), "k", {"v": 1})]),
            lambda: store.batch([SearchOp(("a", ""))]),
        ):
            try:
                call()
            except InvalidNamespaceError:
                continue
            raise AssertionError("a malformed namespace was accepted")
        expect(store.list_namespaces() == [], "a rejected write was stored")


def check_bad_values(harness: StoreHarness) -> None:
    """Values that are not JSON dicts are refused before anything is stored."""
    with opened(harness) as store:
        for value in ({"t": object()}, {"x": float("nan")}, ["not", "a", "dict"]):
            try:
                store.put(("ns",), "k", value)  # type: ignore[arg-type]
            except (ValueError, TypeError, ConfigError):
                continue
            raise AssertionError(f"put accepted {value!r}")
        expect(store.get(("ns",), "k") is None, "a refused value was stored")


# -- search ----------------------------------------------------------------------------------


def check_search_prefix_and_order(harness: StoreHarness) -> None:
    """Search covers the prefix and everything under it, label by label (``("a",)`` does not
    reach ``("ab",)``), newest update first, paged by limit and offset."""
    with opened(harness) as store:
        for i, ns in enumerate([("a",), ("a", "b"), ("a", "b", "c"), ("ab",), ("b", "a")]):
            store.put(ns, f"k{i}", {"i": i})
            time.sleep(0.002)
        expect(keys_of(store.search(("a",))) == ["k2", "k1", "k0"], "prefix or order wrong")
        expect(keys_of(store.search(("a", "b"))) == ["k2", "k1"], "nested prefix wrong")
        expect(keys_of(store.search(())) == ["k4", "k3", "k2", "k1", "k0"], "empty prefix")
        expect(keys_of(store.search((), limit=2, offset=1)) == ["k3", "k2"], "limit/offset")
        expect(store.search((), limit=0) == [], "limit 0 gives nothing")
        expect(store.search(("zzz",)) == [], "an unknown prefix gives nothing")
        store.put(("a",), "k0", {"i": 10})
        expect(keys_of(store.search(("a",)))[0] == "k0", "an update moves the item first")
        hit = store.search(("a",), limit=1)[0]
        expect(hit.score is None, "search without a query has no score")


#: A dataset and (filter, expected keys) pairs every store must agree on.
FILTER_DATA: dict[str, dict[str, Any]] = {
    "a": {"n": 1, "s": "apple", "b": True, "tags": ["x", "y"], "m": {"k": 1, "d": "2024-01-05"}},
    "b": {"n": 2.5, "s": "banana", "b": False, "tags": ["y"], "m": {"k": 2, "d": "2023-12-31"}},
    "c": {"n": 10, "s": "cherry", "tags": [], "m": {"k": 1}, "z": None},
    "d": {"n": "10", "s": "Date", "b": 1, "m": "flat"},
}
FILTER_CASES: list[tuple[dict[str, Any], set[str]]] = [
    ({"s": "apple"}, {"a"}),
    ({"n": 1}, {"a"}),
    ({"n": 1.0}, {"a"}),
    ({"n": 10}, {"c"}),
    ({"n": "10"}, {"d"}),
    ({"b": True}, {"a"}),
    ({"b": 1}, {"d"}),
    ({"b": False}, {"b"}),
    ({"z": None}, {"a", "b", "c", "d"}),
    ({"b": None}, {"c"}),
    ({"tags": ["x", "y"]}, {"a"}),
    ({"tags": []}, {"c"}),
    ({"tags": ["y"]}, {"b"}),
    ({"m": {"k": 1}}, {"a", "c"}),
    ({"m.k": 1}, {"a", "c"}),
    ({"m.k": {"$ne": 1}}, {"b", "d"}),
    ({"n": {"$gt": 1}}, {"b", "c"}),
    ({"n": {"$gte": 1}}, {"a", "b", "c"}),
    ({"n": {"$lt": 10}}, {"a", "b"}),
    ({"n": {"$lte": 2.5}}, {"a", "b"}),
    ({"n": {"$gt": 1, "$lt": 10}}, {"b"}),
    ({"n": {"$eq": 2.5}}, {"b"}),
    ({"n": {"$ne": 1}}, {"b", "c", "d"}),
    ({"s": {"$gt": "b"}}, {"b", "c"}),
    ({"s": {"$lt": "a"}}, {"d"}),
    ({"m.d": {"$gte": "2024-01-01"}}, {"a"}),
    ({"s": {"$ne": "apple"}, "n": {"$gte": 2}}, {"b", "c"}),
    ({"missing": {"$ne": 3}}, {"a", "b", "c", "d"}),
    ({"missing": 3}, set()),
    ({"tags": {"$ne": ["y"]}}, {"a", "c", "d"}),
    ({"n": {"$lt": float("inf")}}, {"a", "b", "c"}),
    ({"n": {"$gt": float("-inf")}}, {"a", "b", "c"}),
    ({"n": {"$lt": 10**100}}, {"a", "b", "c"}),
    ({"n": float("nan")}, set()),
    ({"n": {"$lt": float("nan")}}, set()),
    ({"n": {"$ne": float("nan")}}, {"a", "b", "c", "d"}),
]
BAD_FILTERS: list[Any] = [
    {"n": {"$regex": "x"}},
    {"n": {"$gt": None}},
    {"n": {"$gt": True}},
    {"n": {"$lt": [1]}},
    {"n": {"$eq": {"a": 1}}},
    {"n": {"$gt": 1, "k": 2}},
    {"": 1},
    {"a..b": 1},
    {"n": [{"a": 1}]},
    {"n": {}},
    ["n", 1],
]


def check_filters(harness: StoreHarness) -> None:
    """Every case of :data:`FILTER_CASES` finds exactly its keys."""
    with opened(harness) as store:
        for key, value in FILTER_DATA.items():
            store.put(("f", "x"), key, value)
        store.put(("g",), "outside", {"s": "apple"})
        for spec, want in FILTER_CASES:
            got = set(keys_of(store.search(("f",), filter=spec, limit=100)))
            expect(got == want, f"filter {spec!r}: got {sorted(got)}, want {sorted(want)}")


def check_bad_filters(harness: StoreHarness) -> None:
    """Malformed filters raise InvalidFilterError (a ValueError) naming the problem."""
    with opened(harness) as store:
        store.put(("f",), "a", {"n": 1})
        for spec in BAD_FILTERS:
            try:
                store.search(("f",), filter=spec)
            except InvalidFilterError as exc:
                expect(isinstance(exc, ValueError) and str(exc) != "", "error without text")
                continue
            raise AssertionError(f"filter {spec!r} was accepted")


# -- namespaces ------------------------------------------------------------------------------


def check_list_namespaces(harness: StoreHarness) -> None:
    """Listing: sorted, prefix and suffix with ``"*"`` wildcards, ``max_depth``, paging."""
    with opened(harness) as store:
        spaces = [
            ("a", "b", "c"),
            ("a", "b", "d", "e"),
            ("a", "b", "d", "i"),
            ("a", "b", "f"),
            ("a", "c", "f"),
            ("b", "a", "f"),
            ("users", "123"),
            ("users", "456", "settings"),
        ]
        for ns in spaces:
            store.put(ns, "k", {"v": 1})
        expect(store.list_namespaces() == sorted(spaces), "full listing")
        expect(
            store.list_namespaces(prefix=("a", "b"), max_depth=3)
            == [("a", "b", "c"), ("a", "b", "d"), ("a", "b", "f")],
            "max_depth cut and merged",
        )
        expect(
            store.list_namespaces(suffix=("f",))
            == [("a", "b", "f"), ("a", "c", "f"), ("b", "a", "f")],
            "suffix",
        )
        expect(
            store.list_namespaces(prefix=("a", "*", "f")) == [("a", "b", "f"), ("a", "c", "f")],
            "wildcard prefix",
        )
        expect(
            store.list_namespaces(prefix=("*", "b"))
            == [("a", "b", "c"), ("a", "b", "d", "e"), ("a", "b", "d", "i"), ("a", "b", "f")],
            "leading wildcard",
        )
        expect(
            store.list_namespaces(prefix=("a",), suffix=("f",))
            == [("a", "b", "f"), ("a", "c", "f")],
            "both",
        )
        expect(store.list_namespaces(max_depth=1) == [("a",), ("b",), ("users",)], "depth 1")
        expect(store.list_namespaces(limit=2, offset=1) == sorted(spaces)[1:3], "paging")
        expect(store.list_namespaces(prefix=("use",)) == [], "prefix matches whole labels")
        store.delete(("users", "123"), "k")
        expect(("users", "123") not in store.list_namespaces(), "an emptied namespace is listed")


# -- batches, async, concurrency -------------------------------------------------------------


def check_batch_semantics(harness: StoreHarness) -> None:
    """``batch`` answers each op in order; reads see the store as before the batch; the last
    write to a key wins; LangGraph's op objects work too when LangGraph is installed."""
    with opened(harness) as store:
        store.put(("b",), "old", {"v": 0})
        results = store.batch(
            [
                PutOp(("b",), "new", {"v": 1}),
                GetOp(("b",), "new"),
                GetOp(("b",), "old"),
                PutOp(("b",), "new", {"v": 2}),
                SearchOp(("b",)),
                ListNamespacesOp(),
                PutOp(("b",), "old", None),
            ]
        )
        expect(len(results) == 7, "one result per op")
        expect(results[0] is None and results[1] is None, "a read saw a write of its batch")
        expect(results[2] is not None and results[2].value == {"v": 0}, "get of an old item")  # type: ignore[union-attr]
        expect(keys_of(results[4]) == ["old"], "search saw a write of its batch")  # type: ignore[arg-type]
        expect(results[5] == [("b",)], "list_namespaces")
        got = store.get(("b",), "new")
        expect(got is not None and got.value == {"v": 2}, "the last write must win")
        expect(store.get(("b",), "old") is None, "a delete in a batch was lost")
        try:
            from langgraph.store import base as lg
        except ImportError:
            return
        theirs: list[Any] = [lg.PutOp(("b",), "lg", {"v": 3}), lg.GetOp(("b",), "new")]
        out = store.batch(theirs)
        expect(out[1] is not None and out[1].value == {"v": 2}, "LangGraph ops")  # type: ignore[union-attr]
        listing: list[Any] = [
            lg.ListNamespacesOp(match_conditions=(lg.MatchCondition("prefix", ("b",)),))
        ]
        listed = store.batch(listing)
        expect(listed[0] == [("b",)], "LangGraph list op")


def check_async_twins(harness: StoreHarness) -> None:
    """The async methods do what the sync ones do."""

    async def body(store: BaseStore) -> None:
        await store.aput(("x", "y"), "k", {"text": "async cats"})
        got = await store.aget(("x", "y"), "k")
        expect(got is not None and got.value == {"text": "async cats"}, "aput/aget")
        hits = await store.asearch(("x",), query="cats", filter={"text": "async cats"})
        expect(keys_of(hits) == ["k"], "asearch")
        expect(await store.alist_namespaces(prefix=("x",)) == [("x", "y")], "alist_namespaces")
        results = await asyncio.gather(*(store.aput(("x",), f"k{i}", {"i": i}) for i in range(20)))
        expect(len(results) == 20 and len(await store.asearch(("x",), limit=100)) == 21, "gather")
        await store.adelete(("x", "y"), "k")
        expect(await store.aget(("x", "y"), "k") is None, "adelete")

    with opened(harness, index=_INDEX) as store:
        asyncio.run(body(store))


def check_concurrent_writers(harness: StoreHarness) -> None:
    """Threads writing and searching at once lose nothing."""
    with opened(harness, index=_INDEX) as store:
        errors: list[BaseException] = []

        def work(n: int) -> None:
            try:
                for i in range(15):
                    store.put(("c", str(n)), f"k{i}", {"text": f"writer {n} item {i}"})
                    store.search(("c",), query=f"writer {n}", limit=3)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=work, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        expect(not errors, f"errors: {errors[:1]}")
        expect(len(store.search(("c",), limit=1000)) == 90, "items lost")
        hits = store.search(("c",), query="writer 3 item 7", limit=1)
        expect(keys_of(hits) == ["k7"] and hits[0].namespace == ("c", "3"), "cache is stale")


def check_times_are_utc_now(harness: StoreHarness) -> None:
    """``created_at`` / ``updated_at`` are the time of the write, in UTC."""
    with opened(harness) as store:
        before = datetime.now(UTC)
        store.put(("t",), "k", {"v": 1})
        after = datetime.now(UTC)
        got = store.get(("t",), "k")
        assert got is not None
        expect(
            before.timestamp() - 1 <= got.updated_at.timestamp() <= after.timestamp() + 1, "time"
        )
        expect(got.dict()["namespace"] == ["t"], "Item.dict() shape")


CHECKS: dict[str, Check] = {
    name.removeprefix("check_"): fn
    for name, fn in sorted({**globals(), **TTL_AND_SEARCH_CHECKS}.items())
    if name.startswith("check_") and callable(fn)
}


def run_check(harness: StoreHarness, name: str) -> None:
    """Run one check by name (raises ``AssertionError`` on failure, ``unittest.SkipTest``
    when the harness lacks a hook it needs)."""
    CHECKS[name](harness)


def run_all(harness: StoreHarness) -> dict[str, str]:
    """Run every check; the outcome of each (``"passed"``, ``"skipped: ..."`` or
    ``"failed: ..."``)."""
    out = {}
    for name, check in CHECKS.items():
        try:
            check(harness)
        except unittest.SkipTest as exc:
            out[name] = f"skipped: {exc}"
        except Exception as exc:
            out[name] = f"failed: {type(exc).__name__}: {exc}"
        else:
            out[name] = "passed"
    return out
