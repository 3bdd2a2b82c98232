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
from hone.train._evaluate import EvalResult, TaskScore, evaluate
from hone.train._losses import KLEstimator, LossType, policy_loss, sft_loss, token_logprobs
from hone.train._metrics import MetricsLogger
from hone.train._pipeline import arun_training, run_training
from hone.train._plot import plot_metrics
from hone.train._rl_batch import RLBatch, RLBatchStats, build_rl_batch
from hone.train._run import RunResult, StepReport, train_rl
from hone.train._run_config import (
    LoraSettings,
    RLConfig,
    RunConfig,
    SFTConfig,
    TasksConfig,
    load_config,
)
from hone.train._run_sft import SFTResult, train_sft
from hone.train._samples import Batch, MergedEpisode, TrainingSample, collate, samples_from_calls
from hone.train._sft_data import SFTEpisode, sft_samples
from hone.train._trainer import Trainer

__all__ = [
    "AdvantageScale",
    "Batch",
    "EvalResult",
    "KLEstimator",
    "LoraConfig",
    "LoraSettings",
    "LossType",
    "MergedEpisode",
    "MetricsLogger",
    "OptimizerName",
    "RLBatch",
    "RLBatchStats",
    "RLConfig",
    "RunConfig",
    "RunResult",
    "SFTConfig",
    "SFTEpisode",
    "SFTResult",
    "StdKind",
    "StepReport",
    "TaskScore",
    "TasksConfig",
    "TrainMode",
    "Trainer",
    "TrainerConfig",
    "TrainingSample",
    "arun_training",
    "build_rl_batch",
    "collate",
    "evaluate",
    "group_advantages",
    "load_config",
    "plot_metrics",
    "policy_loss",
    "run_training",
    "samples_from_calls",
    "sft_loss",
    "sft_samples",
    "token_logprobs",
    "train_rl",
    "train_sft",
    "turn_advantages",
    "zero_variance_mask",
]
