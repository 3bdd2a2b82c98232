"""Conformance checks of expiry (TTL) and semantic search (index configs, embedders)."""

from __future__ import annotations

import time
import unittest

from hone.errors import EmbeddingMismatchError
from hone.store._embed import HashingEmbedder
from hone.store.conformance._kit import StoreHarness, expect, keys_of, opened

__all__ = ["INDEX", "TTL_AND_SEARCH_CHECKS"]

#: The index config the checks use: the hashing embedder at 64 dimensions, field ``text``.
INDEX = {"dims": 64, "embed": HashingEmbedder(64), "fields": ["text"]}
_INDEX = INDEX


# -- TTL -------------------------------------------------------------------------------------

_SHORT = 0.5 / 60  # half a second, in minutes


def check_ttl_expiry_and_refresh(harness: StoreHarness) -> None:
    """An item expires ``ttl`` minutes after its last write or refreshing read; reads with
    ``refresh_ttl=False`` do not extend it; expired items are never returned or listed."""
    with opened(harness, ttl={"refresh_on_read": True}) as store:
        expect(store.supports_ttl, "supports_ttl must be True")
        store.put(("t",), "refreshed", {"v": 1}, ttl=_SHORT)
        store.put(("t",), "plain", {"v": 2}, ttl=_SHORT)
        store.put(("t",), "forever", {"v": 3}, ttl=None)
        store.put(("gone",), "x", {"v": 4}, ttl=_SHORT)
        for _ in range(4):
            time.sleep(0.15)
            expect(store.get(("t",), "refreshed") is not None, "a refreshed item expired early")
            store.get(("t",), "plain", refresh_ttl=False)
        time.sleep(0.1)
        expect(store.get(("t",), "plain") is None, "an unrefreshed item outlived its TTL")
        expect(store.get(("gone",), "x") is None, "expired item returned")
        expect(set(keys_of(store.search(("t",)))) == {"refreshed", "forever"}, "expired found")
        expect(("gone",) not in store.list_namespaces(), "an expired namespace is listed")
        expect(store.get(("t",), "forever") is not None, "an item without TTL expired")
        sweep = getattr(store, "sweep_ttl", None)
        if callable(sweep):
            expect(sweep() >= 1, "sweep_ttl deleted nothing")
            expect(sweep() == 0, "a second sweep found more")


def check_ttl_search_refresh_and_default(harness: StoreHarness) -> None:
    """Search refreshes the TTL of what it returns; ``default_ttl`` applies to puts naming
    none; ``refresh_on_read=False`` makes reads leave TTLs alone unless asked."""
    with opened(harness, ttl={"default_ttl": _SHORT, "refresh_on_read": False}) as store:
        store.put(("d",), "defaulted", {"v": 1})
        store.put(("d",), "kept", {"v": 2}, ttl=None)
        store.put(("s",), "searched", {"v": 3})
        for _ in range(4):
            time.sleep(0.15)
            store.search(("s",), refresh_ttl=True)
            store.get(("d",), "defaulted")  # the config says: no refresh
        expect(store.get(("d",), "defaulted") is None, "default_ttl was not applied")
        expect(store.get(("d",), "kept") is not None, "ttl=None must override default_ttl")
        expect(store.get(("s",), "searched") is not None, "search did not refresh")


def check_overwrite_expired(harness: StoreHarness) -> None:
    """Putting a key whose item expired makes a new item (``created_at`` restarts)."""
    with opened(harness) as store:
        store.put(("warm",), "k", {"v": 0})  # the first write may set up tables
        store.put(("t",), "k", {"v": 1}, ttl=0.3 / 60)
        first = store.get(("t",), "k")
        expect(first is not None, "an item vanished before its TTL")
        assert first is not None
        time.sleep(0.35)
        store.put(("t",), "k", {"v": 2})
        second = store.get(("t",), "k")
        assert second is not None
        expect(second.created_at > first.created_at, "an expired item's created_at was kept")
        time.sleep(0.35)
        expect(store.get(("t",), "k") is not None, "a put without ttl kept the old expiry")


# -- semantic search -------------------------------------------------------------------------

_DOCS = {
    "cats": "cats purr and chase mice",
    "dogs": "dogs bark and fetch sticks",
    "stocks": "the stock market fell sharply today",
    "pasta": "boil pasta in salted water",
}


