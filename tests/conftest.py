"""Shared fixtures: a PostgreSQL schema per test, dropped afterwards (savers and graphs use it)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator

import pytest

POSTGRES_DSN = os.environ.get(
    "HONE_POSTGRES_DSN", "host=127.0.0.1 port=5432 user=postgres dbname=test connect_timeout=3"
)


def _postgres_reachable() -> str | None:
    """None when PostgreSQL answers, else why not."""
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        with psycopg.connect(POSTGRES_DSN) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"PostgreSQL at 127.0.0.1:5432 is unreachable: {exc}"
    return None


@pytest.fixture
def pg_dsn() -> str:
    """The connection string of the test database."""
    return POSTGRES_DSN


@pytest.fixture
def pg_schemas() -> Iterator[Callable[[], str]]:
    """A factory of fresh schema names; every schema it named is dropped at teardown.

    Skips when PostgreSQL is unreachable, unless HONE_REQUIRE_POSTGRES is set (then fails).
    """
    problem = _postgres_reachable()
    if problem is not None:
        if os.environ.get("HONE_REQUIRE_POSTGRES"):
            pytest.fail(f"HONE_REQUIRE_POSTGRES is set but {problem}")
        pytest.skip(problem)
    import psycopg

    made: list[str] = []

    def new_schema() -> str:
        name = f"hone_test_{uuid.uuid4().hex[:12]}"
        made.append(name)
        return name

    yield new_schema
    with psycopg.connect(POSTGRES_DSN, autocommit=True) as conn:
        for name in made:
            conn.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')
