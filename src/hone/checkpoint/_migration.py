"""Upgrading checkpoints written with an older state schema.

A saver is told the version of the state schema the program uses now
(``schema_version=``, an int you bump when the state changes shape) and how to upgrade each
older version (``migrations={from_version: fn}``). Every checkpoint row records the schema
version it was written with; on read, a row of version ``v`` runs ``migrations[v]``,
``migrations[v + 1]``, ... until it reaches the current version. Rows are never rewritten:
the upgrade runs on each read, and the next ``put`` stores the upgraded state.

Evolving a state schema, e.g. renaming channel ``msgs`` to ``messages``::

    def rename_msgs(cp: Checkpoint) -> Checkpoint:
        values = dict(cp["channel_values"])
        versions = dict(cp["channel_versions"])
        if "msgs" in values:
            values["messages"] = values.pop("msgs")
            versions["messages"] = versions.pop("msgs")
        return {**cp, "channel_values": values, "channel_versions": versions}

    saver = SqliteSaver("agent.db", schema_version=2, migrations={1: rename_msgs})

A row with a newer schema version than the saver's, or an older one with no migration for
some step, raises :class:`hone.errors.CheckpointVersionError`.

Pending writes are stored with the checkpoint they follow and carry its schema version, so
they are upgraded with it — but only by a migration that says how: a checkpoint function
cannot be run on a write (a write is one channel and one value, not a state), and guessing
would be wrong for every change but a rename. A migration that changes what writes look
like (renames or reshapes a channel) is an object with a ``writes`` method as well::

    class RenameMsgs:
        def __call__(self, cp: Checkpoint) -> Checkpoint:
            return rename_msgs(cp)

        def writes(self, pending: list[PendingWrite]) -> list[PendingWrite]:
            return [
                (task_id, "messages" if channel == "msgs" else channel, value)
                for task_id, channel, value in pending
            ]

A plain function leaves writes as they are, which is right for migrations that only add or
fill channels. Writes matter when a run resumes from the checkpoint they follow (they are the
finished tasks of an interrupted step); without the ``writes`` method such a resume applies
them to the old channel names.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from hone.checkpoint._protocol import FORMAT_VERSION, Checkpoint, PendingWrite
from hone.errors import CheckpointVersionError, ConfigError

__all__ = ["Migration", "check_format_version", "migrate", "validate_migrations"]


class Migration(Protocol):
    """Upgrades a checkpoint by one state schema version (``v`` to ``v + 1``).

    It may also have a method ``writes(pending: list[PendingWrite]) -> list[PendingWrite]``
    that upgrades the checkpoint's pending writes (see the module docstring); without one,
    writes are kept as stored.
    """

    def __call__(self, checkpoint: Checkpoint, /) -> Checkpoint:
        """The checkpoint in the next schema version."""
        ...


def validate_migrations(schema_version: int, migrations: Mapping[int, Migration]) -> None:
    """Raise :class:`ConfigError` for migrations that can never run."""
    if schema_version < 1:
        raise ConfigError(f"schema_version must be >= 1, got {schema_version}")
    for version in migrations:
        if not 1 <= version < schema_version:
            raise ConfigError(
                f"migrations[{version}] upgrades schema version {version} to {version + 1}, "
                f"but the saver's schema_version is {schema_version}; keys must be in "
                f"1..{schema_version - 1}"
            )


def check_format_version(version: int, what: str) -> None:
    """Raise :class:`CheckpointVersionError` for storage written by a newer hone."""
    if version > FORMAT_VERSION:
        raise CheckpointVersionError(
            f"{what} was written with checkpoint format version {version}, but this hone "
            f"reads format versions up to {FORMAT_VERSION}; upgrade hone to read it"
        )


def migrate(
    checkpoint: Checkpoint,
    pending: list[PendingWrite],
    *,
    thread_id: str,
    from_version: int,
    to_version: int,
    migrations: Mapping[int, Migration],
) -> tuple[Checkpoint, list[PendingWrite]]:
    """Run the migrations that take a checkpoint and its pending writes from one schema
    version to another."""
    if from_version > to_version:
        raise CheckpointVersionError(
            f"checkpoint {checkpoint['id']!r} of thread {thread_id!r} has state schema "
            f"version {from_version}, newer than the saver's schema_version={to_version}; "
            "open it with the newer program (or pass schema_version= and migrations=)"
        )
    for version in range(from_version, to_version):
        step = migrations.get(version)
        if step is None:
            raise CheckpointVersionError(
                f"checkpoint {checkpoint['id']!r} of thread {thread_id!r} has state schema "
                f"version {from_version} but the saver expects {to_version} and has no "
                f"migration from version {version}; pass migrations={{{version}: fn}}"
            )
        checkpoint = step(checkpoint)
        upgrade_writes = getattr(step, "writes", None)
        if upgrade_writes is not None and pending:
            pending = list(upgrade_writes(pending))
    return checkpoint, pending
