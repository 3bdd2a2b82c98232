"""The SFT phase of a run: episodes to imitate (a file, or a teacher's rollouts), then
epochs of :meth:`~hone.train.Trainer.sft_step` over their assistant turns."""

from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hone.errors import TrainingConfigError
from hone.models._protocol import ModelBackend
from hone.rewards import Reward
from hone.train._metrics import MetricsLogger
from hone.train._run_config import SFTConfig
from hone.train._samples import TrainingSample
from hone.train._sft_data import sft_samples
from hone.train._trainer import Trainer
from hone.trajectory import (
    Episode,
    Program,
    TrajectoryStore,
    read_jsonl,
    read_parquet,
    rollout_batch,
    write_jsonl,
)

__all__ = ["SFTResult", "load_episodes", "teacher_episodes", "train_sft"]

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class SFTResult:
    """What the SFT phase did.

    Attributes:
        steps: optimizer steps taken.
        episodes: episodes imitated.
        samples: training samples built from them.
        prefix_breaks: calls whose prompt did not extend the previous call.
        skipped_calls: assistant turns that could not be rendered.
        final_loss: the loss of the last step (NaN when none).
    """

    steps: int = 0
    episodes: int = 0
    samples: int = 0
    prefix_breaks: int = 0
    skipped_calls: int = 0
    final_loss: float = math.nan


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
    if file.suffix == ".jsonl":
        episodes = read_jsonl(file)
    elif file.suffix == ".parquet":
        episodes = read_parquet(file)
    elif file.suffix in (".db", ".sqlite", ".sqlite3"):
        with TrajectoryStore(file) as store:
            episodes = store.query()
    else:
        raise TrainingConfigError(
            f"sft.trajectories: {file.name} is not .jsonl, .parquet or .db; export the episodes "
            "with `hone traj export`."
        )
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
    that ended ``ok`` and reached ``config.min_reward``; optionally write them as JSONL."""
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


def train_sft(
    trainer: Trainer,
    episodes: Sequence[Episode],
    *,
    config: SFTConfig,
    seed: int = 0,
    strict: bool = False,
    metrics: MetricsLogger | None = None,
    on_step: Callable[[int, int, dict[str, float]], None] | None = None,
) -> SFTResult:
    """Imitate ``episodes``: ``config.epochs`` passes of shuffled batches of ``batch_size``
    samples, one :meth:`~hone.train.Trainer.sft_step` each.

    ``on_step(step, total_steps, metrics)`` is called after every step.

    Raises:
        TrainingConfigError: no episode yields a sample.
        PrefixPropertyError: ``strict`` and a template or history breaks the prefix.
    """
    result = SFTResult(episodes=len(episodes))
    samples = _samples(episodes, trainer.tokenizer, config, strict, result)
    result.samples = len(samples)
    if not samples:
        raise TrainingConfigError(
            f"SFT has nothing to train on: {len(episodes)} episodes gave no assistant turn. "
            "Check sft.min_reward and that the teacher's rollouts succeed."
        )
    per_epoch = math.ceil(len(samples) / config.batch_size)
    total = per_epoch * config.epochs
    for epoch in range(config.epochs):
        order = list(samples)
        random.Random(seed * 1000003 + epoch).shuffle(order)
        for start in range(0, len(order), config.batch_size):
            step_metrics = trainer.sft_step(order[start : start + config.batch_size])
            result.steps += 1
            result.final_loss = step_metrics["loss"]
            row = {"loss": step_metrics["loss"], "epoch": float(epoch)}
            row["num_tokens"] = step_metrics["num_tokens"]
            if metrics is not None:
                metrics.log(row, step=result.steps)
            if on_step is not None:
                on_step(result.steps, total, row)
    if metrics is not None:
        metrics.plot(keys=("loss",))
    return result
