"""Typed configuration of the :class:`~hone.train.Trainer`; every check names its fix."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Literal, TypeAlias

from hone.errors import TrainingConfigError
from hone.train._losses import LOSS_TYPES, KLEstimator, LossType

__all__ = ["LoraConfig", "OptimizerName", "TrainMode", "TrainerConfig"]

TrainMode: TypeAlias = Literal["sft", "rl"]
OptimizerName: TypeAlias = Literal["adamw", "sgd"]


@dataclass(frozen=True, slots=True)
class LoraConfig:
    """Low-rank adapters (PEFT LoRA) instead of full fine-tuning."""

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
    """How the :class:`~hone.train.Trainer` updates the model.

    One :meth:`~hone.train.Trainer.train_step` is one optimizer step over all the samples it is
    given, split into micro-batches of ``micro_batch_size`` (gradient accumulation is derived from
    the number of samples). ``batch_size`` and ``group_size``, when set, are checked against the
    samples of every step.
    """

    mode: TrainMode = "rl"
    loss_type: LossType = "dapo"
    lr: float = 1e-5
    weight_decay: float = 0.0
    #: Clip the global gradient norm to this; ``None`` disables clipping.
    max_grad_norm: float | None = 1.0
    optimizer: OptimizerName = "adamw"
    adam_betas: tuple[float, float] = (0.9, 0.999)
    micro_batch_size: int = 8
    batch_size: int | None = None
    group_size: int | None = None
    beta: float = 0.0
    kl: KLEstimator = "k3"
    eps_low: float = 0.2
    #: ``None``: ``eps_low``, or 5.0 for ``cispo``.
    eps_high: float | None = None
    #: ``dr_grpo`` divisor per sequence; ``None`` uses the longest sequence of the step.
    max_completion_length: int | None = None
    lora: LoraConfig | None = None
    seed: int = 0
    output_dir: Path | None = None

    def __post_init__(self) -> None:
        self._check_types()
        self._check_numbers()
        self._check_sizes()

    def _check_types(self) -> None:
        if self.mode not in ("sft", "rl"):
            raise TrainingConfigError(f"unknown mode {self.mode!r}; use 'rl' or 'sft'.")
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
        if self.beta < 0:
            raise TrainingConfigError(f"beta={self.beta} must be >= 0 (0 disables the KL term).")
        if self.eps_low < 0 or (self.eps_high is not None and self.eps_high < 0):
            raise TrainingConfigError(
                "eps_low and eps_high must be >= 0; 0.2 is the usual clip range."
            )
        if self.max_completion_length is not None and self.max_completion_length < 1:
            raise TrainingConfigError("max_completion_length must be >= 1, or None.")

    def _check_sizes(self) -> None:
        if self.micro_batch_size < 1:
            raise TrainingConfigError(f"micro_batch_size={self.micro_batch_size} must be >= 1.")
        if self.group_size is not None and self.group_size < 2:
            raise TrainingConfigError(
                f"group_size G={self.group_size} is below 2: GRPO needs at least two episodes per "
                "task for a baseline. Use G >= 2 (8 is TRL's default)."
            )
        if self.batch_size is None:
            return
        if self.micro_batch_size > self.batch_size:
            raise TrainingConfigError(
                f"micro_batch_size={self.micro_batch_size} is larger than batch_size="
                f"{self.batch_size}; lower micro_batch_size to at most the batch size."
            )
        if self.group_size is not None and self.batch_size % self.group_size != 0:
            raise TrainingConfigError(
                f"batch_size={self.batch_size} is not a multiple of group_size={self.group_size}; "
                "each step must hold whole groups."
            )
