"""The RL loop of a training run: roll out, score, build samples, update, evaluate, checkpoint.

One step of :func:`train_rl`::

    tasks      = tasks_per_step tasks, drawn without replacement epoch by epoch (seeded)
    episodes   = rollout_batch(program, tasks, RecordingModel(policy), group_size=G)
    samples    = build_rl_batch(episodes)   # None rewards excluded, flat groups skipped
    metrics    = trainer.train_step(samples)

The rollout backend is the live policy, ``BatchingModel(TransformersModel(trainer.model,
tokenizer))``, unless another is given (every piece is replaceable). Episodes are written to
``output_dir/trajectories.db`` at each checkpoint, together with the trainer's state, so a run
resumed from its output directory continues exactly where the checkpoint left it.
"""

from __future__ import annotations

import json
import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from hone.errors import TrainingConfigError, TrainingError
from hone.models._batching import BatchingModel
from hone.models._protocol import ModelBackend
from hone.rewards import Reward
from hone.train._evaluate import EvalResult, evaluate, with_sampling
from hone.train._metrics import MetricsLogger
from hone.train._rl_batch import build_rl_batch
from hone.train._run_config import RLConfig
from hone.train._trainer import Trainer
from hone.trajectory import Episode, Program, RecordingModel, TrajectoryStore, derive_seed
from hone.trajectory import rollout_batch as _rollout_batch

__all__ = [
    "RunResult",
    "StepReport",
    "latest_checkpoint",
    "policy_backend",
    "tasks_for_step",
    "train_rl",
]

logger = logging.getLogger(__name__)

RUN_STATE = "run_state.json"
RUN_STATE_VERSION = 1
PLOT_KEYS = ("reward", "success", "eval_success", "loss", "skipped_groups")


@dataclass(frozen=True, slots=True)
class StepReport:
    """Progress of a run, handed to ``on_step`` after every step (the CLI draws it)."""

    phase: Literal["sft", "rl"]
    step: int
    total: int
    metrics: dict[str, float]


#: Called after every step with its :class:`StepReport`.
ProgressCallback = Callable[[StepReport], None]


@dataclass(slots=True)
class RunResult:
    """What a run produced.

    Attributes:
        steps: RL steps completed (including those of earlier, resumed attempts).
        metrics: one row per RL step (the rows of ``metrics.jsonl``).
        final_eval: the last evaluation, if any ran in this attempt.
        model_dir: where the final model was saved (loadable with ``hf:<dir>``), if saved.
        output_dir: the run's folder, if it has one.
        trainer: the trainer, holding the trained model.
    """

    steps: int
    metrics: list[dict[str, float]] = field(default_factory=list)
    final_eval: EvalResult | None = None
    model_dir: Path | None = None
    output_dir: Path | None = None
    trainer: Trainer | None = None


def tasks_for_step(tasks: Sequence[Any], step: int, per_step: int, seed: int) -> list[Any]:
    """The tasks of RL step ``step``: consecutive slices of seeded permutations of ``tasks``
    (one permutation per epoch), so every task is used once per epoch and any step can be
    recomputed from ``(seed, step)`` alone (what resuming needs)."""
    if not tasks:
        raise TrainingConfigError("no training tasks; the task source gave an empty train split.")
    n = len(tasks)
    orders: dict[int, list[int]] = {}
    out: list[Any] = []
    for position in range(step * per_step, (step + 1) * per_step):
        epoch, index = divmod(position, n)
        if epoch not in orders:
            orders[epoch] = list(range(n))
            random.Random(derive_seed(seed, "epoch", epoch)).shuffle(orders[epoch])
        out.append(tasks[orders[epoch][index]])
    return out


def policy_backend(trainer: Trainer, *, max_batch: int = 64) -> ModelBackend:
    """The live policy as a batched backend: what RL rollouts sample from by default.

    Raises:
        TrainingConfigError: the trainer has no tokenizer (needed to render prompts).
    """
    from hone.models._transformers import TransformersModel

    if trainer.tokenizer is None:
        raise TrainingConfigError(
            "the trainer has no tokenizer, so the policy cannot render prompts; pass the "
            "tokenizer to Trainer(model, tokenizer, config=...)."
        )
    return BatchingModel(TransformersModel(trainer.model, trainer.tokenizer), max_batch=max_batch)


def latest_checkpoint(output_dir: str | Path) -> Path | None:
    """The newest ``checkpoints/step-N`` folder of a run that holds a run state, or None."""
    root = Path(output_dir) / "checkpoints"
    found = [
        (int(p.name.removeprefix("step-")), p)
        for p in root.glob("step-*")
        if p.name.removeprefix("step-").isdigit() and (p / RUN_STATE).is_file()
    ]
    return max(found)[1] if found else None