def check_semantic_ranking(harness: StoreHarness) -> None:
    """With an index, a query ranks items by cosine similarity (scores descending, in
    [-1, 1]); items with no vectors come after every scored one; filters and paging apply."""
    with opened(harness, index=_INDEX) as store:
        for key, text in _DOCS.items():
            store.put(
                ("docs",),
                key,
                {"text": text, "kind": "animal" if key in ("cats", "dogs") else "other"},
            )
        store.put(("docs",), "raw", {"text": "cats and mice"}, index=False)
        hits = store.search(("docs",), query="mice and cats", limit=10)
        expect(keys_of(hits)[0] == "cats", f"best hit {keys_of(hits)}")
        scores = [h.score for h in hits if h.score is not None]
        expect(scores == sorted(scores, reverse=True), "scores not descending")
        expect(all(-1.0001 <= s <= 1.0001 for s in scores), "scores outside [-1, 1]")
        expect(hits[-1].key == "raw" and hits[-1].score is None, "unindexed item not last")
        expect(len(hits) == 5, "every item is returned")
        filtered = store.search(("docs",), query="mice and cats", filter={"kind": "other"})
        expect(
            keys_of(filtered)[0] in ("stocks", "pasta") and "cats" not in keys_of(filtered),
            "filter",
        )
        page = store.search(("docs",), query="mice and cats", limit=2, offset=3)
        expect(
            keys_of(page) == keys_of(hits)[3:5], f"paging across scored/unscored: {keys_of(page)}"
        )
        expect(store.search(("other",), query="cats") == [], "query outside the prefix")


def check_index_paths(harness: StoreHarness) -> None:
    """Index paths: nested ``a.b``, every item of ``arr[*]`` (an item scores its best
    vector), per-put ``index=[...]`` overriding the config, ``index=False`` none."""
    index = {"dims": 64, "embed": HashingEmbedder(64), "fields": ["meta.title", "notes[*].text"]}
    with opened(harness, index=index) as store:
        store.put(("p",), "nested", {"meta": {"title": "quantum physics lecture"}})
        store.put(
            ("p",),
            "many",
            {
                "meta": {"title": "misc"},
                "notes": [{"text": "baking bread"}, {"text": "jazz guitar chords"}],
            },
        )
        store.put(
            ("p",),
            "override",
            {"body": "jazz guitar chords", "meta": {"title": "x"}},
            index=["body"],
        )
        store.put(("p",), "none", {"meta": {"title": "quantum physics lecture"}}, index=False)
        top = store.search(("p",), query="quantum physics")[0]
        expect(top.key == "nested", f"a.b path not embedded: {top.key}")
        jazz = store.search(("p",), query="jazz guitar chords", limit=2)
        expect(
            set(keys_of(jazz)) == {"many", "override"}, f"arr[*] or index=[...]: {keys_of(jazz)}"
        )
        expect(all(h.score is not None and h.score > 0.9 for h in jazz), "best-vector score")
        last = store.search(("p",), query="quantum physics", limit=10)[-1]
        expect(last.key == "none" and last.score is None, "index=False item was embedded")


def check_query_without_index(harness: StoreHarness) -> None:
    """A store without an index config ignores ``query`` (as LangGraph's do): filtered
    results, newest first, no scores."""
    with opened(harness) as store:
        store.put(("q",), "a", {"text": "cats"})
        time.sleep(0.002)
        store.put(("q",), "b", {"text": "dogs"})
        hits = store.search(("q",), query="cats")
        expect(keys_of(hits) == ["b", "a"] and all(h.score is None for h in hits), "query used")


class _WrongDims:
    name = "wrong-dims"
    dims = 8

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return [[0.5] * 9 for _ in texts]

    def embed_query(self, text: str) -> list[float]:
        return [0.5] * 9


def check_embedder_dimension_mismatch(harness: StoreHarness) -> None:
    """An embedder returning vectors of another length than its index says fails with
    EmbeddingMismatchError, and nothing is stored."""
    with opened(harness, index={"dims": 8, "embed": _WrongDims()}) as store:
        try:
            store.put(("e",), "k", {"text": "hello"})
        except EmbeddingMismatchError:
            pass
        else:
            raise AssertionError("vectors of the wrong length were stored")
        expect(store.get(("e",), "k") is None, "the item was stored anyway")


def check_reopen_with_other_embedder(harness: StoreHarness) -> None:
    """Data persists across a reopen; reopening with another embedder or dimension fails
    with EmbeddingMismatchError."""
    if harness.reopen is None:
        raise unittest.SkipTest("no reopen hook: storage does not outlive the store")
    store = harness.make(index=_INDEX, ttl=None)
    try:
        store.put(("r",), "k", {"text": "persistent cats"})
    finally:
        harness.release(store)
    same = harness.reopen(index=_INDEX, ttl=None)
    try:
        hits = same.search(("r",), query="cats")
        expect(keys_of(hits) == ["k"] and hits[0].score is not None, "data or vectors lost")
    finally:
        harness.release(same)
    for other in ({"dims": 32, "embed": HashingEmbedder(32)}, {"dims": 64, "embed": _Renamed(64)}):
        changed = harness.reopen(index=other, ttl=None)
        try:
            changed.search(("r",), query="cats")
        except EmbeddingMismatchError as exc:
            expect("hashing-v1" in str(exc), f"the error should name the stored embedder: {exc}")
        else:
            raise AssertionError(f"opened with {other} over another embedder's vectors")
        finally:
            harness.release(changed)


class _Renamed(HashingEmbedder):
    @property
    def name(self) -> str:
        return "another-model"


TTL_AND_SEARCH_CHECKS = {
    name: fn for name, fn in sorted(globals().items()) if name.startswith("check_") and callable(fn)
}
