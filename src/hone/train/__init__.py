"""Training: SFT and GRPO-family RL on the episodes of agent programs.

Which entry point when:

* **A config file** — :func:`load_config` + :func:`run_training` (``hone train CONFIG``): SFT on
  a teacher or a trajectory file, then RL, with evaluation, checkpoints, keep-best and
  warnings; everything a run needs is named in a :class:`TrainingRunConfig`.
* **Your own Python, one phase at a time** — :func:`train_sft` (imitate episodes) and
  :func:`train_rl` (roll out, score, update; or update on recorded episodes, a gateway's
  scored sessions, from :func:`load_recorded`), each driving a :class:`Trainer` built from the
  loop's nested :class:`TrainerConfig` (``Trainer(model, tokenizer, config=rl.trainer)``);
  :func:`evaluate` scores a program on held-out tasks.
* **Your own loop** — :class:`Trainer` (``train_step`` for RL samples, ``sft_step`` for SFT
  samples) over :class:`TrainingSample` lists from :func:`episode_samples` /
  :func:`build_rl_batch` (RL) or :func:`sft_samples` (SFT); the math is pure functions
  (:func:`group_advantages`, :func:`policy_loss`, ...).

Settings live once each: :class:`TrainerConfig` (optimizer, :class:`LRSchedule`, loss,
micro-batching, :class:`LoraConfig`) nested in :class:`SFTConfig` and :class:`RLConfig`, which
nest an :class:`EvalConfig`. Metrics are typed (:class:`TrainStepMetrics`,
:class:`RLStepMetrics`, :class:`SFTStepMetrics`). Importing this package needs ``torch``
(``pip install 'hone[train]'``).
"""

from hone.train._advantages import group_advantages, turn_advantages, zero_variance_mask
from hone.train._config import LoraConfig, LRSchedule, TrainerConfig
from hone.train._evaluate import EvalResult, TaskScore, evaluate
from hone.train._health import RunWarning
from hone.train._losses import LossType, policy_loss, sft_loss
from hone.train._metrics import (
    EvalMetrics,
    RLStepMetrics,
    SearchStepMetrics,
    SFTStepMetrics,
    TrainStepMetrics,
)
from hone.train._metrics_log import MetricsLogger
from hone.train._pipeline import arun_training, run_training
from hone.train._prompt import ToolSchemas
from hone.train._publish import (
    LoRAPublisher,
    PauseMode,
    PolicyPublisher,
    PublishedPolicy,
    ServedPolicy,
    WeightsPublisher,
)
from hone.train._recorded import RecordedCounts, RecordedEpisodes, load_recorded
from hone.train._rl_batch import MixedGroups, MixMode, RLBatch, build_rl_batch, mix_successes
from hone.train._roles import RolesConfig
from hone.train._run import train_rl
from hone.train._run_config import (
    EarlyStopping,
    EvalConfig,
    PublishConfig,
    RayConfig,
    RLConfig,
    SearchConfig,
    SFTConfig,
    TasksConfig,
    TrainingRunConfig,
)
from hone.train._run_config_load import load_config
from hone.train._run_result import RunResult, StepReport
from hone.train._run_sft import SFTResult, train_sft
from hone.train._samples import (
    Batch,
    MergedEpisode,
    TrainingSample,
    collate,
    episode_samples,
    samples_from_calls,
)
from hone.train._search_assist import FindEpisodes, SearchAssist, SearchOutcome
from hone.train._sft_data import SFTEpisode, sft_samples
from hone.train._trainer import Trainer
from hone.train._visibility import TokenVisibility

__all__ = [
    "Batch",
    "EarlyStopping",
    "EvalConfig",
    "EvalMetrics",
    "EvalResult",
    "FindEpisodes",
    "LRSchedule",
    "LoRAPublisher",
    "LoraConfig",
    "LossType",
    "MergedEpisode",
    "MetricsLogger",
    "MixMode",
    "MixedGroups",
    "PauseMode",
    "PolicyPublisher",
    "PublishConfig",
    "PublishedPolicy",
    "RLBatch",
    "RLConfig",
    "RLStepMetrics",
    "RayConfig",
    "RecordedCounts",
    "RecordedEpisodes",
    "RolesConfig",
    "RunResult",
    "RunWarning",
    "SFTConfig",
    "SFTEpisode",
    "SFTResult",
    "SFTStepMetrics",
    "SearchAssist",
    "SearchConfig",
    "SearchOutcome",
    "SearchStepMetrics",
    "ServedPolicy",
    "StepReport",
    "TaskScore",
    "TasksConfig",
    "TokenVisibility",
    "ToolSchemas",
    "TrainStepMetrics",
    "Trainer",
    "TrainerConfig",
    "TrainingRunConfig",
    "TrainingSample",
    "WeightsPublisher",
    "arun_training",
    "build_rl_batch",
    "collate",
    "episode_samples",
    "evaluate",
    "group_advantages",
    "load_config",
    "load_recorded",
    "mix_successes",
    "policy_loss",
    "run_training",
    "samples_from_calls",
    "sft_loss",
    "sft_samples",
    "train_rl",
    "train_sft",
    "turn_advantages",
    "zero_variance_mask",
]
