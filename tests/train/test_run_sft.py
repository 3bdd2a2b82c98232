"""The SFT loop: steps and schedule, held-out evaluation with keep-best and early stopping,
and the plateau warning."""

from __future__ import annotations

import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch

from hone.errors import TrainingConfigError
from hone.models import load_model
from hone.rewards import reward_fn
from hone.train import (
    EarlyStopping,
    EvalConfig,
    LRSchedule,
    SFTConfig,
    SFTStepMetrics,
    TrainerConfig,
    train_sft,
)
from hone.train._health import EvalTracker, loss_plateau
from hone.trajectory import Episode

TRAINER = TrainerConfig(lr=1e-3, micro_batch_size=4)


def demos(n: int = 8) -> list[Episode]:
    """Perfect "say the number" conversations, scored 1."""
    return [
        Episode(
            task_id=f"n{i}",
            task={"id": f"n{i}", "n": i},
            reward=1.0,
            messages=[
                {"role": "user", "content": f"Say the number {i}."},
                {"role": "assistant", "content": str(i)},
            ],
        )
        for i in range(n)
    ]


async def test_max_steps_schedule_and_log(
    small_tiny_dir: Path, toy: SimpleNamespace, tmp_path: Path
) -> None:
    schedule = LRSchedule(kind="linear", warmup_steps=1)
    config = SFTConfig(
        trajectories="unused.jsonl",
        max_steps=5,
        batch_size=3,
        trainer=TrainerConfig(lr=1e-3, micro_batch_size=2, schedule=schedule),
    )
    trainer = toy.make_trainer(small_tiny_dir, config.trainer)
    seen: list[tuple[int, int]] = []

    def on_step(metrics: SFTStepMetrics, total: int) -> None:
        seen.append((metrics.step, total))

    result = await train_sft(trainer, demos(), config=config, output_dir=tmp_path, on_step=on_step)
    assert result.steps == 5 == trainer.step and trainer.total_steps == 5
    assert seen == [(step, 5) for step in range(1, 6)]
    lrs = [m.update.lr for m in result.metrics if m.update is not None]
    assert lrs == pytest.approx([1e-3, 8e-4, 6e-4, 4e-4, 2e-4])  # linear decay over max_steps
    # 8 samples, 3 per step: an epoch is batches of 3, 3 and 2; the fourth step starts epoch 1
    assert [(m.epoch, m.update.num_samples if m.update else 0) for m in result.metrics] == [
        (0, 3), (0, 3), (0, 2), (1, 3), (1, 3)
    ]  # fmt: skip
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1, 2, 3, 4, 5] and "loss" in rows[0]
    assert result.warnings == [] and not result.stopped_early


async def test_evaluation_keeps_the_best_weights(
    small_tiny_dir: Path, toy: SimpleNamespace, tmp_path: Path
) -> None:
    """Evaluations score 0, 1, 0 (steps 0, 2, 4): the trainer ends on step 2's weights."""
    tasks = [{"id": "e1", "n": 41}, {"id": "e2", "n": 42}]
    scored = {"count": 0}

    @reward_fn
    def by_evaluation(episode: Episode) -> float:
        evaluation = scored["count"] // len(tasks)
        scored["count"] += 1
        return 1.0 if evaluation == 1 else 0.0

    config = SFTConfig(
        trajectories="unused.jsonl",
        max_steps=4,
        batch_size=4,
        trainer=TRAINER,
        eval=EvalConfig(every=2),
    )
    trainer = toy.make_trainer(small_tiny_dir, TRAINER)
    at_step: dict[int, dict[str, torch.Tensor]] = {}

    def snapshot(metrics: SFTStepMetrics, total: int) -> None:
        at_step[metrics.step] = trainer.weights()

    result = await train_sft(
        trainer, demos(), config=config, program=toy.program, eval_tasks=tasks,
        reward=by_evaluation, output_dir=tmp_path, on_step=snapshot,
    )  # fmt: skip
    evaluated = [(m.step, m.eval.success) for m in result.metrics if m.eval is not None]
    assert evaluated == [(0, 0.0), (2, 1.0), (4, 0.0)]
    assert (result.best_step, result.best_value, result.model_step) == (2, 1.0, 2)
    for name, value in trainer.weights().items():
        torch.testing.assert_close(value, at_step[2][name], atol=0, rtol=0)
    assert load_model(f"hf:{tmp_path / 'best'}").name == "best"
    # Held-out success (best 1.0) reached the demonstrations' (1.0): no plateau warning.
    assert result.warnings == []


