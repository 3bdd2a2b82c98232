"""The demo pipeline: teacher → tokenizer and tiny model → SFT → RL → held-out evaluation.

Every stage uses hone's own pieces: the countdown agent is :func:`hone.agent.arun_agent`;
teacher episodes come from :func:`hone.trajectory.rollout_batch`; SFT samples from
:func:`hone.train.sft_samples` and :meth:`hone.train.Trainer.sft_step`; RL is
:func:`hone.train.train_rl` sampling from ``BatchingModel(TransformersModel(policy))``; the
teacher, the SFT model and the RL model are scored by :func:`hone.train.evaluate` with the same
reward on the same held-out tasks, greedily.
"""

from __future__ import annotations

import gc
import json
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Literal

from hone.demo._agent import CountdownAgent, countdown_reward, task_record
from hone.demo._behaviour import behaviour
from hone.demo._config import DemoConfig
from hone.demo._model import build_student
from hone.demo._plot import plot_demo
from hone.demo._teacher import CountdownTeacher
from hone.demo.countdown import make_splits
from hone.errors import TrainingError
from hone.models import BatchingModel, ModelBackend
from hone.train import (
    EvalConfig,
    EvalResult,
    LRSchedule,
    RLConfig,
    StepReport,
    Trainer,
    TrainerConfig,
    TrainingSample,
    evaluate,
    sft_samples,
    train_rl,
)
from hone.trajectory import Episode, derive_seed, rollout_batch

__all__ = ["DemoProgress", "DemoResult", "arun_demo"]

logger = logging.getLogger(__name__)

Phase = Literal["teacher", "sft", "rl", "eval"]


@dataclass(frozen=True, slots=True)
class DemoProgress:
    """One progress report: ``step`` of ``total`` in ``phase``, with its latest metrics."""

    phase: Phase
    step: int
    total: int
    metrics: dict[str, float] = field(default_factory=dict)


@dataclass(slots=True)
class DemoResult:
    """What the demo measured and wrote.

    Attributes:
        teacher, sft, rl: held-out success rates (greedy, same tasks, same reward).
        rl_curve: one row per RL step (``step``, ``reward``, ``success``, ``eval_success``...).
        behaviour: per agent, how it played the held-out tasks (:class:`~hone.demo.Behaviour`).
        seconds: wall time per phase and ``total``.
        model_dir, plot, results: the trained model, the learning-curve PNG, the JSON summary.
    """

    config: DemoConfig
    teacher: float = math.nan
    sft: float = math.nan
    rl: float = math.nan
    rl_curve: list[dict[str, float]] = field(default_factory=list)
    behaviour: dict[str, dict[str, float]] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)
    model_dir: Path | None = None
    plot: Path | None = None
    results: Path | None = None

    def summary(self) -> dict[str, Any]:
        """The result as JSON data."""
        return {
            "config": asdict(self.config),
            "held_out_success": {"teacher": self.teacher, "sft": self.sft, "rl": self.rl},
            "behaviour": self.behaviour,
            "seconds": self.seconds,
            "rl_curve": self.rl_curve,
            "model_dir": str(self.model_dir) if self.model_dir else None,
        }


Report = Callable[[DemoProgress], None]


class _Clock:
    def __init__(self, result: DemoResult) -> None:
        self.result, self.start, self.last = result, time.perf_counter(), time.perf_counter()

    def lap(self, name: str) -> None:
        now = time.perf_counter()
        self.result.seconds[name] = round(now - self.last, 2)
        self.result.seconds["total"] = round(now - self.start, 2)
        self.last = now


def _splits(config: DemoConfig) -> tuple[list[Any], list[Any], list[Any]]:
    """SFT, RL and held-out task records; raises if a held-out task is also a training task."""
    splits = make_splits(
        config.seed, n_train=config.n_sft_tasks + config.n_rl_tasks, n_test=config.n_test
    )
    if set(splits.train) & set(splits.test):  # the generator promises this; check it anyway
        raise TrainingError("a held-out task is also a training task; the demo refuses to run")
    train = [task_record(t) for t in splits.train]
    test = [task_record(t) for t in splits.test]
    return train[: config.n_sft_tasks], train[config.n_sft_tasks :], test


def _sft_samples(episodes: Sequence[Episode], tokenizer: Any) -> list[TrainingSample]:
    samples: list[TrainingSample] = []
    for episode in episodes:
        merged = sft_samples(episode, tokenizer).merged
        if merged is not None:
            samples.extend(merged.samples)
    return samples


def _sft_trainer_config(config: DemoConfig) -> TrainerConfig:
    """SFT's settings: linear warm-up, then cosine decay to 10% over ``sft_steps``."""
    return TrainerConfig(
        lr=config.sft_lr,
        schedule=LRSchedule(
            kind="cosine",
            warmup_steps=config.sft_warmup,
            min_lr_ratio=0.1,
            total_steps=config.sft_steps,
        ),
        adam_betas=(0.9, 0.98),
        micro_batch_size=config.sft_micro_batch_size,
        seed=config.seed,
    )


def _sft(
    config: DemoConfig, trainer: Trainer, samples: list[TrainingSample], report: Report
) -> None:
    """``sft_steps`` steps on random batches (the schedule is the trainer's)."""
    rng = random.Random(config.seed)
    for step in range(config.sft_steps):
        batch = rng.sample(samples, min(config.sft_batch_size, len(samples)))
        metrics = trainer.sft_step(batch)
        progress = {"loss": metrics.loss, "lr": metrics.lr}
        report(DemoProgress("sft", step + 1, config.sft_steps, progress))


