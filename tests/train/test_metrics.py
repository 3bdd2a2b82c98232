"""MetricsLogger (JSONL + CSV rows, resume, PNG) and the typed metrics' rows."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

from hone.train import MetricsLogger, RLStepMetrics, TrainStepMetrics
from hone.train._losses import LossMetrics
from hone.train._metrics import CallCounts, EvalMetrics, RolloutMetrics
from hone.train._plot import plot_metrics
from hone.trajectory import Episode, ModelCall


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

    resumed = MetricsLogger(tmp_path, resume_after=3)
    resumed.log({"loss": 0.1}, step=4)
    assert len(resumed.rows) == 4
    assert len(resumed.jsonl_path.read_text().splitlines()) == 4


def test_resuming_drops_the_rows_after_the_checkpoint(tmp_path: Path) -> None:
    logger = MetricsLogger(tmp_path)
    for step in range(1, 5):
        logger.log({"loss": 1.0 / step}, step=step)
    resumed = MetricsLogger(tmp_path, resume_after=2)
    resumed.log({"loss": 0.0}, step=3)
    steps = [json.loads(line)["step"] for line in resumed.jsonl_path.read_text().splitlines()]
    assert steps == [1.0, 2.0, 3.0]
    with resumed.csv_path.open() as handle:
        assert [r["step"] for r in csv.DictReader(handle)] == ["1.0", "2.0", "3.0"]
    fresh = MetricsLogger(tmp_path)  # not resuming: new files
    assert fresh.rows == [] and fresh.jsonl_path.read_text() == ""


def test_plot_writes_png(tmp_path: Path) -> None:
    logger = MetricsLogger(tmp_path)
    for step in range(1, 4):
        logger.log({"loss": 1.0 / step, "reward": step / 3, "success": 0.5}, step=step)
    path = logger.plot()
    assert path is not None and path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert plot_metrics([{"other": 1.0}], tmp_path / "none.png") is None


def _call(finish: str) -> ModelCall:
    return ModelCall(
        index=0, role="agent", model="m", messages=[], output={}, finish_reason=finish,
        parse_errors=["bad"] if finish == "length" else [],
    )  # fmt: skip


def test_call_counts_and_rows() -> None:
    errored = {"role": "tool", "tool_call_id": "c", "content": "error: no", "is_error": True}
    episodes = [
        Episode(task_id="a", calls=[_call("length"), _call("stop")], messages=[errored]),
        Episode(task_id="b", calls=[_call("tool_calls")]),
    ]
    counts = CallCounts.of(episodes)
    assert counts == CallCounts(calls=3, truncated_calls=1, parse_errors=1, tool_errors=1)
    update = TrainStepMetrics(
        step=3, loss=0.5, grad_norm=1.0, lr=1e-3, num_samples=4, num_tokens=10, seconds=0.1,
        loss_metrics=LossMetrics(num_tokens=10, clip_high=0.25),
    )  # fmt: skip
    step = RLStepMetrics(
        step=3,
        rollout=RolloutMetrics(episodes=2, reward_mean=0.5, counts=counts),
        update=update,
        eval=EvalMetrics(success=0.75, reward=0.8, tasks=4, unscored=0),
        updates=3,
    )
    row = step.to_row()
    assert row["step"] == 3.0 and row["loss"] == 0.5 and row["clip_high"] == 0.25
    assert row["truncated_calls"] == 1.0 and row["eval_success"] == 0.75
    assert "clip_low" not in row and "kl" not in row  # not measured: left out, not 0
    assert RLStepMetrics(step=0, eval=step.eval).to_row()["eval_reward"] == 0.8