async def test_a_run_that_never_learns_is_a_plateau(
    small_tiny_dir: Path, toy: SimpleNamespace
) -> None:
    config = SFTConfig(
        trajectories="unused.jsonl",
        max_steps=2,
        batch_size=4,
        trainer=TRAINER,
        eval=EvalConfig(every=1, early_stopping=EarlyStopping(patience=1)),
    )
    never = reward_fn(lambda episode: 0.0)
    result = await train_sft(
        toy.make_trainer(small_tiny_dir, TRAINER), demos(), config=config, program=toy.program,
        eval_tasks=[{"n": 7}], reward=never,
    )  # fmt: skip
    # Flat at 0 from the start: early stopping never fires on the starting plateau.
    assert result.steps == 2 and not result.stopped_early
    assert result.demo_success == 1.0
    [warning] = result.warnings
    assert warning.kind == "sft_plateau" and "the demonstrations succeed 1.000" in warning.message


async def test_sft_refusals(small_tiny_dir: Path, toy: SimpleNamespace) -> None:
    config = SFTConfig(trajectories="x.jsonl", trainer=TRAINER, eval=EvalConfig(every=1))
    trainer = toy.make_trainer(small_tiny_dir, TRAINER)
    with pytest.raises(TrainingConfigError, match=r"sft\.eval needs a program"):
        await train_sft(trainer, demos(), config=config)
    other = toy.make_trainer(small_tiny_dir, TrainerConfig(lr=1e-3))
    with pytest.raises(TrainingConfigError, match=r"sft\.trainer differs .*micro_batch_size"):
        await train_sft(other, demos(), config=config.model_copy(update={"eval": None}))
    with pytest.raises(TrainingConfigError, match="nothing to train on"):
        await train_sft(trainer, [], config=config.model_copy(update={"eval": None}))


def test_early_stopping_waits_for_a_first_improvement() -> None:
    tracker = EvalTracker(patience=2)
    for step, value in enumerate([0.0, 0.0, 0.0, 0.0, 0.0]):
        tracker.update(step, value)
    assert not tracker.should_stop and not tracker.improved  # a long starting plateau
    assert tracker.update(5, 0.5) and tracker.best_step == 5
    tracker.update(6, 0.4)
    assert not tracker.should_stop
    tracker.update(7, math.nan)  # an evaluation with nothing scored is no improvement
    assert tracker.should_stop and tracker.best == 0.5


def test_loss_plateau_tells_a_plateau_from_convergence() -> None:
    drop = [7.0 - 0.5 * i for i in range(13)]  # fast early fall to ~1
    plateau = drop + [0.33] * 100
    converged = drop + [0.33] * 40 + [0.03] * 60
    still_falling = drop + [0.33 * 0.99**i for i in range(100)]
    assert loss_plateau(plateau)
    assert not loss_plateau(converged)
    assert not loss_plateau(still_falling)
    assert not loss_plateau([1.0] * 10)  # too short to tell


def test_sft_steps_default_to_epochs(small_tiny_dir: Path) -> None:
    from hone.train._run_sft import _total_steps

    config = SFTConfig(trajectories="x", epochs=3, batch_size=4)
    assert _total_steps(config, 10) == 9
    assert _total_steps(config.model_copy(update={"max_steps": 5}), 10) == 5
