"""The store conformance suite against every store hone ships (PostgreSQL skips when the
server is unreachable, unless HONE_REQUIRE_POSTGRES is set)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hone.store import InMemoryStore, PostgresStore, SqliteStore
from hone.store.conformance import CHECKS, StoreHarness, run_check

NAMES = sorted(CHECKS)


@pytest.mark.parametrize("name", NAMES)
def test_in_memory(name: str) -> None:
    run_check(StoreHarness(make=lambda index, ttl: InMemoryStore(index=index, ttl=ttl)), name)


@pytest.mark.parametrize("name", NAMES)
def test_sqlite_file(name: str, tmp_path: Path) -> None:
    path = tmp_path / "store.db"

    def make(index: Any, ttl: Any) -> SqliteStore:
        return SqliteStore(path, index=index, ttl=ttl)

    run_check(StoreHarness(make=make, reopen=make), name)


@pytest.mark.parametrize("name", NAMES)
def test_sqlite_memory(name: str) -> None:
    run_check(
        StoreHarness(make=lambda index, ttl: SqliteStore(":memory:", index=index, ttl=ttl)), name
    )


@pytest.mark.postgres
@pytest.mark.parametrize("name", NAMES)
def test_postgres(name: str, pg_dsn: str, pg_schemas: Callable[[], str]) -> None:
    schema = pg_schemas()

    def make(index: Any, ttl: Any) -> PostgresStore:
        return PostgresStore(pg_dsn, index=index, ttl=ttl, schema=schema, max_size=4)

    run_check(StoreHarness(make=make, reopen=make), name)
