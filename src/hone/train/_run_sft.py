"""The SFT loop: episodes to imitate (a file, or a teacher's rollouts), then steps of
:meth:`~hone.train.Trainer.sft_step` over their assistant turns, with held-out evaluation,
keep-best, early stopping and a plateau check."""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hone.errors import ConfigError, TrainingConfigError, TrajectoryError
from hone.models._protocol import ModelBackend
from hone.rewards import Reward
from hone.train._evaluate import EvalResult, evaluate
from hone.train._health import EvalTracker, RunWarning, loss_plateau
from hone.train._metrics import SFTStepMetrics, TrainStepMetrics
from hone.train._metrics_log import MetricsLogger
from hone.train._policy import policy_backend
from hone.train._run_config import EvalConfig, SFTConfig
from hone.train._samples import TrainingSample
from hone.train._sft_data import sft_samples
from hone.train._trainer import Trainer, check_trainer
from hone.trajectory import (
    Episode,
    Program,
    derive_seed,
    read_episodes,
    rollout_batch,
    write_jsonl,
)

__all__ = ["SFTResult", "load_episodes", "teacher_episodes", "train_sft"]

logger = logging.getLogger(__name__)

#: Called after every SFT step (and after the step-0 evaluation) with its metrics.
SFTCallback = Callable[[SFTStepMetrics, int], None]


@dataclass(slots=True)
class SFTResult:
    """What the SFT loop did.

    Attributes:
        steps: optimizer steps taken.
        episodes: episodes imitated.
        samples: training samples built from them.
        prefix_breaks: calls whose prompt did not extend the previous call.
        skipped_calls: assistant turns that could not be rendered.
        final_loss: the loss of the last step (NaN when none).
        demo_success: the success rate of the imitated episodes (NaN when unscored): what
            imitation can reach.
        metrics: one entry per step (and step 0 when it was evaluated).
        best_step, best_value: the best evaluation (None when none ran).
        model_step: the step whose weights the trainer holds at the end (the best one with
            ``eval.keep_best``).
        stopped_early: early stopping ended the loop before ``max_steps``.
        warnings: e.g. ``sft_plateau``.
    """

    steps: int = 0
    episodes: int = 0
    samples: int = 0
    prefix_breaks: int = 0
    skipped_calls: int = 0
    final_loss: float = math.nan
    demo_success: float = math.nan
    metrics: list[SFTStepMetrics] = field(default_factory=list)
    best_step: int | None = None
    best_value: float | None = None
    model_step: int = 0
    stopped_early: bool = False
    warnings: list[RunWarning] = field(default_factory=list)


def _keep(episode: Episode, min_reward: float | None) -> bool:
    if episode.status != "ok":
        return False
    return min_reward is None or (episode.reward is not None and episode.reward >= min_reward)


def load_episodes(path: str | Path, *, min_reward: float | None = None) -> list[Episode]:
    """Episodes from a ``.jsonl``, ``.parquet`` or SQLite (``.db``/``.sqlite``) file, keeping
    those that ended ``ok`` (and reached ``min_reward``, when given).

    Raises:
        TrainingConfigError: the file is missing or of an unknown kind.
    """
    file = Path(path)
    if not file.is_file():
        raise TrainingConfigError(
            f"sft.trajectories: no file at {file}; write one with hone.trajectory.write_jsonl."
        )
    try:
        episodes = read_episodes(file)
    except (ConfigError, TrajectoryError) as exc:
        raise TrainingConfigError(
            f"sft.trajectories: {exc}; export the episodes with `hone traj export`."
        ) from exc
    return [e for e in episodes if _keep(e, min_reward)]


async def teacher_episodes(
    program: Program,
    tasks: Sequence[Any],
    teacher: ModelBackend,
    *,
    reward: Reward | None,
    config: SFTConfig,
    seed: int = 0,
    concurrency: int | None = None,
    save_to: Path | None = None,
) -> list[Episode]:
    """Roll the teacher out ``config.rollouts_per_task`` times per task and keep the episodes
    that ended ``ok`` and reached ``config.min_reward``; optionally write them all as JSONL."""
    batch = await rollout_batch(
        program,
        list(tasks),
        teacher,
        group_size=config.rollouts_per_task,
        concurrency=concurrency,
        seed=seed,
        reward=reward,
    )
    kept = [e for e in batch.episodes if _keep(e, config.min_reward)]
    logger.info("teacher: kept %d of %d episodes", len(kept), len(batch.episodes))
    if save_to is not None:
        save_to.parent.mkdir(parents=True, exist_ok=True)
        write_jsonl(batch.episodes, save_to)
    return kept


def _samples(
    episodes: Sequence[Episode], tokenizer: Any, config: SFTConfig, strict: bool, result: SFTResult
) -> list[TrainingSample]:
    samples: list[TrainingSample] = []
    for episode in episodes:
        built = sft_samples(episode, tokenizer, use_token_ids=config.use_token_ids, strict=strict)
        result.prefix_breaks += built.broken_prefixes + built.template_breaks
        result.skipped_calls += built.skipped_calls
        if built.merged is not None:
            samples.extend(built.merged.samples)
    return samples