class _Outputs:
    """The files of a run's output folder: metrics, the episode store, checkpoints."""

    def __init__(self, directory: Path | None, *, start_step: int) -> None:
        self.directory = directory
        self.pending: list[tuple[int, list[Episode]]] = []
        self.metrics: MetricsLogger | None = None
        if directory is not None:
            if start_step > 0:
                _truncate_metrics(directory, start_step)
            self.metrics = MetricsLogger(directory, resume=start_step > 0)
            if start_step > 0:
                self.metrics._rewrite_csv()  # drop rows of steps after the checkpoint

    def log(self, metrics: dict[str, float], step: int) -> None:
        if self.metrics is not None:
            self.metrics.log(metrics, step=step)

    def flush_episodes(self) -> None:
        if self.directory is None or not self.pending:
            self.pending.clear()
            return
        with TrajectoryStore(self.directory / "trajectories.db") as store:
            for step, episodes in self.pending:
                store.add(episodes, run="rl", step=step)
        self.pending.clear()

    def checkpoint(self, trainer: Trainer, step: int) -> None:
        if self.directory is None:
            return
        self.flush_episodes()
        folder = trainer.save_checkpoint(self.directory / "checkpoints" / f"step-{step}")
        state = {"version": RUN_STATE_VERSION, "step": step, "updates": trainer.step}
        (folder / RUN_STATE).write_text(json.dumps(state), encoding="utf-8")
        logger.info("checkpoint at step %d: %s", step, folder)


def _truncate_metrics(directory: Path, step: int) -> None:
    """Keep only the metric rows of steps up to ``step`` (a resumed run redoes the others)."""
    path = directory / "metrics.jsonl"
    if not path.is_file():
        return
    kept = [
        line
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.strip() and (json.loads(line).get("step") or 0) <= step
    ]
    path.write_text("".join(f"{line}\n" for line in kept), encoding="utf-8")


def _resume(trainer: Trainer, output_dir: Path | None, resume: bool) -> int:
    """Load the newest checkpoint when resuming; the step to start from."""
    if output_dir is None:
        if resume:
            raise TrainingConfigError("resume=True needs an output_dir holding checkpoints.")
        return 0
    checkpoint = latest_checkpoint(output_dir)
    if not resume:
        if checkpoint is not None:
            raise TrainingConfigError(
                f"{output_dir} already holds a run (checkpoint {checkpoint.name}); resume it "
                "(`hone train CONFIG --resume`, resume=True) or choose another output_dir."
            )
        return 0
    if checkpoint is None:
        logger.info("nothing to resume in %s; starting a new run", output_dir)
        return 0
    state = json.loads((checkpoint / RUN_STATE).read_text(encoding="utf-8"))
    if state.get("version") != RUN_STATE_VERSION:
        raise TrainingError(f"{checkpoint} has run state version {state.get('version')}.")
    trainer.load_checkpoint(checkpoint)
    logger.info("resumed from %s", checkpoint)
    return int(state["step"])


@dataclass(slots=True)
class _Loop:
    """Everything one RL step needs, fixed for the run."""

    trainer: Trainer
    program: Program
    eval_program: Program
    tasks: Sequence[Any]
    eval_tasks: Sequence[Any]
    reward: Reward
    config: RLConfig
    recording: RecordingModel
    backend: ModelBackend
    seed: int
    outputs: _Outputs

    async def step(self, step: int) -> dict[str, float]:
        cfg = self.config
        started = time.perf_counter()
        batch = await _rollout_batch(
            self.program,
            tasks_for_step(self.tasks, step, cfg.tasks_per_step, self.seed),
            self.recording,
            group_size=cfg.group_size,
            concurrency=cfg.concurrency,
            max_failures=cfg.max_failures,
            seed=derive_seed(self.seed, "rl", step),
            reward=self.reward,
        )
        rollout_s = time.perf_counter() - started
        if self.outputs.directory is not None:  # without a folder, episodes are not kept
            self.outputs.pending.append((step + 1, batch.episodes))
        rl = build_rl_batch(
            batch.episodes,
            scale=cfg.advantage_scale,
            eps=cfg.advantage_eps,
            per_turn=cfg.per_turn,
            gamma=cfg.gamma,
            strict=cfg.strict_prefix,
            success_threshold=cfg.success_threshold,
        )
        metrics = rl.stats.as_metrics()
        metrics["rollout_s"] = rollout_s
        metrics["tokens_per_s"] = rl.stats.completion_tokens / max(rollout_s, 1e-9)
        if rl.samples:
            update = self.trainer.train_step(rl.samples)
            metrics["train_s"] = update.pop("seconds")
            update.pop("step")
            update.pop("num_samples")
            metrics.update(update)
        else:
            logger.info("step %d: no group had a learning signal; no update", step + 1)
        metrics["updates"] = float(self.trainer.step)
        return metrics

    async def evaluate(self) -> EvalResult:
        return await evaluate(
            self.eval_program,
            self.eval_tasks,
            self.backend,
            self.reward,
            concurrency=self.config.concurrency,
            seed=derive_seed(self.seed, "eval"),
            success_threshold=self.config.success_threshold,
        )


