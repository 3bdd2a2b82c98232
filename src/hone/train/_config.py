"""The trainer's settings, once: optimizer, learning-rate schedule, loss, micro-batching, LoRA.

Every loop nests a :class:`TrainerConfig` (``SFTConfig.trainer``, ``RLConfig.trainer``) instead
of copying its fields. Every check names its fix.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Literal, TypeAlias

from pydantic import ConfigDict

from hone.errors import TrainingConfigError
from hone.train._losses import LOSS_TYPES, KLEstimator, LossType

__all__ = ["LRSchedule", "LoraConfig", "OptimizerName", "ScheduleKind", "TrainerConfig"]

OptimizerName: TypeAlias = Literal["adamw", "sgd"]
#: ``constant``: no decay. ``linear``: to ``min_lr_ratio`` in a straight line. ``cosine``: half a
#: cosine wave down to ``min_lr_ratio``.
ScheduleKind: TypeAlias = Literal["constant", "linear", "cosine"]

# Read from YAML/TOML through pydantic: unknown keys are errors, as everywhere in a run config.
_FORBID_EXTRA = ConfigDict(extra="forbid")


@dataclass(frozen=True, slots=True)
class LRSchedule:
    """The learning rate of optimizer step ``s`` (counted from 0): ``lr × warm-up × decay``.

    ::

        warm-up(s) = min(1, (s + 1) / warmup_steps)            (1 when warmup_steps = 0)
        decay(s)   = min_lr_ratio + (1 − min_lr_ratio) · shape(s / total_steps)
        shape(p)   = 1 (constant) | 1 − p (linear) | (1 + cos πp) / 2 (cosine)

    Two deliberate differences from ``transformers``' ``get_*_schedule_with_warmup``: the
    first step already trains (at ``lr / warmup_steps``, not 0), and the decay runs over the
    whole run with the warm-up multiplied in, rather than starting when the warm-up ends. With
    a warm-up of a few percent of the run the two curves differ by as much.

    Attributes:
        kind: the decay's shape.
        warmup_steps: steps of linear warm-up (0: none).
        min_lr_ratio: where the decay ends, as a fraction of ``lr`` (0.1: decay to 10%).
        total_steps: the steps the decay spans; None: the loop's length (``SFTConfig.max_steps``
            or ``RLConfig.steps``), which :func:`~hone.train.train_sft` and
            :func:`~hone.train.train_rl` fill in.
    """

    __pydantic_config__ = _FORBID_EXTRA

    kind: ScheduleKind = "constant"
    warmup_steps: int = 0
    min_lr_ratio: float = 0.0
    total_steps: int | None = None

    def __post_init__(self) -> None:
        if self.kind not in ("constant", "linear", "cosine"):
            raise TrainingConfigError(
                f"unknown schedule kind {self.kind!r}; use 'constant', 'linear' or 'cosine'."
            )
        if self.warmup_steps < 0:
            raise TrainingConfigError(f"schedule warmup_steps={self.warmup_steps} must be >= 0.")
        if not 0.0 <= self.min_lr_ratio <= 1.0:
            raise TrainingConfigError(
                f"schedule min_lr_ratio={self.min_lr_ratio} must be in [0, 1] (0.1: decay to 10%)."
            )
        if self.total_steps is not None and self.total_steps < 1:
            raise TrainingConfigError(
                f"schedule total_steps={self.total_steps} must be >= 1, or None for the loop's "
                "length."
            )

    @property
    def decays(self) -> bool:
        """Whether the learning rate depends on the run's length."""
        return self.kind != "constant"

    def lr_at(self, lr: float, step: int, total_steps: int | None = None) -> float:
        """The learning rate of step ``step`` (from 0) for a base ``lr``.

        Args:
            lr: the base learning rate.
            step: optimizer steps already taken.
            total_steps: the run's length when :attr:`total_steps` is None.

        Raises:
            TrainingConfigError: a decaying schedule without a length.
        """
        warm = min(1.0, (step + 1) / self.warmup_steps) if self.warmup_steps else 1.0
        if not self.decays:
            return lr * warm
        total = self.total_steps if self.total_steps is not None else total_steps
        if total is None:
            raise TrainingConfigError(
                f"a {self.kind} schedule needs its length: set schedule.total_steps, or train "
                "with train_sft / train_rl, which use their step count."
            )
        done = min(step, total)
        if self.kind == "linear":
            shape = 1.0 - done / total
        else:
            shape = 0.5 * (1 + math.cos(math.pi * done / total))
        return lr * warm * (self.min_lr_ratio + (1 - self.min_lr_ratio) * shape)


