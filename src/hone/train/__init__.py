"""Training: advantages, policy losses, training samples, and the trainer.

The RL math is pure functions (:func:`group_advantages`, :func:`policy_loss`, ...); the
:class:`Trainer` only orchestrates micro-batches, the optimizer and checkpoints.
Importing this package needs ``torch`` (``pip install 'hone[train]'``).
"""

from hone.train._advantages import (
    AdvantageScale,
    StdKind,
    group_advantages,
    turn_advantages,
    zero_variance_mask,
)
from hone.train._config import LoraConfig, OptimizerName, TrainerConfig, TrainMode
from hone.train._losses import KLEstimator, LossType, policy_loss, sft_loss, token_logprobs
from hone.train._metrics import MetricsLogger
from hone.train._plot import plot_metrics
from hone.train._samples import Batch, MergedEpisode, TrainingSample, collate, samples_from_calls
from hone.train._trainer import Trainer

__all__ = [
    "AdvantageScale",
    "Batch",
    "KLEstimator",
    "LoraConfig",
    "LossType",
    "MergedEpisode",
    "MetricsLogger",
    "OptimizerName",
    "StdKind",
    "TrainMode",
    "Trainer",
    "TrainerConfig",
    "TrainingSample",
    "collate",
    "group_advantages",
    "plot_metrics",
    "policy_loss",
    "samples_from_calls",
    "sft_loss",
    "token_logprobs",
    "turn_advantages",
    "zero_variance_mask",
]
