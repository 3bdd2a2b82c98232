"""``hone train`` (run a training config) and ``hone eval`` (score a program on tasks)."""

from __future__ import annotations

import asyncio
import csv
import json
import math
import time
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from hone.cli._app import app, console, err_console
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
    "truncated_calls",
    "parse_errors",
    "tool_errors",
    "prefix_breaks",
    "clip_region",
    "clip_high",
    "tokens_per_s",
    "updates",
)
#: Exit status of ``hone train --strict`` when the run ended with warnings.
WARNING_EXIT = 3


def _fmt(value: float) -> str:
    if math.isnan(value):
        return "-"
    return f"{value:.0f}" if value == int(value) and abs(value) >= 1 else f"{value:.4g}"


def _info(report: StepReport) -> str:
    row = report.metrics.to_row()
    shown = ["loss", "lr"] if report.phase == "sft" else ["reward", "success", "loss"]
    shown += ["eval_success"]
    return "  ".join(f"{k}={_fmt(row[k])}" for k in shown if k in row)


class _Bars:
    """Rich progress bars for the SFT and RL phases, fed by ``on_step`` (on a terminal)."""

    def __init__(self, progress: Progress) -> None:
        self.progress = progress
        self.tasks: dict[str, Any] = {}

    def __call__(self, report: StepReport) -> None:
        if report.phase not in self.tasks:
            self.tasks[report.phase] = self.progress.add_task(
                report.phase.upper(), total=report.total, info=""
            )
        self.progress.update(
            self.tasks[report.phase], completed=report.step, total=report.total, info=_info(report)
        )


