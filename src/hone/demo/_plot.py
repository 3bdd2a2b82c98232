"""The demo's figure: the RL learning curve and the three held-out success rates."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hone.demo._pipeline import DemoResult

__all__ = ["plot_demo"]


def plot_demo(result: DemoResult, path: Path) -> Path:
    """Left: training reward per RL step and held-out success at each evaluation, with the
    teacher's, the SFT model's and the RL model's held-out success as lines. Right: the three
    held-out success rates as bars. Writes a PNG (matplotlib's Agg canvas) and returns its path.
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10.0, 3.8), layout="constrained")
    FigureCanvasAgg(figure)
    curve, bars = figure.subplots(1, 2, width_ratios=(2.2, 1.0))
    rows = result.rl_curve
    steps = [row["step"] for row in rows]
    curve.plot(
        steps,
        [row.get("success", float("nan")) for row in rows],
        lw=1,
        alpha=0.6,
        label="training success (T=1)",
    )
    # The held-out curve starts from the SFT model (step 0).
    evals = [(0.0, result.sft)]
    evals += [(row["step"], row["eval_success"]) for row in rows if "eval_success" in row]
    curve.plot(
        [s for s, _ in evals], [v for _, v in evals], marker="o", label="held-out success (greedy)"
    )
    for name, value, style in (("teacher", result.teacher, ":"), ("SFT", result.sft, "--")):
        curve.axhline(value, ls=style, color="grey", label=f"{name} held-out {value:.2f}")
    curve.set_xlabel("RL step")
    curve.set_ylabel("success rate")
    curve.set_ylim(0, 1)
    curve.grid(alpha=0.3)
    curve.legend(fontsize=8, loc="upper left")
    names, values = ("teacher", "SFT", "RL"), (result.teacher, result.sft, result.rl)
    bars.bar(names, values, color=("#999999", "#6a9fd4", "#d46a6a"))
    for i, value in enumerate(values):
        bars.text(i, value + 0.01, f"{value:.2f}", ha="center")
    bars.set_ylim(0, 1)
    bars.set_title(f"held-out success ({result.config.n_test} tasks)")
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path
