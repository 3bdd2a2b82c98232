"""Episodes to and from files: JSONL (lossless), Parquet, OpenAI fine-tuning JSONL, and a
Hugging Face ``datasets.Dataset``.

Parquet and datasets rows hold the indexed fields as columns and the whole episode as JSON in
an ``episode`` column, so they round-trip as well (:func:`read_parquet`).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from hone.errors import ConfigError, TrajectoryError
from hone.trajectory._schema import Episode

__all__ = [
    "episode_rows",
    "read_jsonl",
    "read_parquet",
    "to_dataset",
    "write_jsonl",
    "write_openai_jsonl",
    "write_parquet",
]

_OPENAI_KEYS = frozenset({"role", "content", "name", "tool_calls", "tool_call_id"})


def write_jsonl(episodes: Iterable[Episode], path: str | Path) -> int:
    """Write one episode per line; returns how many were written."""
    count = 0
    with Path(path).open("w", encoding="utf-8") as f:
        for episode in episodes:
            f.write(episode.to_json() + "\n")
            count += 1
    return count


def read_jsonl(path: str | Path) -> list[Episode]:
    """Read episodes written by :func:`write_jsonl`.

    Raises:
        TrajectoryError: a line is not an episode (the message names the line).
    """
    episodes: list[Episode] = []
    with Path(path).open(encoding="utf-8") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                continue
            try:
                episodes.append(Episode.from_json(line))
            except TrajectoryError as exc:
                raise type(exc)(f"{path}, line {number}: {exc}") from exc
    return episodes


def episode_rows(episodes: Iterable[Episode]) -> list[dict[str, Any]]:
    """Flat rows: indexed fields as columns, the whole episode as JSON in ``episode``."""
    return [
        {
            "id": e.id,
            "task_id": e.task_id,
            "group_id": e.group_id,
            "role": e.role,
            "reward": e.reward,
            "status": e.status,
            "num_calls": len(e.calls),
            "seed": e.seed,
            "created_at": e.created_at,
            "version": e.version,
            "episode": e.to_json(),
        }
        for e in episodes
    ]


def _require(module: str) -> Any:
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"this export needs the {module.split('.')[0]!r} package: pip install 'hone[train]'"
        ) from exc


def write_parquet(episodes: Iterable[Episode], path: str | Path) -> int:
    """Write episodes to a Parquet file (needs ``pyarrow``); returns how many were written."""
    pa = _require("pyarrow")
    pq = _require("pyarrow.parquet")
    rows = episode_rows(episodes)
    schema = pa.schema(
        [
            ("id", pa.string()),
            ("task_id", pa.string()),
            ("group_id", pa.string()),
            ("role", pa.string()),
            ("reward", pa.float64()),
            ("status", pa.string()),
            ("num_calls", pa.int64()),
            ("seed", pa.int64()),
            ("created_at", pa.float64()),
            ("version", pa.int64()),
            ("episode", pa.string()),
        ]
    )
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), str(path))
    return len(rows)


def read_parquet(path: str | Path) -> list[Episode]:
    """Read episodes written by :func:`write_parquet`."""
    pq = _require("pyarrow.parquet")
    column = pq.read_table(str(path), columns=["episode"]).column("episode").to_pylist()
    return [Episode.from_json(text) for text in column]


def to_dataset(episodes: Iterable[Episode]) -> Any:
    """A Hugging Face ``datasets.Dataset`` of :func:`episode_rows` (needs ``datasets``)."""
    datasets = _require("datasets")
    return datasets.Dataset.from_list(episode_rows(episodes))


def _clean(message: dict[str, Any]) -> dict[str, Any]:
    """Keep only the keys OpenAI's fine-tuning format accepts."""
    return {k: v for k, v in message.items() if k in _OPENAI_KEYS}


def write_openai_jsonl(
    episodes: Iterable[Episode],
    path: str | Path,
    *,
    min_reward: float | None = None,
    statuses: Sequence[str] = ("ok",),
) -> int:
    """Write OpenAI fine-tuning JSONL: ``{"messages": [...], "tools": [...]}`` per episode.

    Only episodes whose status is in ``statuses`` and (when ``min_reward`` is given) whose
    reward is at least ``min_reward`` are written (rejection sampling for SFT). Returns how
    many lines were written.
    """
    count = 0
    with Path(path).open("w", encoding="utf-8") as f:
        for episode in episodes:
            if episode.status not in statuses:
                continue
            if min_reward is not None and (episode.reward is None or episode.reward < min_reward):
                continue
            messages = [_clean(m) for m in episode.transcript()]
            if not messages:
                continue
            line: dict[str, Any] = {"messages": messages}
            tools = episode.calls[-1].tools if episode.calls else []
            if tools:
                line["tools"] = tools
            f.write(json.dumps(line, ensure_ascii=False) + "\n")
            count += 1
    return count
