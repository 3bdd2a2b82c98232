"""The trainer: micro-batches, gradient accumulation, the optimizer and checkpoints.

All the math lives in pure functions (:func:`~hone.train.policy_loss`,
:func:`~hone.train.sft_loss`); this module only orchestrates. One :meth:`Trainer.train_step` (RL)
or :meth:`Trainer.sft_step` is one optimizer step over every sample it is given. Each
micro-batch's loss is normalised by the token and sequence counts of the *whole* step, so the
micro-batch losses add up to the full-batch loss and the update does not depend on
``micro_batch_size``, for every loss type. The learning rate of every step comes from
``config.schedule`` and the step count alone, so a resumed run follows the same schedule.
"""

from __future__ import annotations

import copy
import dataclasses
import inspect
import logging
import random
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import torch

from hone import _compute
from hone._attention import attention_bias
from hone.errors import TrainingConfigError, TrainingError
from hone.train._config import LoraConfig, TrainerConfig
from hone.train._losses import LossMetrics, policy_loss, sft_loss, token_logprobs
from hone.train._metrics import TrainStepMetrics
from hone.train._samples import Batch, TrainingSample, collate

__all__ = ["Trainer", "check_trainer"]

logger = logging.getLogger(__name__)

STATE_FILE = "trainer_state.pt"
STATE_VERSION = 1


def _wrap_lora(model: Any, lora: LoraConfig) -> Any:
    """Wrap ``model`` in PEFT LoRA adapters; only adapter weights stay trainable."""
    import peft

    peft_config = peft.LoraConfig(
        r=lora.r,
        lora_alpha=lora.alpha,
        lora_dropout=lora.dropout,
        target_modules=list(lora.target_modules),
        task_type="CAUSAL_LM",
    )
    try:
        return peft.get_peft_model(model, peft_config)
    except ValueError as exc:
        raise TrainingConfigError(
            f"cannot add LoRA adapters to this model: {exc}. Check LoraConfig.target_modules "
            "against the model's module names."
        ) from exc


def _accepts_logits_to_keep(model: Any) -> bool:
    """Whether the underlying causal LM can skip logits for the leading positions."""
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return "logits_to_keep" in inspect.signature(base.forward).parameters


def _chunks(samples: Sequence[TrainingSample], size: int) -> Iterator[Sequence[TrainingSample]]:
    for start in range(0, len(samples), size):
        yield samples[start : start + size]


def _by_length(samples: Sequence[TrainingSample]) -> list[TrainingSample]:
    """Samples shortest first, so each micro-batch pads only to its own longest sequence.

    The losses are normalised by the whole step's counts, so the order changes no gradient
    (up to float rounding); with mixed lengths it saves much of the padding's compute.
    """
    return sorted(samples, key=lambda s: len(s.input_ids))


_AVERAGED = tuple(f.name for f in dataclasses.fields(LossMetrics) if f.name != "num_tokens")


class _Averages:
    """The summed loss and token-weighted means of the micro-batches' :class:`LossMetrics`."""

    def __init__(self) -> None:
        self.sums: dict[str, float] = {}
        self.weights: dict[str, float] = {}
        self.loss = 0.0
        self.tokens = 0.0

    def add(self, loss: torch.Tensor, metrics: LossMetrics) -> None:
        self.loss += float(loss.detach().item())
        weight = metrics.num_tokens
        self.tokens += weight
        for name in _AVERAGED:
            value = getattr(metrics, name)
            if value is not None:
                self.sums[name] = self.sums.get(name, 0.0) + value * weight
                self.weights[name] = self.weights.get(name, 0.0) + weight

    def result(self) -> LossMetrics:
        means = {name: total / max(self.weights[name], 1.0) for name, total in self.sums.items()}
        return LossMetrics(num_tokens=self.tokens, **means)


