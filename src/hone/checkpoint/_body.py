"""A checkpoint's row, both ways: LangGraph-shaped dicts to a stored row and back.

On ``put`` the checkpoint's versions, ``versions_seen``, ``updated_channels``, ``v``, ``ts``
and metadata become the row's encoded *body* (values are stored apart, see :mod:`._rows`);
on read the body and the loaded values become a :class:`CheckpointTuple` again, upgraded by
the saver's schema migrations. Rows of format 1 (no ``ts``/``v`` in the body, ``source`` and
``step`` in columns only) are read too.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, cast

from hone.checkpoint._config import make_config
from hone.checkpoint._migration import Migration, check_format_version, migrate
from hone.checkpoint._protocol import (
    FORMAT_VERSION,
    WRITES_IDX_MAP,
    Checkpoint,
    CheckpointMetadata,
    CheckpointTuple,
    PendingWrite,
)
from hone.checkpoint._rows import CheckpointRow, WriteRow
from hone.checkpoint._serde import Serializer
from hone.errors import CheckpointCorruptError

__all__ = ["checkpoint_row", "checkpoint_tuple", "write_rows"]


def _created_at(ts: Any) -> float:
    """Seconds since the epoch of an ISO ``ts`` (retention ages go by it); now if absent."""
    if isinstance(ts, str):
        try:
            when = dt.datetime.fromisoformat(ts)
        except ValueError:
            return time.time()
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.UTC)
        return when.timestamp()
    return time.time()


def checkpoint_row(
    serde: Serializer,
    *,
    thread_id: str,
    ns: str,
    parent_id: str | None,
    checkpoint: Checkpoint,
    metadata: Mapping[str, Any],
    schema_version: int,
) -> CheckpointRow:
    """The row of a checkpoint, without references (the put plan adds them)."""
    body = {
        "v": checkpoint.get("v", 1),
        "ts": checkpoint.get("ts"),
        "versions": checkpoint["channel_versions"],
        "seen": checkpoint["versions_seen"],
        "updated": checkpoint.get("updated_channels"),
        "metadata": metadata,
    }
    step = metadata.get("step")
    return CheckpointRow(
        thread_id=thread_id,
        ns=ns,
        checkpoint_id=checkpoint["id"],
        parent_id=parent_id,
        step=step if type(step) is int else 0,
        source=str(metadata.get("source", "")),
        created_at=_created_at(checkpoint.get("ts")),
        format_version=FORMAT_VERSION,
        schema_version=schema_version,
        refs={},
        body=serde.dumps(body),
    )


def write_rows(
    serde: Serializer,
    task_id: str,
    task_path: str,
    writes: Sequence[tuple[str, Any]],
    dumps: Callable[[Any], bytes] | None = None,
) -> list[WriteRow]:
    """The rows of one task's writes; special channels go to their fixed negative index.
    ``dumps`` replaces ``serde.dumps`` (a put's memoizing encoder)."""
    encode = serde.dumps if dumps is None else dumps
    return [
        WriteRow(task_id, WRITES_IDX_MAP.get(channel, idx), task_path, channel, encode(value))
        for idx, (channel, value) in enumerate(writes)
    ]


def checkpoint_tuple(
    serde: Serializer,
    row: CheckpointRow,
    values: dict[str, Any],
    writes: Sequence[WriteRow],
    *,
    schema_version: int,
    migrations: Mapping[int, Migration],
) -> CheckpointTuple:
    """A stored checkpoint as LangGraph's ``CheckpointTuple``.

    Raises:
        CheckpointVersionError: the row is of a newer format, or of a schema version the
            migrations cannot upgrade.
        CheckpointCorruptError: the body cannot be decoded.
    """
    what = f"checkpoint {row.checkpoint_id!r} of thread {row.thread_id!r}"
    check_format_version(row.format_version, what)
    body = serde.loads(row.body)
    if not isinstance(body, dict) or not {"versions", "seen", "metadata"} <= body.keys():
        raise CheckpointCorruptError(f"{what} has a malformed body")
    metadata = dict(body["metadata"])
    if row.format_version < 2:  # format 1 kept source and step in columns only
        metadata.setdefault("source", row.source)
        metadata.setdefault("step", row.step)
    ts = body.get("ts")
    if not isinstance(ts, str):
        ts = dt.datetime.fromtimestamp(row.created_at, dt.UTC).isoformat()
    checkpoint: Checkpoint = {
        "v": body.get("v", 1),
        "id": row.checkpoint_id,
        "ts": ts,
        "channel_values": values,
        "channel_versions": body["versions"],
        "versions_seen": body["seen"],
        "updated_channels": body.get("updated"),
    }
    pending: list[PendingWrite] = [(w.task_id, w.channel, serde.loads(w.data)) for w in writes]
    if row.schema_version != schema_version:
        checkpoint, pending = migrate(
            checkpoint,
            pending,
            thread_id=row.thread_id,
            from_version=row.schema_version,
            to_version=schema_version,
            migrations=migrations,
        )
    parent = None if row.parent_id is None else make_config(row.thread_id, row.ns, row.parent_id)
    return CheckpointTuple(
        config=make_config(row.thread_id, row.ns, row.checkpoint_id),
        checkpoint=checkpoint,
        metadata=cast(CheckpointMetadata, metadata),
        parent_config=parent,
        pending_writes=pending,
    )