class _Lines:
    """Plain progress lines (output redirected to a file or a CI log): about twenty per phase,
    plus every evaluation and the last step, each with the time since the start."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def __call__(self, report: StepReport) -> None:
        every = max(1, report.total // 20)
        evaluated = report.metrics.eval is not None
        if report.step % every and not evaluated and report.step != report.total:
            return
        elapsed = time.perf_counter() - self.started
        console.print(
            f"{report.phase} {report.step}/{report.total} [{elapsed:.0f}s] {_info(report)}",
            soft_wrap=True,
            highlight=False,
        )


def _summary(result: RunResult) -> Table:
    table = Table(title=f"after {result.steps} RL steps", show_header=True)
    table.add_column("metric")
    table.add_column("last", justify="right")
    last = result.metrics[-1].to_row() if result.metrics else {}
    for key in SUMMARY_KEYS:
        if key in last:
            table.add_row(key, _fmt(last[key]))
    return table


def _evaluations(result: RunResult) -> Table | None:
    """Held-out results through the run: SFT's start and best, RL's start, best and end."""
    rows: list[tuple[str, str, float]] = []
    if result.sft is not None:
        for sft_step in result.sft.metrics:
            if sft_step.eval is not None and sft_step.step == 0:
                rows.append(("SFT start", "0", sft_step.eval.success))
        if result.sft.best_step is not None and result.sft.best_value is not None:
            rows.append(("SFT best", str(result.sft.best_step), result.sft.best_value))
    evaluated = [m for m in result.metrics if m.eval is not None]
    if evaluated:
        first, last = evaluated[0], evaluated[-1]
        start = "RL start" if first.step == 0 else "RL first"
        rows.append((start, str(first.step), first.eval.success if first.eval else math.nan))
        if result.best_step is not None and result.best_value is not None:
            rows.append(("RL best", str(result.best_step), result.best_value))
        rows.append(("RL end", str(last.step), last.eval.success if last.eval else math.nan))
    if not rows:
        return None
    table = Table(title="held-out evaluations", show_header=True)
    for column in ("when", "step", "value"):
        table.add_column(column, justify="right" if column != "when" else "left")
    for when, step, value in rows:
        table.add_row(when, step, _fmt(value))
    return table


def _progress() -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.fields[info]}"),
        console=console,
    )


@app.command()
def train(
    config: Annotated[Path, typer.Argument(help="A run config: .yaml, .yml or .toml.")],
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue the run in the config's output_dir from its newest checkpoint "
            "(a finished SFT phase is reused).",
        ),
    ] = False,
    strict: Annotated[
        bool,
        typer.Option(
            "--strict",
            help=f"Exit with status {WARNING_EXIT} when the run ends with warnings (no learning "
            "signal, collapse, degenerate output, SFT plateau).",
        ),
    ] = False,
    seed: Annotated[int | None, typer.Option("--seed", help="Replace the config's seed.")] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir", "-o", help="Replace the config's output_dir (from the current folder)."
        ),
    ] = None,
) -> None:
    """Train as CONFIG says (SFT and/or RL); write metrics, plots, checkpoints and the model."""
    from hone.train import load_config, run_training

    overrides: dict[str, Any] = {}
    if seed is not None:
        overrides["seed"] = seed
    if output_dir is not None:
        overrides["output_dir"] = output_dir.resolve()
    run_config = load_config(config, overrides=overrides)
    progress: AbstractContextManager[Any] = nullcontext()
    on_step: _Bars | _Lines = _Lines()
    if console.is_terminal:
        bars = _progress()
        progress, on_step = bars, _Bars(bars)
    with progress:
        result = run_training(run_config, resume=resume, on_step=on_step)
    if result.metrics:
        console.print(_summary(result))
    evaluations = _evaluations(result)
    if evaluations is not None:
        console.print(evaluations)
    out = result.output_dir or run_config.out_dir
    console.print(f"metrics: {out / 'metrics.csv'}, {out / 'metrics.jsonl'}, {out / 'metrics.png'}")
    if result.best_dir is not None:
        console.print(
            f"best model (step {result.best_step}): {result.best_dir} ('hf:{result.best_dir}')"
        )
    if result.model_dir is not None:
        console.print(f"model: {result.model_dir} (load it with the spec 'hf:{result.model_dir}')")
    for warning in result.warnings:
        err_console.print(f"[bold yellow]warning ({warning.kind}):[/] {warning.message}")
    if strict and result.warnings:
        raise typer.Exit(code=WARNING_EXIT)


def _eval_table(result: EvalResult, limit: int | None) -> Table:
    table = Table(show_header=True)
    for column in ("task", "reward", "success", "status", "final answer"):
        table.add_column(column, overflow="fold")
    shown = result.per_task if limit is None else result.per_task[:limit]
    for score in shown:
        reward = "-" if score.reward is None else _fmt(score.reward)
        output = score.output if score.reward is not None else (score.error or score.output)
        table.add_row(
            score.task_id, reward, "yes" if score.success else "no", score.status, output[:80]
        )
    if limit is not None and len(result.per_task) > limit:
        table.caption = f"{limit} of {len(result.per_task)} tasks shown (--rows)"
    return table


class _Pieces:
    """What ``hone eval`` runs: a program, tasks, a reward, a backend and the seed."""

    def __init__(
        self, program: Any, tasks: list[Any], reward: Any, backend: Any, seed: int
    ) -> None:
        self.program, self.tasks, self.reward, self.backend = program, tasks, reward, backend
        self.seed = seed


def _from_flags(
    program: str | None,
    tasks: str | None,
    reward: str | None,
    model: str | None,
    split: str,
    tool_schemas: str,
    seed: int,
) -> _Pieces:
    from hone.train._pipeline import as_program, as_reward, load_backend
    from hone.train._prompt import check_tool_schemas, with_requests
    from hone.train._run_config_load import load_tasks, resolve_object

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
    mode = check_tool_schemas(tool_schemas)
    the_program = as_program(
        resolve_object(program or "", field="--program", base_dir=base), field="--program"
    )
    return _Pieces(
        with_requests(the_program, tool_schemas=mode),
        load_tasks(
            resolve_object(tasks or "", field="--tasks", base_dir=base),
            split,
            seed,
            field="--tasks",
        ),
        as_reward(resolve_object(reward or "", field="--reward", base_dir=base), field="--reward"),
        load_backend(model or "", field="--model", base_dir=base),
        seed,
    )


def _from_config(
    path: Path,
    *,
    program: str | None,
    tasks: str | None,
    reward: str | None,
    model: str | None,
    split: str,
    seed: int | None,
) -> _Pieces:
    """The config's pieces; ``--program/--tasks/--reward/--model`` replace the config's fields.
    Flags resolve from the current folder (then the config's), the config's fields from the
    config's folder."""
    from hone.train import load_config
    from hone.train._pipeline import as_program, as_reward
    from hone.train._prompt import with_requests
    from hone.train._run_config_load import load_tasks, resolve_object

    config = load_config(path, overrides={"seed": seed} if seed is not None else None)
    cwd = Path.cwd()

    def piece(flag: str | None, field: str, value: str | None) -> Any:
        if flag is not None:
            try:
                return resolve_object(flag, field=f"--{field}", base_dir=cwd)
            except TrainingConfigError:  # not in the current folder: next to the config?
                return resolve_object(flag, field=f"--{field}", base_dir=config.base_dir)
        if value is None:
            raise TrainingConfigError(f"{path} names no {field}; pass --{field} or add one.")
        return resolve_object(value, field=field, base_dir=config.base_dir)

    the_program = as_program(piece(program, "program", config.program), field="program")
    source = piece(tasks, "tasks", config.tasks.source)
    args = {} if tasks is not None else config.tasks.args
    chosen = load_tasks(source, split, config.seed, args=args, field="tasks")
    if tasks is None and split == config.tasks.eval_split:
        chosen = chosen[: config.tasks.eval_size]  # the held-out tasks training evaluates
    return _Pieces(
        with_requests(the_program, tool_schemas=config.tool_schemas),
        chosen,
        as_reward(piece(reward, "reward", config.reward)),
        _backend(model, config.model, cwd, config.base_dir),
        config.seed,
    )


def _backend(flag: str | None, value: str, cwd: Path, base_dir: Path) -> Any:
    from hone.train._pipeline import load_backend

    if flag is None:
        return load_backend(value, field="model", base_dir=base_dir)
    try:
        return load_backend(flag, field="--model", base_dir=cwd)
    except TrainingConfigError:  # an import path next to the config
        return load_backend(flag, field="--model", base_dir=base_dir)


def _write_json(path: Path, result: EvalResult) -> None:
    summary = result.metrics
    data = {
        "success_rate": None if math.isnan(result.success_rate) else result.success_rate,
        "mean_reward": None if math.isnan(result.mean_reward) else result.mean_reward,
        "tasks": summary.tasks,
        "unscored": summary.unscored,
        "truncated_calls": summary.counts.truncated_calls,
        "parse_errors": summary.counts.parse_errors,
        "tool_errors": summary.counts.tool_errors,
        "per_task": [
            {
                "task_id": s.task_id,
                "reward": s.reward,
                "success": s.success,
                "status": s.status,
                "error": s.error,
                "final_answer": s.output,
                "episode_id": s.episode_id,
            }
            for s in result.per_task
        ],
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2, ensure_ascii=False), encoding="utf-8")