class Trainer:
    """Trains a Hugging Face causal LM on :class:`~hone.train.TrainingSample` lists.

    Args:
        model: a ``transformers`` causal LM (e.g. ``Qwen2ForCausalLM``). With
            ``config.lora`` it is wrapped in LoRA adapters; otherwise every parameter trains.
        tokenizer: used for the pad id and saved next to the model; may be ``None``.
        config: the :class:`~hone.train.TrainerConfig`.
        ref_model: the KL reference for ``beta > 0`` with full fine-tuning; default a frozen copy
            of ``model`` as given. With LoRA the reference is the model with adapters disabled.

    Construction seeds ``torch`` and ``random`` with ``config.seed`` (0 when None; LoRA
    initialisation and dropout draw from them); :meth:`save_checkpoint` stores their state so a
    resumed run continues exactly as an uninterrupted one.

    Attributes:
        step: optimizer steps taken.
        total_steps: the run's length for a decaying ``config.schedule`` without its own
            ``total_steps`` (:func:`~hone.train.train_sft` and :func:`~hone.train.train_rl` set
            it to their step count).
    """

    def __init__(
        self,
        model: Any,
        tokenizer: Any = None,
        *,
        config: TrainerConfig,
        ref_model: Any = None,
    ) -> None:
        self.config = config
        seed = config.seed if config.seed is not None else 0
        random.seed(seed)
        torch.manual_seed(seed)
        self.tokenizer = tokenizer
        if config.beta > 0 and config.lora is None and ref_model is None:
            ref_model = copy.deepcopy(model)
        if ref_model is not None:
            ref_model.eval().requires_grad_(False)
        self.ref_model = ref_model
        self.model = _wrap_lora(model, config.lora) if config.lora is not None else model
        self.step = 0
        self.total_steps: int | None = config.schedule.total_steps
        first = next(self.model.parameters())
        self._device = first.device
        self._dtype = torch.float64 if first.dtype == torch.float64 else torch.float32
        self._pad_id = self._find_pad_id(tokenizer)
        self._logits_to_keep = _accepts_logits_to_keep(self.model)
        self.optimizer = self._make_optimizer()

    @staticmethod
    def _find_pad_id(tokenizer: Any) -> int:
        for name in ("pad_token_id", "eos_token_id"):
            value = getattr(tokenizer, name, None)
            if isinstance(value, int):
                return value
        return 0

    def _make_optimizer(self) -> torch.optim.Optimizer:
        params = [p for p in self.model.parameters() if p.requires_grad]
        if not params:
            raise TrainingConfigError(
                "the model has no trainable parameters; check the LoRA config."
            )
        if self.config.optimizer == "sgd":
            return torch.optim.SGD(params, lr=self.config.lr, weight_decay=self.config.weight_decay)
        return torch.optim.AdamW(
            params,
            lr=self.config.lr,
            weight_decay=self.config.weight_decay,
            betas=self.config.adam_betas,
        )

    # ------------------------------------------------------------------ forward passes

    def _to_device(self, batch: Batch) -> Batch:
        if self._device.type == "cpu":
            return batch
        moved = {}
        for item in dataclasses.fields(batch):
            value = getattr(batch, item.name)
            moved[item.name] = value.to(self._device) if isinstance(value, torch.Tensor) else value
        return Batch(**moved)

    def _keep_from(self, batch: Batch) -> int:
        """First position any sample learns from: logits before it are never needed."""
        if not self._logits_to_keep:
            return 0
        learned = batch.mask.sum(0).nonzero()
        return int(learned[0].item()) if learned.numel() else 0

    def _logprobs(self, model: Any, batch: Batch, start: int) -> torch.Tensor:
        """log π(target) for positions ``start:``. (B, T − start)"""
        kwargs: dict[str, Any] = {"attention_mask": batch.attention_mask}
        if self._logits_to_keep:
            kwargs["logits_to_keep"] = batch.inputs.shape[1] - start
        if batch.visibility is not None:  # pruned episodes: the 4-D mask and gap positions
            kwargs["attention_mask"] = attention_bias(batch.visibility, model)
            kwargs["position_ids"] = batch.position_ids
        out = model(input_ids=batch.inputs, use_cache=False, **kwargs)
        logits = out.logits[:, -(batch.inputs.shape[1] - start) :]  # (B, T − start, V)
        return token_logprobs(logits, batch.targets[:, start:]).to(self._dtype)

    @torch.no_grad()
    def _reference_logprobs(self, batch: Batch, start: int) -> torch.Tensor:
        """log π_ref for positions ``start:``. (B, T − start)"""
        if batch.ref_logprobs is not None:
            return batch.ref_logprobs[:, start:]
        if self.ref_model is not None:
            return self._logprobs(self.ref_model, batch, start)
        with self.model.disable_adapter():
            return self._logprobs(self.model, batch, start)

    # ------------------------------------------------------------------ steps

    @_compute.compute_bound
    def train_step(self, samples: Sequence[TrainingSample]) -> TrainStepMetrics:
        """One optimizer step of the RL loss (``config.loss_type``) over ``samples``.

        Returns the step's :class:`~hone.train.TrainStepMetrics` (loss, gradient norm, learning
        rate, token counts, time, and the loss's clip fractions, ratio and KL).
        """
        lr = self._check_samples(samples)
        started = time.perf_counter()
        num_tokens = sum(s.num_loss_tokens for s in samples)
        max_len = self.config.max_completion_length or max(len(s.input_ids) - 1 for s in samples)
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        averages = _Averages()
        for chunk in _chunks(_by_length(samples), self.config.micro_batch_size):
            batch = self._to_device(collate(chunk, pad_id=self._pad_id, dtype=self._dtype))
            start = self._keep_from(batch)
            logp = self._logprobs(self.model, batch, start)  # (b, T − start)
            old = None
            if batch.old_logprobs is not None:
                has_old = batch.has_old_logprobs.unsqueeze(1)  # (b, 1)
                old = torch.where(has_old, batch.old_logprobs[:, start:], logp.detach())
            advantages = (
                batch.advantages if batch.advantages.dim() == 1 else batch.advantages[:, start:]
            )
            loss, metrics = policy_loss(
                logp,
                old,
                advantages,
                batch.mask[:, start:],
                loss_type=self.config.loss_type,
                eps_low=self.config.eps_low,
                eps_high=self.config.eps_high,
                beta=self.config.beta,
                ref_logp=self._reference_logprobs(batch, start) if self.config.beta > 0 else None,
                kl=self.config.kl,
                max_completion_length=max_len,
                num_items_in_batch=float(num_tokens),
                num_sequences=len(samples),
            )
            torch.autograd.backward(loss)
            averages.add(loss, metrics)
        return self._finish_step(averages, samples, num_tokens, started, lr)

    @_compute.compute_bound
    def sft_step(self, samples: Sequence[TrainingSample]) -> TrainStepMetrics:
        """One optimizer step of token-mean NLL over the masked tokens of ``samples``."""
        lr = self._check_samples(samples)
        started = time.perf_counter()
        num_tokens = sum(s.num_loss_tokens for s in samples)
        self.model.train()
        self.optimizer.zero_grad(set_to_none=True)
        averages = _Averages()
        for chunk in _chunks(_by_length(samples), self.config.micro_batch_size):
            batch = self._to_device(collate(chunk, pad_id=self._pad_id, dtype=self._dtype))
            start = self._keep_from(batch)
            logp = self._logprobs(self.model, batch, start)
            loss, metrics = sft_loss(
                logp, batch.mask[:, start:], num_items_in_batch=float(num_tokens)
            )
            torch.autograd.backward(loss)
            averages.add(loss, metrics)
        return self._finish_step(averages, samples, num_tokens, started, lr)

    def _check_samples(self, samples: Sequence[TrainingSample]) -> float:
        """Raise for samples no step can use; return the step's learning rate (which raises
        before any compute when the schedule lacks its length)."""
        if not samples:
            raise TrainingConfigError(
                "train_step got no samples; pass at least one TrainingSample."
            )
        if sum(s.num_loss_tokens for s in samples) == 0:
            raise TrainingConfigError("no sample has a loss_mask token; nothing to train on.")
        return self.lr

    def _finish_step(
        self,
        averages: _Averages,
        samples: Sequence[TrainingSample],
        num_tokens: int,
        started: float,
        lr: float,
    ) -> TrainStepMetrics:
        params = [p for p in self.model.parameters() if p.requires_grad]
        max_norm = (
            self.config.max_grad_norm if self.config.max_grad_norm is not None else float("inf")
        )
        grad_norm = float(torch.nn.utils.clip_grad_norm_(params, max_norm).item())
        if not torch.isfinite(torch.tensor(grad_norm)):
            self.optimizer.zero_grad(set_to_none=True)
            raise TrainingError(
                f"non-finite gradient norm at step {self.step}; lower the learning rate or check "
                "the samples' logprobs and advantages for NaN/inf."
            )
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.step += 1
        return TrainStepMetrics(
            step=self.step,
            loss=averages.loss,
            grad_norm=grad_norm,
            lr=lr,
            num_samples=len(samples),
            num_tokens=num_tokens,
            seconds=time.perf_counter() - started,
            loss_metrics=averages.result(),
        )

    @property
    def lr(self) -> float:
        """The learning rate the next step will use (``config.schedule`` at :attr:`step`).

        Raises:
            TrainingConfigError: a decaying schedule whose length is unknown.
        """
        return self.config.schedule.lr_at(self.config.lr, self.step, self.total_steps)

    # ------------------------------------------------------------------ logprobs

    @_compute.compute_bound
    @torch.no_grad()
    def compute_logprobs(
        self, samples: Sequence[TrainingSample], *, reference: bool = False
    ) -> list[list[float]]:
        """Per-token log-probs of ``samples`` under the current (or reference) model.

        Aligned with ``input_ids`` like :attr:`TrainingSample.old_logprobs`: 0.0 at the first
        token and wherever ``loss_mask`` is False. Dropout is off (eval mode).
        """
        was_training = self.model.training
        self.model.eval()
        out: list[list[float]] = []
        try:
            for chunk in _chunks(samples, self.config.micro_batch_size):
                batch = self._to_device(collate(chunk, pad_id=self._pad_id, dtype=self._dtype))
                logp = (
                    self._reference_logprobs(batch, 0)
                    if reference
                    else self._logprobs(self.model, batch, 0)
                )
                logp = logp * batch.mask  # (b, T)
                for row, sample in zip(logp.tolist(), chunk, strict=True):
                    out.append([0.0, *row[: len(sample.input_ids) - 1]])
        finally:
            self.model.train(was_training)
        return out

    # ------------------------------------------------------------------ saving

    def _trainable_state(self) -> dict[str, torch.Tensor]:
        return {n: p.detach().clone() for n, p in self.model.named_parameters() if p.requires_grad}

    def weights(self) -> dict[str, torch.Tensor]:
        """A copy of the trainable weights (all of them, or the LoRA adapters), on the CPU:
        what :meth:`load_weights` restores (keep-best uses it)."""
        return {n: t.to("cpu") for n, t in self._trainable_state().items()}

    def load_weights(self, weights: dict[str, torch.Tensor]) -> None:
        """Put back trainable weights taken with :meth:`weights` (optimizer state unchanged).

        Raises:
            TrainingConfigError: the weights are not this model's trainable weights.
        """
        if set(weights) != set(self._trainable_state()):
            raise TrainingConfigError(
                "these weights do not match the model's trainable weights; take them with "
                "weights() from a trainer built with the same model and LoRA config."
            )
        with torch.no_grad():
            for name, param in self.model.named_parameters():
                if name in weights:
                    param.copy_(weights[name].to(param.device, param.dtype))

    def save_checkpoint(self, path: str | Path) -> Path:
        """Save trainable weights, optimizer, step and RNG state to directory ``path``."""
        directory = Path(path)
        directory.mkdir(parents=True, exist_ok=True)
        state = {
            "version": STATE_VERSION,
            "model": self._trainable_state(),
            "optimizer": self.optimizer.state_dict(),
            "step": self.step,
            "rng": {"torch": torch.get_rng_state(), "python": random.getstate()},
        }
        torch.save(state, directory / STATE_FILE)
        return directory

    def load_checkpoint(self, path: str | Path) -> None:
        """Restore what :meth:`save_checkpoint` saved; the run then continues identically."""
        file = Path(path) / STATE_FILE
        if not file.is_file():
            raise TrainingConfigError(
                f"no trainer checkpoint at {file}; pass a directory written by save_checkpoint."
            )
        state = torch.load(file, weights_only=True, map_location=self._device)
        if state.get("version") != STATE_VERSION:
            raise TrainingError(
                f"trainer checkpoint version {state.get('version')} is not {STATE_VERSION}."
            )
        expected = set(self._trainable_state())
        if set(state["model"]) != expected:
            raise TrainingConfigError(
                "the checkpoint's trainable weights do not match this model (different LoRA config or "
                "model?); build the Trainer with the config that wrote the checkpoint."
            )
        self.model.load_state_dict(state["model"], strict=False)
        self.optimizer.load_state_dict(state["optimizer"])
        self.step = int(state["step"])
        torch.set_rng_state(state["rng"]["torch"].cpu())
        random.setstate(state["rng"]["python"])

    def save_model(self, path: str | Path) -> Path:
        """Save a plain Hugging Face checkpoint (LoRA merged in) and the tokenizer to ``path``,
        loadable with the spec ``hf:<path>``. Merging works on a copy, so training can go on."""
        directory = Path(path)
        model = self.model
        if self.config.lora is not None:
            model = copy.deepcopy(self.model).merge_and_unload()
        model.save_pretrained(directory)
        if self.tokenizer is not None and hasattr(self.tokenizer, "save_pretrained"):
            self.tokenizer.save_pretrained(directory)
        logger.info("saved model to %s", directory)
        return directory


def check_trainer(trainer: Trainer, config: TrainerConfig, section: str) -> None:
    """Refuse a loop whose nested trainer settings differ from the trainer's own: the loop
    would silently train with settings its config does not show.

    Raises:
        TrainingConfigError: the two configs differ; the message names the fields.
    """
    if trainer.config == config:
        return
    differ = [
        f.name
        for f in dataclasses.fields(config)
        if getattr(config, f.name) != getattr(trainer.config, f.name)
    ]
    raise TrainingConfigError(
        f"{section}.trainer differs from the config the Trainer was built with ({', '.join(differ)});"
        f" build it from the loop's config: Trainer(model, tokenizer, config={section}_config.trainer)."
    )
