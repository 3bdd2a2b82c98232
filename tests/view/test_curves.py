"""Training curves from metrics.jsonl."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest

from hone.errors import ConfigError
from hone.view import read_metrics, training_run_view


def test_the_runs_metrics_become_curves_reward_first(data: Any) -> None:
    rows = read_metrics(data.run_dir / "metrics.jsonl")
    run = training_run_view("run", rows)
    keys = [c.key for c in run.curves]
    assert keys[:3] == ["reward", "success", "loss"]
    assert "step" not in keys and run.steps == len(rows) == 2
    reward = run.curves[0]
    assert reward.points == [(row["step"], row["reward"]) for row in rows]
    ET.fromstring(reward.svg)  # well-formed


def test_missing_values_leave_gaps_not_zeros() -> None:
    run = training_run_view("r", [{"step": 0, "eval_reward": 0.25}, {"step": 1, "loss": 2.0}])
    curves = {c.key: c.points for c in run.curves}
    assert curves == {"eval_reward": [(0.0, 0.25)], "loss": [(1.0, 2.0)]}
    nan = training_run_view("r", [{"step": 0, "loss": math.nan}])
    assert nan.curves == []


def test_a_bad_line_is_named(tmp_path: Path) -> None:
    path = tmp_path / "metrics.jsonl"
    path.write_text('{"step": 0, "loss": 1.5}\n\n{"step": 1, "loss": "high"}\n')
    with pytest.raises(ConfigError, match=r"metrics.jsonl, line 3: not a metrics row"):
        read_metrics(path)
    path.write_text("[1, 2]\n")
    with pytest.raises(ConfigError, match="line 1"):
        read_metrics(path)
    with pytest.raises(ConfigError, match="no metrics file"):
        read_metrics(tmp_path / "missing.jsonl")
    path.write_text('{"step": 0, "loss": null}\n')
    assert math.isnan(read_metrics(path)[0]["loss"])