def _write_csv(path: Path, result: EvalResult) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    columns = ["task_id", "reward", "success", "status", "error", "final_answer", "episode_id"]
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(columns)
        for s in result.per_task:
            reward = "" if s.reward is None else repr(s.reward)
            writer.writerow(
                [s.task_id, reward, s.success, s.status, s.error or "", s.output, s.episode_id]
            )


@app.command("eval")
def eval_command(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="A run config naming the pieces.")
    ] = None,
    program: Annotated[
        str | None,
        typer.Option(
            "--program", help="program(task, model), as mod:attr (replaces the config's)."
        ),
    ] = None,
    tasks: Annotated[
        str | None,
        typer.Option("--tasks", help="The task source, as mod:attr (replaces the config's)."),
    ] = None,
    reward: Annotated[
        str | None,
        typer.Option("--reward", help="A Reward or function, as mod:attr (replaces the config's)."),
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
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed", help="Seeds the task source and the rollouts (a config's: its own)."
        ),
    ] = None,
    temperature: Annotated[
        float, typer.Option("--temperature", min=0.0, help="Sampling temperature (0: greedy).")
    ] = 0.0,
    concurrency: Annotated[
        int | None, typer.Option("--concurrency", min=1, help="Most rollouts at once.")
    ] = None,
    tool_schemas: Annotated[
        str,
        typer.Option(
            "--tool-schemas",
            help="full | compact | none (without --config; a config sets its own).",
        ),
    ] = "full",
    json_out: Annotated[
        Path | None, typer.Option("--json", help="Write the summary and per-task rows as JSON.")
    ] = None,
    csv_out: Annotated[
        Path | None, typer.Option("--csv", help="Write the per-task rows as CSV.")
    ] = None,
    save_episodes: Annotated[
        Path | None,
        typer.Option("--save-episodes", help="Add the episodes to this trajectory store (.db)."),
    ] = None,
    run_name: Annotated[
        str, typer.Option("--run", help="The run name episodes are stored under.")
    ] = "eval",
    rows: Annotated[
        int | None, typer.Option("--rows", min=0, help="Show at most this many rows (default all).")
    ] = None,
) -> None:
    """Run a program once per task, score it with the reward, and print a row per task."""
    from hone.train import evaluate

    if config is not None:
        pieces = _from_config(
            config, program=program, tasks=tasks, reward=reward, model=model, split=split,
            seed=seed,
        )  # fmt: skip
        run_seed = pieces.seed
    else:
        run_seed = seed if seed is not None else 0
        pieces = _from_flags(program, tasks, reward, model, split, tool_schemas, run_seed)
    chosen: Sequence[Any] = pieces.tasks[:n] if n is not None else pieces.tasks
    result = asyncio.run(
        evaluate(
            pieces.program,
            chosen,
            pieces.backend,
            pieces.reward,
            concurrency=concurrency,
            seed=run_seed,
            temperature=temperature,
        )
    )
    console.print(_eval_table(result, rows))
    counts = result.metrics.counts
    console.print(
        f"[bold]success rate {_fmt(result.success_rate)}[/]  mean reward "
        f"{_fmt(result.mean_reward)}  tasks {len(result.per_task)}  unscored {result.unscored}  "
        f"truncated calls {counts.truncated_calls}  parse errors {counts.parse_errors}  "
        f"tool errors {counts.tool_errors}"
    )
    if json_out is not None:
        _write_json(json_out, result)
        console.print(f"json: {json_out}")
    if csv_out is not None:
        _write_csv(csv_out, result)
        console.print(f"csv: {csv_out}")
    if save_episodes is not None:
        from hone.trajectory import TrajectoryStore

        with TrajectoryStore(save_episodes) as store:
            store.add(result.episodes, run=run_name)
        console.print(f"episodes: {save_episodes} (run {run_name!r})")
