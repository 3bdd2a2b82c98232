"""MetricsLogger: JSONL + CSV rows and the PNG plot."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from hone.train import MetricsLogger, plot_metrics


def test_logger_writes_jsonl_and_csv_with_growing_columns(tmp_path: Path) -> None:
    logger = MetricsLogger(tmp_path)
    logger.log({"loss": 1.0}, step=1)
    logger.log({"loss": 0.5, "reward": 0.25}, step=2)
    logger.log({"loss": math.nan, "reward": 0.75}, step=3)
    lines = [json.loads(line) for line in logger.jsonl_path.read_text().splitlines()]
    assert lines[2] == {"loss": None, "reward": 0.75, "step": 3.0}
    with logger.csv_path.open() as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["loss", "step", "reward"]
    assert [r["reward"] for r in rows] == ["", "0.25", "0.75"]
    assert rows[2]["loss"] == ""

    resumed = MetricsLogger(tmp_path, resume=True)
    resumed.log({"loss": 0.1}, step=4)
    assert len(resumed.rows) == 4
    assert len(resumed.jsonl_path.read_text().splitlines()) == 4


def test_plot_writes_png(tmp_path: Path) -> None:
    logger = MetricsLogger(tmp_path)
    for step in range(1, 4):
        logger.log({"loss": 1.0 / step, "reward": step / 3, "success": 0.5}, step=step)
    path = logger.plot()
    assert path is not None and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot_metrics([{"other": 1.0}], tmp_path / "none.png") is None