def _policy(model: Any, tokenizer: Any, config: DemoConfig) -> ModelBackend:
    from hone.models import TransformersModel

    width = max(config.n_test, config.tasks_per_step * config.group_size)
    # A wave of episodes reaches its next model call over tens of milliseconds (each runs its
    # tools and bookkeeping in turn); waiting 50 ms gathers the wave into one generation.
    return BatchingModel(
        TransformersModel(model, tokenizer, name="student"), max_batch=width, max_wait_ms=50.0
    )


async def _held_out(
    agent: CountdownAgent, tasks: list[Any], backend: ModelBackend, seed: int
) -> EvalResult:
    return await evaluate(
        agent, tasks, backend, countdown_reward, temperature=0.0, seed=derive_seed(seed, "eval")
    )


def _record(result: DemoResult, who: str, evaluation: EvalResult) -> float:
    """Keep how ``who`` played the held-out tasks; return its success rate."""
    result.behaviour[who] = behaviour(evaluation.episodes).as_dict()
    return evaluation.success_rate


def _rl_config(config: DemoConfig) -> RLConfig:
    """RL's settings. The demo evaluates the SFT model itself (no step-0 evaluation), keeps the
    last model, and trains on the plain task reward (its calls are short tool calls; the
    recipe was measured without a truncation penalty)."""
    return RLConfig(
        group_size=config.group_size,
        tasks_per_step=config.tasks_per_step,
        steps=config.rl_steps,
        trainer=TrainerConfig(
            loss_type=config.loss_type,
            lr=config.rl_lr,
            adam_betas=(0.9, 0.99),
            micro_batch_size=config.micro_batch_size,
            max_completion_length=config.max_completion_length,
            seed=config.seed,
        ),
        temperature=config.temperature,
        max_tokens=config.max_tokens,
        truncation_penalty=0.0,
        eval=EvalConfig(every=config.eval_every, at_start=False, keep_best=False),
        checkpoint_every=0,
    )


async def arun_demo(
    config: DemoConfig, output_dir: str | Path, *, on_progress: Report | None = None
) -> DemoResult:
    """Run the whole demo and write its outputs under ``output_dir``.

    Writes ``model/`` (a Hugging Face checkpoint: ``hf:<output_dir>/model``),
    ``learning_curve.png``, ``metrics.jsonl`` (one row per RL step) and ``results.json``.
    """
    import torch

    torch.set_num_threads(config.threads)
    out = Path(output_dir)
    out.mkdir(parents=True, exist_ok=True)
    report: Report = on_progress or (lambda _: None)
    result = DemoResult(config=config)
    clock = _Clock(result)
    agent = CountdownAgent(
        max_turns=config.max_turns, max_tokens=config.max_tokens, feedback=config.calc_feedback
    )
    sft_tasks, rl_tasks, test = _splits(config)

    teacher = CountdownTeacher(config.patience, seed=config.seed, order=config.teacher_order)
    demos = await rollout_batch(agent, sft_tasks, teacher, group_size=1, reward=countdown_reward)
    result.teacher = _record(result, "teacher", await _held_out(agent, test, teacher, config.seed))
    report(DemoProgress("teacher", 1, 1, {"held_out_success": result.teacher}))
    clock.lap("teacher")

    model, tokenizer = build_student(config, demos.episodes, out / "init")
    samples = _sft_samples(demos.episodes, tokenizer)
    sft_trainer = Trainer(model, tokenizer, config=_sft_trainer_config(config))
    _sft(config, sft_trainer, samples, report)
    del demos, samples  # tens of thousands of episodes: free them before the RL loop
    gc.collect()
    clock.lap("sft")
    policy = _policy(model, tokenizer, config)
    result.sft = _record(result, "sft", await _held_out(agent, test, policy, config.seed))
    report(DemoProgress("eval", 1, 1, {"sft_success": result.sft}))
    clock.lap("sft_eval")

    def on_step(step: StepReport) -> None:
        report(DemoProgress("rl", step.step, step.total, step.metrics.to_row()))

    rl_config = _rl_config(config)
    run = await train_rl(
        Trainer(model, tokenizer, config=rl_config.trainer),
        agent,
        rl_tasks,
        countdown_reward,
        config=rl_config,
        eval_tasks=test,
        seed=config.seed,
        rollout_model=policy,
        save_model=False,
        on_step=on_step,
    )
    if run.final_eval is None:
        raise TrainingError("the RL run ended without its final held-out evaluation")
    result.rl = _record(result, "rl", run.final_eval)
    result.rl_curve = [step.to_row() for step in run.metrics]
    clock.lap("rl")
    _write(result, out, run.trainer)
    return result


def _write(result: DemoResult, out: Path, trainer: Trainer | None) -> None:
    if trainer is not None:
        result.model_dir = trainer.save_model(out / "model")
    with (out / "metrics.jsonl").open("w", encoding="utf-8") as file:
        for row in result.rl_curve:
            file.write(json.dumps(row) + "\n")
    result.plot = plot_demo(result, out / "learning_curve.png")
    result.results = out / "results.json"
    result.results.write_text(json.dumps(result.summary(), indent=2), encoding="utf-8")
