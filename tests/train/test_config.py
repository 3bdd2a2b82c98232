"""TrainerConfig rejects configurations that cannot run, naming the fix."""

from __future__ import annotations

from typing import Any

import pytest

from hone.errors import TrainingConfigError
from hone.train import LoraConfig, TrainerConfig


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"loss_type": "ppo"}, "unknown loss_type 'ppo'"),
        ({"mode": "dpo"}, "unknown mode"),
        ({"lr": -1e-5}, "lr=-1e-05 must be > 0"),
        ({"lr": 0.0}, "must be > 0"),
        ({"group_size": 1}, "G=1 is below 2"),
        ({"batch_size": 4, "micro_batch_size": 8}, "larger than batch_size"),
        ({"batch_size": 6, "group_size": 4, "micro_batch_size": 2}, "not a multiple"),
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


def test_defaults_follow_trl() -> None:
    config = TrainerConfig()
    assert (config.loss_type, config.beta, config.eps_low, config.kl) == ("dapo", 0.0, 0.2, "k3")
