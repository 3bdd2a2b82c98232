"""TrainerConfig, LRSchedule and LoraConfig reject configurations that cannot run, naming the
fix; the schedule's learning rates are the documented formula."""

from __future__ import annotations

import math
from typing import Any

import pytest

from hone.errors import TrainingConfigError
from hone.train import LoraConfig, LRSchedule, TrainerConfig


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"loss_type": "ppo"}, "unknown loss_type 'ppo'"),
        ({"lr": -1e-5}, "lr=-1e-05 must be > 0"),
        ({"lr": 0.0}, "must be > 0"),
        ({"micro_batch_size": 0}, "micro_batch_size=0"),
        ({"beta": -0.1}, "beta=-0.1"),
        ({"eps_low": -0.1}, "eps_low"),
        ({"max_grad_norm": 0.0}, "None to disable"),
        ({"weight_decay": -1.0}, "weight_decay"),
        ({"optimizer": "lion"}, "unknown optimizer"),
        ({"kl": "k2"}, "unknown KL"),
    ],
)
def test_bad_config_raises(changes: dict[str, Any], match: str) -> None:
    with pytest.raises(TrainingConfigError, match=match):
        TrainerConfig(**changes)


def test_bad_lora_config_raises() -> None:
    with pytest.raises(TrainingConfigError, match="rank"):
        LoraConfig(r=0)
    with pytest.raises(TrainingConfigError, match="dropout"):
        LoraConfig(dropout=1.0)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"kind": "step"}, "unknown schedule kind"),
        ({"warmup_steps": -1}, "warmup_steps=-1"),
        ({"min_lr_ratio": 1.5}, "min_lr_ratio=1.5"),
        ({"total_steps": 0}, "total_steps=0"),
    ],
)
def test_bad_schedule_raises(changes: dict[str, Any], match: str) -> None:
    with pytest.raises(TrainingConfigError, match=match):
        LRSchedule(**changes)


def test_defaults_follow_trl() -> None:
    config = TrainerConfig()
    assert (config.loss_type, config.beta, config.eps_low, config.kl) == ("dapo", 0.0, 0.2, "k3")
    assert config.schedule == LRSchedule() and config.seed is None


def test_schedule_shapes() -> None:
    constant = LRSchedule(warmup_steps=4)
    assert [constant.lr_at(1.0, s) for s in range(6)] == [0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    linear = LRSchedule(kind="linear", total_steps=10)
    assert [linear.lr_at(2.0, s) for s in (0, 5, 10, 20)] == pytest.approx([2.0, 1.0, 0.0, 0.0])
    cosine = LRSchedule(kind="cosine", min_lr_ratio=0.1)
    assert cosine.lr_at(1.0, 0, 100) == 1.0
    assert cosine.lr_at(1.0, 50, 100) == pytest.approx(0.55)
    assert cosine.lr_at(1.0, 100, 100) == pytest.approx(0.1)
    with pytest.raises(TrainingConfigError, match="needs its length"):
        cosine.lr_at(1.0, 3)


def test_schedule_is_the_demos_hand_written_one() -> None:
    """The demo edited param groups by hand before the schedule existed; the same numbers."""
    lr, warmup, steps = 3e-3, 20, 1000
    schedule = LRSchedule(kind="cosine", warmup_steps=warmup, min_lr_ratio=0.1, total_steps=steps)
    for step in range(steps):
        warm = min(1.0, (step + 1) / warmup)
        cosine = 0.5 * (1 + math.cos(math.pi * step / steps))
        assert schedule.lr_at(lr, step) == lr * warm * (0.1 + 0.9 * cosine)  # bit for bit
