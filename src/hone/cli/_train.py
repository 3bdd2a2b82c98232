"""``hone train`` (run a training config) and ``hone eval`` (score a program on tasks)."""

from __future__ import annotations

import asyncio
import math
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hone.cli._app import app, console
from hone.errors import TrainingConfigError

if TYPE_CHECKING:
    from hone.train import EvalResult, RunResult, StepReport

__all__ = ["eval_command", "train"]

#: The metrics shown in the final table, in order, when present.
SUMMARY_KEYS = (
    "reward",
    "success",
    "eval_reward",
    "eval_success",
    "loss",
    "skipped_groups",
    "excluded_episodes",
    "failed_rollouts",
    "prefix_breaks",
    "clip_region",
    "clip_high",
    "tokens_per_s",
    "updates",
)


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.0f}" if value == int(value) and abs(value) >= 1 else f"{value:.4g}"


class _Bars:
    """Rich progress bars for the SFT and RL phases, fed by ``on_step``."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}

    def __call__(self, report: StepReport) -> None:
        if report.phase not in self.tasks:
            self.tasks[report.phase] = self.progress.add_task(
                report.phase.upper(), total=report.total, info=""
            )
        shown = ("loss",) if report.phase == "sft" else ("reward", "success", "loss")
        info = "  ".join(f"{k}={_fmt(report.metrics[k])}" for k in shown if k in report.metrics)
        self.progress.update(
            self.tasks[report.phase], completed=report.step, total=report.total, info=info
        )


def _summary(result: RunResult) -> Table:
    table = Table(title=f"after {result.steps} RL steps", show_header=True)
    table.add_column("metric")
    table.add_column("last", justify="right")
    last = result.metrics[-1] if result.metrics else {}
    for key in SUMMARY_KEYS:
        if key in last:
            table.add_row(key, _fmt(last[key]))
    return table


@app.command()
def train(
    config: Annotated[Path, typer.Argument(help="A run config: .yaml, .yml or .toml.")],
    resume: Annotated[
        bool, typer.Option("--resume", help="Continue the run in the config's output_dir.")
    ] = False,
) -> None:
    """Train as CONFIG says (SFT and/or RL); write metrics, plots, checkpoints and the model."""
    from hone.train import load_config, run_training

    run_config = load_config(config)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[info]}"),
        console=console,
    )
    with progress:
        result = run_training(run_config, resume=resume, on_step=_Bars(progress))
    if result.metrics:
        console.print(_summary(result))
    out = result.output_dir or run_config.output_dir
    console.print(f"metrics: {out / 'metrics.csv'}, {out / 'metrics.jsonl'}, {out / 'metrics.png'}")
    if result.model_dir is not None:
        console.print(f"model: {result.model_dir} (load it with the spec 'hf:{result.model_dir}')")


def _eval_table(result: EvalResult, limit: int = 50) -> Table:
    table = Table(show_header=True)
    for column in ("task", "reward", "success", "status", "output"):
        table.add_column(column, overflow="fold")
    for score in result.per_task[:limit]:
        reward = "-" if score.reward is None else _fmt(score.reward)
        output = score.output if score.reward is not None else (score.error or "")
        table.add_row(
            score.task_id, reward, "yes" if score.success else "no", score.status, output[:80]
        )
    return table


def _from_flags(
    program: str | None, tasks: str | None, reward: str | None, model: str | None, split: str
) -> tuple[Any, list[Any], Any, Any]:
    from hone.train._pipeline import as_reward, load_backend
    from hone.train._run_config import load_tasks, resolve_object

    missing = [
        f"--{n}"
        for n, v in (("program", program), ("tasks", tasks), ("reward", reward), ("model", model))
        if v is None
    ]
    if missing:
        raise TrainingConfigError(
            f"hone eval needs --config, or all of --program, --tasks, --reward and --model "
            f"(missing: {', '.join(missing)})."
        )
    base = Path.cwd()
    return (
        resolve_object(program or "", field="--program", base_dir=base),
        load_tasks(
            resolve_object(tasks or "", field="--tasks", base_dir=base), split, 0, field="--tasks"
        ),
        as_reward(resolve_object(reward or "", field="--reward", base_dir=base), field="--reward"),
        load_backend(model or "", field="--model", base_dir=base),
    )


def _from_config(path: Path, model: str | None, split: str) -> tuple[Any, list[Any], Any, Any]:
    from hone.train import load_config
    from hone.train._pipeline import load_backend, resolve_parts

    config = load_config(path, overrides={"rl": {"eval_every": 0}})
    parts = resolve_parts(config)
    if parts.reward is None:
        raise TrainingConfigError(f"{path} names no reward; hone eval needs one.")
    from hone.train._run_config import load_tasks, resolve_object

    source = resolve_object(config.tasks.source, field="tasks.source", base_dir=config.base_dir)
    tasks = load_tasks(source, split, config.seed, field="tasks.source")
    backend = load_backend(model or config.model, field="model", base_dir=config.base_dir)
    return parts.program, tasks, parts.reward, backend


@app.command("eval")
def eval_command(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="A run config naming the pieces.")
    ] = None,
    program: Annotated[
        str | None, typer.Option("--program", help="program(task, model), as mod:attr.")
    ] = None,
    tasks: Annotated[
        str | None, typer.Option("--tasks", help="The task source, as mod:attr.")
    ] = None,
    reward: Annotated[
        str | None, typer.Option("--reward", help="A Reward or function, as mod:attr.")
    ] = None,
    model: Annotated[
        str | None,
        typer.Option(
            "--model", "-m", help="A model spec or mod:attr (with --config: overrides its model)."
        ),
    ] = None,
    n: Annotated[
        int | None, typer.Option("--n", min=1, help="Evaluate only the first N tasks.")
    ] = None,
    split: Annotated[str, typer.Option("--split", help="Which split of the task source.")] = "eval",
    temperature: Annotated[
        float, typer.Option("--temperature", min=0.0, help="Sampling temperature (0: greedy).")
    ] = 0.0,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", min=1, help="Most rollouts at once.")
    ] = None,
) -> None:
    """Run a program once per task, score it with the reward, and print a table."""
    from hone.train import evaluate

    if config is not None:
        parts = _from_config(config, model, split)
    else:
        parts = _from_flags(program, tasks, reward, model, split)
    the_program, the_tasks, the_reward, backend = parts
    chosen: Sequence[Any] = the_tasks[:n] if n is not None else the_tasks
    result = asyncio.run(
        evaluate(
            the_program,
            chosen,
            backend,
            the_reward,
            concurrency=concurrency,
            temperature=temperature,
        )
    )
    console.print(_eval_table(result))
    console.print(
        f"[bold]success rate {_fmt(result.success_rate)}[/]  mean reward "
        f"{_fmt(result.mean_reward)}  tasks {len(result.per_task)}  unscored {result.unscored}"
    )
