"""``hone demo``: teach the tiny model countdown with a calculator, by SFT then RL."""

from __future__ import annotations

import asyncio
import math
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hone.cli._app import app, console

if TYPE_CHECKING:
    from hone.demo import DemoProgress, DemoResult

__all__ = ["demo"]

_TITLES = {
    "teacher": "teacher demos",
    "sft": "SFT",
    "eval": "SFT eval",
    "rl": "RL (GRPO)",
}


def _fmt(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.3f}"


_SHOWN = ("held_out_success", "sft_success", "loss", "reward", "eval_success")


def _info(report: DemoProgress) -> str:
    return "  ".join(f"{k}={_fmt(report.metrics[k])}" for k in _SHOWN if k in report.metrics)


class _Lines:
    """Plain progress lines, for when standard output is not a terminal (a CI log, ``hone
    demo > log``), where a live bar would print nothing until the end: a phase's first and
    last step, and about every 5% in between."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __call__(self, report: DemoProgress) -> None:
        every = max(1, report.total // 20)
        if report.step not in (1, report.total) and report.step % every:
            return
        elapsed = time.perf_counter() - self.start
        line = f"[{elapsed:7.1f}s] {_TITLES[report.phase]} {report.step}/{report.total}"
        info = _info(report)
        console.print(f"{line}  {info}" if info else line, markup=False, highlight=False)


class _Bars:
    """One rich progress bar per phase, fed by the pipeline's progress reports."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.bars: dict[str, Any] = {}

    def __call__(self, report: DemoProgress) -> None:
        if report.phase not in self.bars:
            self.bars[report.phase] = self.progress.add_task(
                _TITLES[report.phase], total=report.total, info=""
            )
        self.progress.update(
            self.bars[report.phase], completed=report.step, total=report.total, info=_info(report)
        )


def _table(result: DemoResult) -> Table:
    n = result.config.n_test
    table = Table(title=f"held-out success on {n} unseen tasks (greedy)")
    table.add_column("agent")
    table.add_column("success", justify="right")
    table.add_column("vs SFT", justify="right")
    rows = (("teacher (scripted)", result.teacher), ("SFT", result.sft), ("SFT + RL", result.rl))
    for name, value in rows:
        delta = (value - result.sft) * 100
        table.add_row(name, f"{value:.1%}", "" if name == "SFT" else f"{delta:+.1f} pts")
    return table


def _behaviour_table(result: DemoResult) -> Table:
    """How each agent played the held-out tasks: the 'why' behind the success rates."""
    table = Table(title="how they played the held-out tasks")
    table.add_column("agent")
    for column in ("checks / episode", "calc hit", "submitted", "calc errors"):
        table.add_column(column, justify="right")
    names = {"teacher": "teacher (scripted)", "sft": "SFT", "rl": "SFT + RL"}
    for who, name in names.items():
        if (counts := result.behaviour.get(who)) is None:
            continue
        n = max(counts["episodes"], 1.0)
        table.add_row(
            name,
            f"{counts['mean_checks']:.2f}",
            f"{counts['hit'] / n:.0%}",
            f"{counts['submitted'] / n:.0%}",
            f"{counts['error_replies']:.0f}",
        )
    return table


@app.command()
def demo(
    seed: Annotated[int, typer.Option("--seed", help="Seeds tasks, teacher, model, sampling.")] = 0,
    quick: Annotated[
        bool, typer.Option("--quick", help="Tiny sizes: checks the pipeline in seconds.")
    ] = False,
    out: Annotated[
        Path, typer.Option("--out", help="Where the model, plot and results go.")
    ] = Path("runs/demo"),
    threads: Annotated[
        int | None, typer.Option("--threads", min=1, help="Torch CPU threads (default 2).")
    ] = None,
) -> None:
    """Teach the built-in tiny model a tool-using task: SFT on a scripted teacher, then RL.

    Countdown with a calculator: reach a target from three numbers with + - * (), checking
    guesses with a `calc` tool before calling `submit`. Prints a table of held-out success
    for the teacher, the SFT model and the RL model; writes the plot and the trained model.
    """
    from hone.demo import DemoConfig, arun_demo

    _quiet_transformers()
    config = DemoConfig.quick(seed) if quick else DemoConfig(seed=seed)
    if threads is not None:
        config = config.replace(threads=threads)
    progress = Progress(
        TextColumn("[bold]{task.description:<14}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[info]}"),
        console=console,
    )
    if console.is_terminal:
        with progress:
            result = asyncio.run(arun_demo(config, out, on_progress=_Bars(progress)))
    else:  # a log file or a pipe: plain lines as the run goes
        result = asyncio.run(arun_demo(config, out, on_progress=_Lines()))
    console.print(_table(result))
    console.print(_behaviour_table(result))
    minutes = result.seconds.get("total", math.nan) / 60
    console.print(f"total time: {minutes:.1f} min (torch threads: {config.threads})")
    console.print(f"learning curve: {result.plot}")
    console.print(f"results: {result.results}")
    if result.model_dir is not None:
        console.print(f"model: {result.model_dir}  (serve it: hone serve hf:{result.model_dir})")


def _quiet_transformers() -> None:
    """Keep transformers' own progress bars out of the demo's display."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    hf_logging.set_verbosity_error()  # type: ignore[no-untyped-call]
