"""SQLite helpers shared by the stores that read files they must not change."""

from __future__ import annotations

from pathlib import Path

__all__ = ["read_only_uri"]


def read_only_uri(path: str | Path) -> str:
    """The URI that opens the SQLite file at ``path`` read only (``sqlite3.connect(uri,
    uri=True)``): built from its absolute path, so ``#``, ``?`` and ``%`` in the name stay part
    of the name instead of starting a query or an escape."""
    return f"{Path(path).resolve().as_uri()}?mode=ro"
