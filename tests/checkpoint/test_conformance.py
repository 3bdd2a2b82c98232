"""The conformance suite against every saver hone ships."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hone.checkpoint import AesGcmCipher, InMemorySaver, Serializer, SqliteSaver
from hone.checkpoint.conformance import CHECKS, Saver, SaverHarness, run_check

NAMES = sorted(CHECKS)


def _memory_space(saver: Any, thread_id: str, ns: str) -> Any:
    return saver._backend.threads[thread_id][ns]


def _memory_corrupt(saver: Saver, thread_id: str, ns: str, checkpoint_id: str) -> None:
    space = _memory_space(saver, thread_id, ns)
    for key, blob in list(space.blobs.items()):
        if blob.blob_id.startswith(checkpoint_id):
            space.blobs[key] = dataclasses.replace(blob, data=b"T{not json")
    for (_, chain_id), segments in space.segments.items():
        if chain_id.startswith(checkpoint_id):
            for start, seg in list(segments.items()):
                segments[start] = dataclasses.replace(seg, data=b"T{not json")
    saver._values.forget(thread_id)  # type: ignore[attr-defined]


def _memory_set_format(saver: Saver, thread_id: str, ns: str, cid: str, version: int) -> None:
    space = _memory_space(saver, thread_id, ns)
    space.rows[cid] = dataclasses.replace(space.rows[cid], format_version=version)


def _memory_tamper(saver: Saver, thread_id: str, ns: str, checkpoint_id: str) -> None:
    """Flip one bit of each encrypted value the checkpoint wrote (its authentication fails)."""
    space = _memory_space(saver, thread_id, ns)

    def flip(data: bytes) -> bytes:
        assert data[:1] == b"E", "an encrypting saver stores sealed values"
        return data[:-1] + bytes((data[-1] ^ 1,))

    for key, blob in list(space.blobs.items()):
        if blob.blob_id.startswith(checkpoint_id):
            space.blobs[key] = dataclasses.replace(blob, data=flip(blob.data))
    for (_, chain_id), segments in space.segments.items():
        if chain_id.startswith(checkpoint_id):
            for start, seg in list(segments.items()):
                segments[start] = dataclasses.replace(seg, data=flip(seg.data))
    saver._values.forget(thread_id)  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", NAMES)
def test_encrypting_saver(name: str) -> None:
    """Every check holds when the saver encrypts what it stores (AES-GCM)."""
    run_check(
        SaverHarness(
            make=lambda: InMemorySaver(
                serde=Serializer(allow_pickle=True, cipher=AesGcmCipher(bytes(range(32))))
            ),
            corrupt=_memory_tamper,
            set_format_version=_memory_set_format,
        ),
        name,
    )


def _sqlite_conn(saver: Saver) -> sqlite3.Connection:
    return saver._backend._conn()  # type: ignore[attr-defined, no-any-return]


def _sqlite_corrupt(saver: Saver, thread_id: str, ns: str, checkpoint_id: str) -> None:
    conn = _sqlite_conn(saver)
    conn.execute(
        "UPDATE hone_blobs SET data = x'54ff00' WHERE thread_id = ? AND ns = ? AND blob_id LIKE ?",
        (thread_id, ns, checkpoint_id + "%"),
    )
    conn.execute(
        "UPDATE hone_segments SET data = x'54ff00' "
        "WHERE thread_id = ? AND ns = ? AND chain_id LIKE ?",
        (thread_id, ns, checkpoint_id + "%"),
    )
    saver._values.forget(thread_id)  # type: ignore[attr-defined]


def _sqlite_set_format(saver: Saver, thread_id: str, ns: str, cid: str, version: int) -> None:
    _sqlite_conn(saver).execute(
        "UPDATE hone_checkpoints SET format_version = ? "
        "WHERE thread_id = ? AND ns = ? AND checkpoint_id = ?",
        (version, thread_id, ns, cid),
    )


@pytest.mark.parametrize("name", NAMES)
def test_in_memory(name: str) -> None:
    run_check(
        SaverHarness(
            make=InMemorySaver, corrupt=_memory_corrupt, set_format_version=_memory_set_format
        ),
        name,
    )


@pytest.mark.parametrize("name", NAMES)
def test_sqlite(name: str, tmp_path: Path) -> None:
    run_check(
        SaverHarness(
            make=lambda: SqliteSaver(tmp_path / "checkpoints.db"),
            corrupt=_sqlite_corrupt,
            set_format_version=_sqlite_set_format,
        ),
        name,
    )


def _pg_exec(saver: Saver, sql: str, params: tuple[object, ...]) -> None:
    backend = saver._pg  # type: ignore[attr-defined]
    with backend._pool.connection() as conn:
        conn.execute(sql.replace("{p}", backend.prefix), params)


def _pg_corrupt(saver: Saver, thread_id: str, ns: str, checkpoint_id: str) -> None:
    for table, column in (("blobs", "blob_id"), ("segments", "chain_id")):
        _pg_exec(
            saver,
            f"UPDATE {{p}}{table} SET data = '\\x54ff00'::bytea "
            f"WHERE thread_id = %s AND ns = %s AND {column} LIKE %s",
            (thread_id, ns, checkpoint_id + "%"),
        )
    saver._values.forget(thread_id)  # type: ignore[attr-defined]


def _pg_set_format(saver: Saver, thread_id: str, ns: str, cid: str, version: int) -> None:
    _pg_exec(
        saver,
        "UPDATE {p}checkpoints SET format_version = %s "
        "WHERE thread_id = %s AND ns = %s AND checkpoint_id = %s",
        (version, thread_id, ns, cid),
    )


@pytest.mark.postgres
@pytest.mark.parametrize("name", NAMES)
def test_postgres(name: str, pg_dsn: str, pg_schemas: Callable[[], str]) -> None:
    from hone.checkpoint import PoolConfig, PostgresSaver

    run_check(
        SaverHarness(
            make=lambda: PostgresSaver(
                pg_dsn, schema=pg_schemas(), pool_config=PoolConfig(max_size=4)
            ),
            corrupt=_pg_corrupt,
            set_format_version=_pg_set_format,
        ),
        name,
    )
