"""End to end: ``hone demo --quick`` runs the whole pipeline and writes what it promises."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hone.cli import app
from hone.demo import DemoConfig
from hone.errors import ConfigError
from hone.models import load_model


def test_quick_demo_writes_table_plot_and_a_loadable_model(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(app, ["demo", "--quick", "--out", str(out), "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "held-out success" in result.output and "SFT + RL" in result.output
    # Standard output is not a terminal here: plain progress lines, no live bars.
    steps = DemoConfig.quick().sft_steps
    assert f"SFT 1/{steps}" in result.output and f"SFT {steps}/{steps}" in result.output
    assert "RL (GRPO) 2/2" in result.output and "\x1b[" not in result.output
    summary = json.loads((out / "results.json").read_text())
    rates = summary["held_out_success"]
    assert set(rates) == {"teacher", "sft", "rl"}
    assert all(0.0 <= v <= 1.0 for v in rates.values())
    assert "how they played" in result.output
    played = summary["behaviour"]
    assert set(played) == {"teacher", "sft", "rl"}
    assert all(p["episodes"] == DemoConfig.quick().n_test for p in played.values())
    assert played["teacher"]["submitted"] == DemoConfig.quick().n_test  # the teacher always does
    assert summary["config"]["seed"] == 3
    assert len(summary["rl_curve"]) == DemoConfig.quick().rl_steps
    assert (out / "learning_curve.png").read_bytes()[:4] == b"\x89PNG"
    assert len((out / "metrics.jsonl").read_text().splitlines()) == DemoConfig.quick().rl_steps
    model = load_model(f"hf:{out / 'model'}")
    assert model.name == "model"


def test_config_rejects_nonsense() -> None:
    with pytest.raises(ConfigError, match="rl_steps"):
        DemoConfig(rl_steps=0)
    with pytest.raises(ConfigError, match="group_size"):
        DemoConfig(group_size=1)
    with pytest.raises(ConfigError, match="patience"):
        DemoConfig(patience=(0,))
    assert DemoConfig().replace(seed=4).seed == 4


async def test_sft_learning_rates_are_the_hand_written_schedules(tmp_path: Path) -> None:
    """The demo's SFT schedule moved from hand-edited param groups to ``LRSchedule``: the
    learning rate of every step is the old formula's, bit for bit."""
    import math

    from hone.demo import DemoProgress, arun_demo

    config = DemoConfig.quick().replace(sft_steps=12, sft_warmup=3, rl_steps=1)
    seen: list[float] = []

    def on_progress(report: DemoProgress) -> None:
        if report.phase == "sft":
            seen.append(report.metrics["lr"])

    await arun_demo(config, tmp_path / "demo", on_progress=on_progress)
    expected = []
    for step in range(config.sft_steps):
        warm = min(1.0, (step + 1) / config.sft_warmup)
        cosine = 0.5 * (1 + math.cos(math.pi * step / config.sft_steps))
        expected.append(config.sft_lr * warm * (0.1 + 0.9 * cosine))
    assert seen == expected


_TIMINGS = ("rollout_s", "tokens_per_s", "train_s", "publish_s")


def _numbers(summary: dict[str, object]) -> dict[str, object]:
    """A run's results without its wall times (the only figures allowed to differ)."""
    curve = [
        {k: v for k, v in row.items() if k not in _TIMINGS}
        for row in summary["rl_curve"]  # type: ignore[attr-defined]
    ]
    return {**summary, "seconds": None, "model_dir": None, "rl_curve": curve}


@pytest.mark.slow
async def test_the_same_seed_gives_the_same_numbers(tmp_path: Path) -> None:
    """Two runs of one seed: identical held-out rates, behaviour counts, every RL step's
    figures (batched generation goes in deterministic waves) and saved weights. (At these
    sizes RL rarely has a learning signal; tests/train/test_repeatable_run.py checks updates.)"""
    from hone.demo import arun_demo

    config = DemoConfig.quick(seed=5).replace(rl_steps=3, tasks_per_step=3, group_size=3)
    first = await arun_demo(config, tmp_path / "a")
    second = await arun_demo(config, tmp_path / "b")
    assert _numbers(first.summary()) == _numbers(second.summary())
    assert len(first.rl_curve) == 3 and all(row["completion_tokens"] > 0 for row in first.rl_curve)
    weights = [(tmp_path / r / "model" / "model.safetensors").read_bytes() for r in "ab"]
    assert weights[0] == weights[1]
