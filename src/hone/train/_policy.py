"""The live policy as a model backend: what rollouts and evaluations sample from by default."""

from __future__ import annotations

from hone.errors import TrainingConfigError
from hone.models import BatchingModel, ModelBackend
from hone.train._trainer import Trainer

__all__ = ["policy_backend"]


def policy_backend(
    trainer: Trainer, *, max_batch: int = 64, max_wait_ms: float = 50.0
) -> ModelBackend:
    """``BatchingModel(TransformersModel(trainer.model, trainer.tokenizer))``: the weights being
    trained, sampled in batches. It reads the live weights, so it follows every update, and
    every completion records ``trainer.step`` (the optimizer steps behind its weights) as its
    ``policy_version``.

    A wave of concurrent rollouts reaches its next model call over tens of milliseconds (each
    runs its tools and bookkeeping in turn); waiting ``max_wait_ms`` gathers the wave into one
    batched generation.

    Raises:
        TrainingConfigError: the trainer has no tokenizer (needed to render prompts).
    """
    from hone.models import TransformersModel  # imports transformers: only when sampling

    if trainer.tokenizer is None:
        raise TrainingConfigError(
            "the trainer has no tokenizer, so the policy cannot render prompts; pass the "
            "tokenizer to Trainer(model, tokenizer, config=...)."
        )
    return BatchingModel(
        TransformersModel(trainer.model, trainer.tokenizer, policy_version=lambda: trainer.step),
        max_batch=max_batch,
        max_wait_ms=max_wait_ms,
    )