def _batches(
    samples: Sequence[TrainingSample], batch_size: int, seed: int
) -> Iterator[tuple[int, list[TrainingSample]]]:
    """``(epoch, batch)`` forever: shuffled passes over ``samples``, a fresh order per epoch."""
    epoch = 0
    while True:
        order = list(samples)
        random.Random(seed * 1000003 + epoch).shuffle(order)
        for start in range(0, len(order), batch_size):
            yield epoch, order[start : start + batch_size]
        epoch += 1


def _demo_success(episodes: Sequence[Episode], threshold: float) -> float:
    rewards = [e.reward for e in episodes if e.reward is not None and math.isfinite(e.reward)]
    return sum(r >= threshold for r in rewards) / len(rewards) if rewards else math.nan


@dataclass(slots=True)
class _Evaluator:
    """Held-out evaluation of the trainer's current weights."""

    trainer: Trainer
    program: Program
    tasks: Sequence[Any]
    reward: Reward
    config: EvalConfig
    seed: int
    backend: ModelBackend | None = None

    async def __call__(self) -> EvalResult:
        if self.backend is None:
            self.backend = policy_backend(self.trainer)
        return await evaluate(
            self.program,
            self.tasks,
            self.backend,
            self.reward,
            seed=derive_seed(self.seed, "eval"),
            success_threshold=self.config.success_threshold,
            temperature=self.config.temperature,
        )


def _evaluator(
    trainer: Trainer,
    config: SFTConfig,
    program: Program | None,
    eval_tasks: Sequence[Any],
    reward: Reward | None,
    seed: int,
) -> _Evaluator | None:
    if config.eval is None or config.eval.every == 0:
        return None
    if program is None or reward is None or not eval_tasks:
        raise TrainingConfigError(
            "sft.eval needs a program, a reward and held-out tasks; pass program=, reward= and "
            "eval_tasks= to train_sft, or set sft.eval to None."
        )
    chosen = list(eval_tasks)[: config.eval.tasks]
    return _Evaluator(trainer, program, chosen, reward, config.eval, seed)


def _total_steps(config: SFTConfig, samples: int) -> int:
    if config.max_steps is not None:
        return config.max_steps
    return math.ceil(samples / config.batch_size) * config.epochs


async def train_sft(
    trainer: Trainer,
    episodes: Sequence[Episode],
    *,
    config: SFTConfig,
    program: Program | None = None,
    eval_tasks: Sequence[Any] = (),
    reward: Reward | None = None,
    seed: int = 0,
    strict: bool = False,
    output_dir: str | Path | None = None,
    on_step: SFTCallback | None = None,
) -> SFTResult:
    """Imitate ``episodes``: ``config.max_steps`` steps (or ``epochs`` passes) of shuffled
    batches of ``batch_size`` samples, one :meth:`~hone.train.Trainer.sft_step` each.

    With ``config.eval``, ``program`` runs greedily on ``eval_tasks`` every ``eval.every`` steps
    (and before the first); the best weights are kept (``eval.keep_best``: the trainer holds
    them at the end, and ``output_dir/best`` has them as a model) and ``eval.early_stopping``
    ends the loop once the metric stops improving. At the end, a run that never learned the
    task (held-out success that hardly rose, or a loss that ends flat on a plateau when nothing
    is evaluated) gets an ``sft_plateau`` warning.

    Args:
        trainer: the trainer, built from ``config.trainer`` (a decaying schedule without a
            length gets this loop's steps).
        episodes: what to imitate (:func:`load_episodes`, :func:`teacher_episodes`).
        program, eval_tasks, reward: what ``config.eval`` evaluates.
        seed: seeds the batch order and evaluation rollouts.
        strict: raise on a template or history that breaks the prefix property.
        output_dir: where ``metrics.jsonl``/``.csv``/``.png`` and ``best/`` go (None: nowhere).
        on_step: called with ``(metrics, total_steps)`` after every step.

    Raises:
        TrainingConfigError: no episode yields a sample, ``config.eval`` lacks its pieces, or
            ``trainer`` was built from another config than ``config.trainer``.
        PrefixPropertyError: ``strict`` and a template or history breaks the prefix.
    """
    check_trainer(trainer, config.trainer, "sft")
    result = SFTResult(episodes=len(episodes))
    samples = _samples(episodes, trainer.tokenizer, config, strict, result)
    result.samples = len(samples)
    if not samples:
        raise TrainingConfigError(
            f"SFT has nothing to train on: {len(episodes)} episodes gave no assistant turn. "
            "Check sft.min_reward and that the teacher's rollouts succeed."
        )
    total = _total_steps(config, len(samples))
    if trainer.total_steps is None:
        trainer.total_steps = total
    evaluator = _evaluator(trainer, config, program, eval_tasks, reward, seed)
    threshold = config.eval.success_threshold if config.eval is not None else 1.0
    result.demo_success = _demo_success(episodes, threshold)
    loop = _SFTLoop(trainer, config, evaluator, result, output_dir, on_step, total)
    await loop.run(_batches(samples, config.batch_size, seed))
    return result


