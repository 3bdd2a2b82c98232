"""The demo's recipe as one typed object: task sizes, teacher, model, SFT and RL settings."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from hone.demo.countdown import MAX_TURNS, PATIENCE, CalcFeedback, CandidateOrder
from hone.errors import ConfigError
from hone.train import LossType

__all__ = ["DemoConfig"]


@dataclass(frozen=True, slots=True)
class DemoConfig:
    """Everything ``hone demo`` does, fixed up front (the defaults are the full demo).

    Attributes:
        seed: seeds the task generator, the teacher, the model's initialisation and sampling.
        n_sft_tasks: training tasks the teacher demonstrates (one episode each).
        n_rl_tasks: further training tasks RL draws its steps from.
        n_test: held-out tasks (distinct, and disjoint from every training task).
        patience: the teacher's per-episode budgets of calc checks, drawn uniformly.
        teacher_order: the teacher's candidates: a random sample, or in sorted order.
        calc_feedback: what ``calc`` answers: the bare value, or also whether it hits the target.
        hidden_size, layers, heads, kv_heads, intermediate: the tiny Qwen2's shape.
        vocab_size: the tokenizer's largest vocabulary.
        tokenizer_texts: teacher episodes the tokenizer is trained on.
        sft_steps, sft_batch_size, sft_lr, sft_warmup: SFT (cosine decay to 10% after warmup).
        sft_micro_batch_size: SFT sequences per forward pass.
        rl_steps, tasks_per_step, group_size, rl_lr, loss_type, temperature: GRPO-family RL.
        max_completion_length: the ``dr_grpo`` per-sequence normaliser (None: longest of step).
        micro_batch_size: RL sequences per forward pass.
        max_turns, max_tokens: the agent's model calls per episode and tokens per call.
        eval_every: evaluate the held-out tasks every N RL steps (the learning curve).
        threads: torch CPU threads.
    """

    seed: int = 0
    n_sft_tasks: int = 20000
    n_rl_tasks: int = 20000
    n_test: int = 200
    patience: tuple[int, ...] = PATIENCE
    teacher_order: CandidateOrder = "sorted"
    calc_feedback: CalcFeedback = "target"
    hidden_size: int = 128
    layers: int = 2
    heads: int = 4
    kv_heads: int = 4
    intermediate: int = 512
    vocab_size: int = 1024
    tokenizer_texts: int = 2000
    sft_steps: int = 1000
    sft_batch_size: int = 32
    sft_lr: float = 3e-3
    sft_warmup: int = 20
    sft_micro_batch_size: int = 8
    rl_steps: int = 60
    tasks_per_step: int = 16
    group_size: int = 8
    rl_lr: float = 3e-4
    loss_type: LossType = "grpo"
    temperature: float = 1.0
    max_completion_length: int | None = 20
    micro_batch_size: int = 16
    max_turns: int = MAX_TURNS
    max_tokens: int = 32
    eval_every: int = 20
    threads: int = 2

    def __post_init__(self) -> None:
        positive = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name
            not in (
                "seed",
                "patience",
                "teacher_order",
                "calc_feedback",
                "loss_type",
                "max_completion_length",
            )
        }
        bad = [f"{name}={value}" for name, value in positive.items() if not value > 0]
        if bad:
            raise ConfigError(f"DemoConfig needs positive values, got {', '.join(bad)}")
        if self.group_size < 2:
            raise ConfigError(f"group_size={self.group_size}: GRPO needs at least 2 per group")
        if not self.patience or min(self.patience) < 1:
            raise ConfigError(f"patience must hold budgets >= 1, got {self.patience!r}")
        if self.hidden_size % self.heads or self.heads % self.kv_heads:
            raise ConfigError("hidden_size must divide by heads, and heads by kv_heads")

    @classmethod
    def quick(cls, seed: int = 0) -> DemoConfig:
        """Tiny sizes that run the whole pipeline in seconds (for tests, not for results)."""
        return cls(
            seed=seed,
            n_sft_tasks=48,
            n_rl_tasks=64,
            n_test=12,
            hidden_size=32,
            layers=1,
            heads=2,
            kv_heads=2,
            intermediate=64,
            vocab_size=400,
            tokenizer_texts=48,
            sft_steps=4,
            sft_batch_size=8,
            sft_warmup=1,
            rl_steps=2,
            tasks_per_step=2,
            group_size=2,
            micro_batch_size=8,
            sft_micro_batch_size=4,
            eval_every=1,
        )

    def replace(self, **changes: Any) -> DemoConfig:
        """A copy with some fields changed (checked again)."""
        return dataclasses.replace(self, **changes)