@dataclass(frozen=True, slots=True)
class LoraConfig:
    """Low-rank adapters (PEFT LoRA) instead of full fine-tuning."""

    __pydantic_config__ = _FORBID_EXTRA

    r: int = 8
    alpha: int = 16
    dropout: float = 0.0
    target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj")

    def __post_init__(self) -> None:
        if self.r < 1:
            raise TrainingConfigError(f"LoRA rank r={self.r} must be >= 1; 8 or 16 are common.")
        if not 0.0 <= self.dropout < 1.0:
            raise TrainingConfigError(f"LoRA dropout={self.dropout} must be in [0, 1).")
        if not self.target_modules:
            raise TrainingConfigError("LoRA needs target_modules, e.g. ('q_proj', 'v_proj').")


@dataclass(frozen=True, slots=True)
class TrainerConfig:
    """How the :class:`~hone.train.Trainer` updates the model, for SFT and RL alike.

    One optimizer step covers every sample it is given (``batch_size`` of the loop), split into
    forward passes of ``micro_batch_size`` samples; gradients accumulate exactly over them, so
    ``micro_batch_size`` changes memory and speed, never the update. In TRL's terms the loop's
    ``batch_size`` is ``per_device_train_batch_size × gradient_accumulation_steps`` and
    ``micro_batch_size`` is ``per_device_train_batch_size``.

    The loss fields (``loss_type``, ``beta``, ``kl``, ``eps_*``, ``max_completion_length``) only
    matter to RL steps; SFT steps are the token-mean NLL.

    Attributes:
        seed: seeds ``torch`` and ``random`` when the trainer is built (LoRA initialisation,
            dropout). None: the run's seed under ``run_training``, else 0.
    """

    __pydantic_config__ = _FORBID_EXTRA

    loss_type: LossType = "dapo"
    lr: float = 1e-5
    schedule: LRSchedule = field(default_factory=LRSchedule)
    weight_decay: float = 0.0
    #: Clip the global gradient norm to this; ``None`` disables clipping.
    max_grad_norm: float | None = 1.0
    optimizer: OptimizerName = "adamw"
    adam_betas: tuple[float, float] = (0.9, 0.999)
    micro_batch_size: int = 8
    beta: float = 0.0
    kl: KLEstimator = "k3"
    eps_low: float = 0.2
    #: ``None``: ``eps_low``, or 5.0 for ``cispo``.
    eps_high: float | None = None
    #: ``dr_grpo`` divisor per sequence; ``None`` uses the longest sequence of the step.
    max_completion_length: int | None = None
    lora: LoraConfig | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        self._check_types()
        self._check_numbers()

    def _check_types(self) -> None:
        if self.loss_type not in LOSS_TYPES:
            raise TrainingConfigError(
                f"unknown loss_type {self.loss_type!r}; use one of {', '.join(LOSS_TYPES)}."
            )
        if self.optimizer not in ("adamw", "sgd"):
            raise TrainingConfigError(
                f"unknown optimizer {self.optimizer!r}; use 'adamw' or 'sgd'."
            )
        if self.kl not in ("k1", "k3"):
            raise TrainingConfigError(f"unknown KL estimator {self.kl!r}; use 'k3' or 'k1'.")

    def _check_numbers(self) -> None:
        if not self.lr > 0:
            raise TrainingConfigError(f"lr={self.lr} must be > 0; 1e-6 to 1e-4 is typical.")
        if self.weight_decay < 0:
            raise TrainingConfigError(f"weight_decay={self.weight_decay} must be >= 0.")
        if self.max_grad_norm is not None and not self.max_grad_norm > 0:
            raise TrainingConfigError(
                f"max_grad_norm={self.max_grad_norm} must be > 0; use None to disable clipping."
            )
        if self.micro_batch_size < 1:
            raise TrainingConfigError(f"micro_batch_size={self.micro_batch_size} must be >= 1.")
        if self.beta < 0:
            raise TrainingConfigError(f"beta={self.beta} must be >= 0 (0 disables the KL term).")
        if self.eps_low < 0 or (self.eps_high is not None and self.eps_high < 0):
            raise TrainingConfigError(
                "eps_low and eps_high must be >= 0; 0.2 is the usual clip range."
            )
        if self.max_completion_length is not None and self.max_completion_length < 1:
            raise TrainingConfigError("max_completion_length must be >= 1, or None.")