class _SFTLoop:
    """The steps of one :func:`train_sft` call and their bookkeeping."""

    def __init__(
        self,
        trainer: Trainer,
        config: SFTConfig,
        evaluator: _Evaluator | None,
        result: SFTResult,
        output_dir: str | Path | None,
        on_step: SFTCallback | None,
        total: int,
    ) -> None:
        self.trainer, self.config, self.evaluator, self.result = trainer, config, evaluator, result
        self.out = Path(output_dir) if output_dir is not None else None
        self.log = MetricsLogger(self.out) if self.out is not None else None
        self.on_step, self.total = on_step, total
        eval_config = config.eval
        stopping = eval_config.early_stopping if eval_config is not None else None
        self.tracker = EvalTracker(
            patience=stopping.patience if stopping is not None else None,
            min_delta=stopping.min_delta if stopping is not None else 0.0,
        )
        self.best_weights: dict[str, Any] | None = None
        self.losses: list[float] = []

    def _emit(self, metrics: SFTStepMetrics) -> None:
        self.result.metrics.append(metrics)
        if self.log is not None:
            self.log.log(metrics.to_row())
        if self.on_step is not None:
            self.on_step(metrics, self.total)

    async def _evaluate(
        self, step: int, epoch: int, update: TrainStepMetrics | None
    ) -> SFTStepMetrics:
        if self.evaluator is None:
            return SFTStepMetrics(step=step, epoch=epoch, update=update)
        eval_config = self.evaluator.config
        evaluation = (await self.evaluator()).metrics
        value = evaluation.value(eval_config.metric)
        if self.tracker.update(step, value):
            self.result.best_step, self.result.best_value = step, value
            # Keep weights only once they beat the first evaluation: a run that never learns
            # goes on from its last weights, not from the untrained ones.
            if eval_config.keep_best and self.tracker.improved:
                self.best_weights = self.trainer.weights()
                if self.out is not None:
                    self.trainer.save_model(self.out / "best")
        return SFTStepMetrics(step=step, epoch=epoch, update=update, eval=evaluation)

    def _due(self, step: int) -> bool:
        every = self.config.eval.every if self.config.eval is not None else 0
        return self.evaluator is not None and (step % every == 0 or step == self.total)

    async def run(self, batches: Iterator[tuple[int, list[TrainingSample]]]) -> None:
        eval_config = self.config.eval
        if self.evaluator is not None and eval_config is not None and eval_config.at_start:
            self._emit(await self._evaluate(0, 0, None))
        for step in range(1, self.total + 1):
            epoch, batch = next(batches)
            update = self.trainer.sft_step(batch)
            self.losses.append(update.loss)
            self.result.steps, self.result.final_loss = step, update.loss
            if self._due(step):
                metrics = await self._evaluate(step, epoch, update)
            else:
                metrics = SFTStepMetrics(step=step, epoch=epoch, update=update)
            self._emit(metrics)
            if self.tracker.should_stop:
                logger.info("SFT: no improvement in %d evaluations; stopping", self.tracker.stale)
                self.result.stopped_early = True
                break
        self._finish()

    def _finish(self) -> None:
        result = self.result
        result.model_step = result.steps
        if self.best_weights is not None and result.best_step not in (None, result.steps):
            self.trainer.load_weights(self.best_weights)
            result.model_step = result.best_step or 0
            logger.info("SFT: going on from the best evaluated step %d", result.model_step)
        if self.log is not None:
            self.log.plot(keys=("loss", "eval_success", "lr"))
        warning = _plateau_warning(result, self.tracker, self.losses)
        if warning is not None:
            logger.warning("%s", warning.message)
            result.warnings.append(warning)


def _plateau_warning(
    result: SFTResult, tracker: EvalTracker, losses: Sequence[float]
) -> RunWarning | None:
    """An ``sft_plateau`` warning when SFT ended without learning the task: held-out results
    that rose by less than a tenth of the demonstrations' success over the first evaluation
    (or not at all, when the demonstrations are unscored); without evaluations, a loss that
    ends flat on a plateau (:func:`~hone.train._health.loss_plateau`)."""
    if tracker.first is not None and tracker.best is not None:
        gain, target = tracker.best - tracker.first, result.demo_success
        needed = 0.1 * target if not math.isnan(target) else 0.0
        if gain > needed or (gain > 0 and needed == 0.0):
            return None
        return RunWarning(
            "sft_plateau",
            f"SFT ended after {result.steps} steps with held-out success at best {tracker.best:.3f}"
            f" (it started at {tracker.first:.3f}; the demonstrations succeed {target:.3f}): "
            "the model has not learned the task yet. A small model can sit on a loss plateau "
            "for hundreds of steps before a skill (copying ids, following the format) clicks; "
            "raise sft.max_steps (early stopping ends SFT once it has learned), or the "
            "learning rate.",
        )
    if not tracker.history and loss_plateau(losses):
        return RunWarning(
            "sft_plateau",
            f"SFT's loss ended flat at {losses[-1]:.3f} without having dropped below its early "
            "level: it may be on a plateau before a skill clicks (copying ids, following the "
            "format). Evaluate during SFT (sft.eval) to know, and raise sft.max_steps.",
        )
    return None
