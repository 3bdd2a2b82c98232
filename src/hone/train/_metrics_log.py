"""A metrics log: one row per step, written as JSONL and CSV, with a PNG of the curves."""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

from hone.train._plot import DEFAULT_PLOT_KEYS, plot_metrics

__all__ = ["MetricsLogger"]


class MetricsLogger:
    """Appends metric rows to ``metrics.jsonl`` and keeps ``metrics.csv`` in step.

    The CSV's columns are every key seen so far (in first-seen order); it is rewritten when a new
    key appears, so it always loads as one table. Non-finite values are written as empty cells /
    JSON ``null``.

    Args:
        directory: where ``metrics.jsonl``, ``metrics.csv`` and ``metrics.png`` go.
        resume_after: keep the rows of existing files up to this ``step`` (dropping later ones,
            which a resumed run redoes) and append after them; None starts new files.
    """

    def __init__(self, directory: str | Path, *, resume_after: int | None = None) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        self.jsonl_path = self.directory / "metrics.jsonl"
        self.csv_path = self.directory / "metrics.csv"
        self.plot_path = self.directory / "metrics.png"
        self.rows: list[dict[str, float]] = []
        self._columns: list[str] = []
        if resume_after is not None and self.jsonl_path.exists():
            for line in self.jsonl_path.read_text(encoding="utf-8").splitlines():
                if not line.strip():
                    continue
                row = {k: math.nan if v is None else float(v) for k, v in json.loads(line).items()}
                if row.get("step", 0.0) <= resume_after:
                    self._remember(row)
            self._rewrite()
        else:
            self.jsonl_path.write_text("", encoding="utf-8")
            self.csv_path.write_text("", encoding="utf-8")

    def _remember(self, row: dict[str, float]) -> bool:
        self.rows.append(row)
        new = [key for key in row if key not in self._columns]
        self._columns.extend(new)
        return bool(new)

    def log(self, metrics: Mapping[str, float], *, step: int | None = None) -> None:
        """Record one row; ``step`` (if given) is stored under ``"step"``."""
        row = {key: float(value) for key, value in metrics.items()}
        if step is not None:
            row["step"] = float(step)
        new_columns = self._remember(row)
        with self.jsonl_path.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(_clean(row)) + "\n")
        if new_columns:
            self._rewrite_csv()
        else:
            with self.csv_path.open("a", newline="", encoding="utf-8") as handle:
                csv.DictWriter(handle, self._columns).writerow(self._csv_row(row))

    def _csv_row(self, row: Mapping[str, float]) -> dict[str, str]:
        return {
            key: repr(row[key]) if key in row and math.isfinite(row[key]) else ""
            for key in self._columns
        }

    def _rewrite(self) -> None:
        with self.jsonl_path.open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(_clean(row)) + "\n" for row in self.rows)
        self._rewrite_csv()

    def _rewrite_csv(self) -> None:
        with self.csv_path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.DictWriter(handle, self._columns)
            writer.writeheader()
            for row in self.rows:
                writer.writerow(self._csv_row(row))

    def plot(self, *, keys: Sequence[str] = DEFAULT_PLOT_KEYS) -> Path | None:
        """Write ``metrics.png`` with one panel per key present; ``None`` if none is."""
        return plot_metrics(self.rows, self.plot_path, keys=keys)


def _clean(row: Mapping[str, float]) -> dict[str, float | None]:
    return {k: (v if math.isfinite(v) else None) for k, v in row.items()}
