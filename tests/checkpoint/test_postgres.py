"""PostgresSaver beyond conformance: concurrency, setup races, lost connections, config."""

from __future__ import annotations

import sys
import threading
import uuid
from collections.abc import Callable

import pytest

from hone.checkpoint import PoolConfig, PostgresSaver
from hone.checkpoint.conformance import Chain, concurrent_forks, concurrent_writes, config
from hone.errors import CheckpointError, ConfigError

pytestmark = pytest.mark.postgres


def test_fifty_threads_write_at_once(pg_dsn: str, pg_schemas: Callable[[], str]) -> None:
    config = PoolConfig(min_size=2, max_size=10)
    with PostgresSaver(pg_dsn, schema=pg_schemas(), pool_config=config) as saver:
        concurrent_writes(saver, writers=50, steps=4)
        assert len(saver.list_threads()) == 51


def test_concurrent_setup_is_safe(pg_dsn: str, pg_schemas: Callable[[], str]) -> None:
    schema = pg_schemas()
    savers = [
        PostgresSaver(pg_dsn, schema=schema, pool_config=PoolConfig(max_size=1)) for _ in range(6)
    ]
    errors: list[BaseException] = []

    def setup(saver: PostgresSaver) -> None:
        try:
            saver.setup()
            Chain(saver, f"t-{id(saver)}").put(n=1)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=setup, args=(s,)) for s in savers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(savers[0].list_threads()) == 6
    for saver in savers:
        saver.close()


def _terminate(pg_dsn: str, application_name: str) -> int:
    import psycopg

    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        rows = conn.execute(
            # The timeout makes the call wait until the backend is gone (PostgreSQL 14+), so
            # the next query surely meets a dead connection.
            "SELECT pg_terminate_backend(pid, 5000) FROM pg_stat_activity"
            " WHERE application_name = %s",
            (application_name,),
        ).fetchall()
    return len(rows)


@pytest.mark.parametrize("check", [True, False], ids=["pool-check", "retry"])
def test_dropped_connections_are_replaced(
    pg_dsn: str, pg_schemas: Callable[[], str], check: bool, caplog: pytest.LogCaptureFixture
) -> None:
    from psycopg_pool import ConnectionPool

    name = f"hone-test-{uuid.uuid4().hex[:8]}"
    pool = ConnectionPool(
        pg_dsn,
        min_size=1,
        max_size=1,
        kwargs={"autocommit": True, "application_name": name},
        check=ConnectionPool.check_connection if check else None,
        open=True,
    )
    try:
        saver = PostgresSaver(pool, schema=pg_schemas())
        chain = Chain(saver, "t")
        chain.put(messages=["a"])
        assert _terminate(pg_dsn, name) == 1
        chain.put(messages=["a", "b"])  # the dead connection is replaced, or retried once
        got = saver.get(config("t"))
        assert got is not None and got["channel_values"]["messages"] == ["a", "b"]
        if not check:
            # Without the pool's check the saver's retry recovers, unless psycopg already saw
            # the server's termination notice and the pool discarded the connection itself.
            assert "retrying once" in caplog.text or "discarding closed connection" in caplog.text
        saver.close()  # a pool it was given stays open
        assert not pool.closed
    finally:
        pool.close()


def test_configuration_errors(pg_dsn: str, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ConfigError, match="identifier"):
        PostgresSaver(pg_dsn, schema="bad; drop table x")
    with pytest.raises(ConfigError, match="pool sizes"):
        PostgresSaver(pg_dsn, pool_config=PoolConfig(min_size=5, max_size=2))
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(ConfigError, match=r"pip install 'hone\[postgres\]'"):
        PostgresSaver(pg_dsn)


def test_from_conn_string_and_async_twins(pg_dsn: str, pg_schemas: Callable[[], str]) -> None:
    import asyncio

    schema = pg_schemas()
    with PostgresSaver.from_conn_string(pg_dsn, schema=schema) as saver:
        saver.setup()
        assert saver.offload  # async twins run in a worker thread: the loop never waits
        chain = Chain(saver, "t")
        cid = chain.put(messages=["a"])

        async def read() -> object:
            got = await saver.aget_tuple(config("t"))
            listed = [t async for t in saver.alist(config("t"))]
            assert [t.checkpoint["id"] for t in listed] == [cid]
            return got

        got = asyncio.run(read())
        assert got is not None
    with pytest.raises(CheckpointError, match="PostgresSaver is closed"):
        saver.get(config("t"))


def test_concurrent_appends_to_one_chain_fork(pg_dsn: str, pg_schemas: Callable[[], str]) -> None:
    config_ = PoolConfig(min_size=2, max_size=10)
    with PostgresSaver(pg_dsn, schema=pg_schemas(), pool_config=config_) as saver:
        concurrent_forks(saver, writers=20, rounds=3)
