"""Node caching: a node with a ``CachePolicy`` in a graph compiled with a cache reuses the
writes of an earlier run with the same input (by ``key_func``, for ``ttl`` seconds)."""

from __future__ import annotations

import asyncio
import operator
import time
from typing import Annotated, Any, TypedDict

import pytest

from hone.checkpoint import InMemorySaver
from hone.graph import START, BaseCache, CachePolicy, InMemoryCache, StateGraph


class S(TypedDict):
    n: int
    log: Annotated[list[str], operator.add]


def _doubler(calls: list[int], policy: CachePolicy, **compile_kw: Any) -> Any:
    def double(state: S) -> dict[str, Any]:
        calls.append(state["n"])
        return {"n": state["n"] * 2, "log": [f"doubled {state['n']}"]}

    g = StateGraph(S).add_node("double", double, cache_policy=policy).add_edge(START, "double")
    g.add_node("after", lambda s: {"log": ["after"]}).add_edge("double", "after")
    return g.compile(**compile_kw)


def test_same_input_is_served_from_the_cache() -> None:
    calls: list[int] = []
    graph = _doubler(calls, CachePolicy(), cache=InMemoryCache())
    assert graph.invoke({"n": 2}) == {"n": 4, "log": ["doubled 2", "after"]}
    assert graph.invoke({"n": 2}) == {"n": 4, "log": ["doubled 2", "after"]}
    assert graph.invoke({"n": 3})["n"] == 6
    assert calls == [2, 3]
    # A cached update is streamed with LangGraph's marker.
    assert list(graph.stream({"n": 2})) == [
        {"double": {"n": 4, "log": ["doubled 2"]}, "__metadata__": {"cached": True}},
        {"after": {"log": ["after"]}},
    ]
    assert calls == [2, 3]


async def test_async_runs_share_the_cache() -> None:
    calls: list[int] = []
    graph = _doubler(calls, CachePolicy(), cache=InMemoryCache())
    first, second = await asyncio.gather(graph.ainvoke({"n": 5}), graph.ainvoke({"n": 6}))
    assert (first["n"], second["n"]) == (10, 12)
    assert (await graph.ainvoke({"n": 5}))["n"] == 10
    assert sorted(calls) == [5, 6]


def test_key_func_ttl_and_clear_cache() -> None:
    calls: list[int] = []
    parity = CachePolicy(key_func=lambda state: str(state["n"] % 2))
    graph = _doubler(calls, parity, cache=InMemoryCache())
    assert [graph.invoke({"n": n})["n"] for n in (1, 3, 2)] == [2, 2, 4]
    assert calls == [1, 2]
    graph.clear_cache()
    assert graph.invoke({"n": 3})["n"] == 6 and calls == [1, 2, 3]
    graph.clear_cache(["after"])  # another node's entries: "double" stays cached
    assert graph.invoke({"n": 5})["n"] == 6 and calls == [1, 2, 3]

    calls.clear()
    brief = _doubler(calls, CachePolicy(ttl=1), cache=InMemoryCache())
    brief.invoke({"n": 1})
    brief.invoke({"n": 1})
    assert calls == [1]
    time.sleep(1.05)
    brief.invoke({"n": 1})
    assert calls == [1, 1]


def test_cached_writes_are_checkpointed_like_computed_ones() -> None:
    calls: list[int] = []
    graph = _doubler(calls, CachePolicy(), cache=InMemoryCache(), checkpointer=InMemorySaver())
    graph.invoke({"n": 2}, {"configurable": {"thread_id": "a"}})
    graph.invoke({"n": 2}, {"configurable": {"thread_id": "b"}})
    assert calls == [2]
    histories = [
        [(h.values, h.next) for h in graph.get_state_history({"configurable": {"thread_id": t}})]
        for t in ("a", "b")
    ]
    assert histories[0] == histories[1]


def test_without_a_cache_the_policy_does_nothing() -> None:
    calls: list[int] = []
    graph = _doubler(calls, CachePolicy())
    graph.invoke({"n": 1})
    graph.invoke({"n": 1})
    assert calls == [1, 1]
    with pytest.raises(ValueError, match="No cache is set for this graph"):
        graph.clear_cache()


def test_in_memory_cache_copies_values_and_follows_the_protocol() -> None:
    cache = InMemoryCache()
    assert isinstance(cache, BaseCache)
    value = {"items": [1]}
    cache.set({(("ns",), "k"): (value, None)})
    value["items"].append(2)  # the cache kept a copy
    got = cache.get([(("ns",), "k"), (("ns",), "missing")])
    assert got == {(("ns",), "k"): {"items": [1]}}
    got[(("ns",), "k")]["items"].append(3)
    assert cache.get([(("ns",), "k")])[(("ns",), "k")] == {"items": [1]}
    cache.set({(("other",), "k"): (1, 0)})  # ttl 0: expired at once
    assert cache.get([(("other",), "k")]) == {}
    cache.clear([("ns",)])
    assert cache.get([(("ns",), "k")]) == {}
