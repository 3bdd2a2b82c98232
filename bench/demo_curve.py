"""``hone demo`` over several seeds: teacher / SFT / RL held-out success and the RL curve.

Each seed is a complete, independent demo run (fresh tasks, teacher draws, model
initialisation and sampling), exactly what ``hone demo --seed N`` does. The figures are the
mean and the spread (sample standard deviation, min and max) over seeds, plus the held-out
success at every RL evaluation, so the claim "RL beats SFT by >= 15 points and beats the
teacher" is checked on every seed rather than on one lucky run.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from bench._common import Options, bench_main, console, print_table

if TYPE_CHECKING:
    from hone.demo import DemoProgress

NAME = "demo_curve"
DESCRIPTION = "hone demo over 3 seeds: teacher / SFT / RL held-out success, RL curve"
SEEDS = (0, 1, 2)


def _spread(values: Sequence[float]) -> dict[str, float]:
    return {
        "mean": statistics.fmean(values),
        "std": statistics.stdev(values) if len(values) > 1 else 0.0,
        "min": min(values),
        "max": max(values),
    }


def _curve(runs: Sequence[dict[str, Any]]) -> list[dict[str, float]]:
    """Held-out success at each RL evaluation step, mean and spread over seeds."""
    by_step: dict[float, list[float]] = {}
    for run in runs:
        for row in run["rl_curve"]:
            if "eval_success" in row:
                by_step.setdefault(row["step"], []).append(row["eval_success"])
    return [{"step": step, **_spread(v)} for step, v in sorted(by_step.items())]


class _Bar:
    """One progress bar per seed: the phase it is in and its step (a run takes minutes)."""

    def __init__(self, progress: Progress, seed: int) -> None:
        self.progress, self.seed = progress, seed
        self.bar = progress.add_task(f"seed {seed}", total=None)

    def __call__(self, report: DemoProgress) -> None:
        self.progress.update(
            self.bar,
            description=f"seed {self.seed}: {report.phase}",
            completed=report.step,
            total=report.total,
        )


class _Lines:
    """Plain progress lines when standard output is not a terminal (a log): each phase's
    first and last step and about every 5% between (a live bar would print nothing)."""

    def __init__(self, seed: int) -> None:
        self.seed, self.start = seed, time.perf_counter()

    def __call__(self, report: DemoProgress) -> None:
        if report.step not in (1, report.total) and report.step % max(1, report.total // 20):
            return
        elapsed = time.perf_counter() - self.start
        console.print(
            f"[{elapsed:7.1f}s] seed {self.seed}: {report.phase} {report.step}/{report.total}",
            markup=False,
            highlight=False,
        )


def _run_seed(config: Any, options: Options, seed: int) -> Any:
    from hone.demo import arun_demo

    out = options.workdir / f"seed-{seed}"
    if not console.is_terminal:
        return asyncio.run(arun_demo(config, out, on_progress=_Lines(seed)))
    columns = (TextColumn("{task.description:<16}"), BarColumn(), MofNCompleteColumn())
    with Progress(*columns, TimeElapsedColumn(), console=console, transient=True) as progress:
        return asyncio.run(arun_demo(config, out, on_progress=_Bar(progress, seed)))


def run(options: Options) -> dict[str, Any]:
    """Run the demo once per seed and summarise."""
    from hone.demo import DemoConfig

    runs = []
    for seed in SEEDS:
        config = DemoConfig.quick(seed) if options.quick else DemoConfig(seed=seed)
        result = _run_seed(config, options, seed)
        summary = json.loads(json.dumps(result.summary()))  # as the JSON file holds it
        summary["model_dir"] = f"seed-{seed}/model"  # relative to --workdir, not this machine
        runs.append(summary)
        console.print(
            f"seed {seed}: teacher {result.teacher:.3f}  SFT {result.sft:.3f}  RL {result.rl:.3f}"
            f"  ({result.seconds['total']:.0f} s)"
        )
    rates = {
        who: _spread([r["held_out_success"][who] for r in runs]) for who in ("teacher", "sft", "rl")
    }
    gains = [r["held_out_success"]["rl"] - r["held_out_success"]["sft"] for r in runs]
    beats_teacher = [r["held_out_success"]["rl"] > r["held_out_success"]["teacher"] for r in runs]
    seconds = _spread([r["seconds"]["total"] for r in runs])
    print_table(
        "held-out success over seeds (greedy)",
        ["agent", "mean", "std", "min", "max"],
        [[who, s["mean"], s["std"], s["min"], s["max"]] for who, s in rates.items()],
    )
    print_table(
        "RL held-out success during training",
        ["step", "mean", "std", "min", "max"],
        [[c["step"], c["mean"], c["std"], c["min"], c["max"]] for c in _curve(runs)],
    )
    return {
        "seeds": list(SEEDS),
        "held_out_success": rates,
        "rl_minus_sft_points": _spread([100 * g for g in gains]),
        "rl_beats_teacher": beats_teacher,
        "rl_curve": _curve(runs),
        "total_seconds": seconds,
        "runs": runs,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Command-line entry point."""
    return bench_main(NAME, DESCRIPTION, run, argv)