def _eval_metrics(result: EvalResult) -> dict[str, float]:
    return {
        "eval_reward": result.mean_reward,
        "eval_success": result.success_rate,
        "eval_unscored": float(result.unscored),
    }


async def train_rl(
    trainer: Trainer,
    program: Program,
    tasks: Sequence[Any],
    reward: Reward,
    *,
    config: RLConfig,
    eval_tasks: Sequence[Any] = (),
    output_dir: str | Path | None = None,
    seed: int = 0,
    rollout_model: ModelBackend | None = None,
    resume: bool = False,
    save_model: bool = True,
    on_step: ProgressCallback | None = None,
) -> RunResult:
    """Train ``trainer``'s model with GRPO-style RL on ``program``'s rollouts of ``tasks``.

    Args:
        trainer: the :class:`~hone.train.Trainer` (its config sets the loss; ``config`` here
            sets the loop).
        program: ``program(task, model)`` as :func:`~hone.trajectory.rollout` expects.
        tasks: the training tasks.
        reward: scores each group of rollouts (the same object can serve :func:`evaluate`).
        config: the loop's settings (group size, tasks per step, steps, sampling, cadence).
        eval_tasks: held-out tasks, evaluated every ``config.eval_every`` steps and at the end.
        output_dir: where metrics (JSONL, CSV, PNG), episodes, checkpoints and the final model
            go; None keeps everything in memory.
        seed: seeds task order and rollouts.
        rollout_model: the backend rollouts sample from; default the live policy
            (:func:`policy_backend`). It must return token ids and logprobs.
        resume: continue from the newest checkpoint in ``output_dir``.
        save_model: write the final model to ``output_dir/model``.
        on_step: called after every step with a :class:`StepReport`.

    Raises:
        CapabilityError: the rollout backend gives no token ids (raised at the first step).
        TrainingConfigError: ``output_dir`` holds a run and ``resume`` is False, or similar.
    """
    out = Path(output_dir) if output_dir is not None else None
    start = _resume(trainer, out, resume)
    backend = rollout_model if rollout_model is not None else policy_backend(trainer)
    loop = _Loop(
        trainer=trainer,
        program=with_sampling(
            program, temperature=config.temperature, max_tokens=config.max_tokens
        ),
        eval_program=with_sampling(
            program, temperature=config.eval_temperature, max_tokens=config.max_tokens
        ),
        tasks=tasks,
        eval_tasks=eval_tasks,
        reward=reward,
        config=config,
        recording=RecordingModel(backend),
        backend=backend,
        seed=seed,
        outputs=_Outputs(out, start_step=start),
    )
    result = RunResult(steps=start, output_dir=out, trainer=trainer)
    for step in range(start, config.steps):
        metrics = await loop.step(step)
        done = step + 1
        last = done == config.steps
        if eval_tasks and config.eval_every and (done % config.eval_every == 0 or last):
            result.final_eval = await loop.evaluate()
            metrics.update(_eval_metrics(result.final_eval))
        loop.outputs.log(metrics, done)
        result.metrics.append({**metrics, "step": float(done)})
        result.steps = done
        if config.checkpoint_every and done % config.checkpoint_every == 0 and not last:
            loop.outputs.checkpoint(trainer, done)
        if on_step is not None:
            on_step(StepReport("rl", done, config.steps, metrics))
        _log_step(done, config.steps, metrics)
    if result.steps > start:
        loop.outputs.checkpoint(trainer, result.steps)
    return _finish(result, loop.outputs, save_model)


def _log_step(step: int, total: int, metrics: dict[str, float]) -> None:
    logger.info(
        "step %d/%d reward=%.3f success=%.2f loss=%s skipped_groups=%d excluded=%d",
        step,
        total,
        metrics.get("reward", math.nan),
        metrics.get("success", math.nan),
        f"{metrics['loss']:.4f}" if "loss" in metrics else "-",
        int(metrics.get("skipped_groups", 0)),
        int(metrics.get("excluded_episodes", 0)),
    )


def _finish(result: RunResult, outputs: _Outputs, save_model: bool) -> RunResult:
    outputs.flush_episodes()
    if outputs.metrics is not None:
        result.metrics = [dict(row) for row in outputs.metrics.rows]
        outputs.metrics.plot(keys=PLOT_KEYS)
    if save_model and result.output_dir is not None and result.trainer is not None:
        result.model_dir = result.trainer.save_model(result.output_dir / "model")
    return result
