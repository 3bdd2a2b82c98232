"""Fixtures for the training tests: a tiny random Qwen2 model and random samples."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

from hone.train import TrainingSample

VOCAB = 64


def tiny_model(dtype: torch.dtype = torch.float64, seed: int = 0) -> Qwen2ForCausalLM:
    """A 2-layer Qwen2 with hidden size 32 and a 64-token vocabulary, random weights."""
    torch.manual_seed(seed)
    config = Qwen2Config(
        vocab_size=VOCAB,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=128,
        tie_word_embeddings=False,
    )
    return Qwen2ForCausalLM(config).to(dtype)


def random_samples(
    n: int, *, seed: int = 0, with_old: bool = True, per_token: bool = False
) -> list[TrainingSample]:
    """``n`` samples of varying length: a masked prompt, then learned tokens."""
    rng = random.Random(seed)
    samples = []
    for i in range(n):
        prompt, completion = rng.randint(2, 5), rng.randint(1, 9)
        length = prompt + completion
        mask = [False] * prompt + [True] * completion
        old = [rng.uniform(-5.0, -3.0) if m else 0.0 for m in mask] if with_old else None
        adv: float | list[float] = rng.gauss(0.0, 1.0)
        if per_token:
            adv = [rng.gauss(0.0, 1.0) for _ in range(length)]
        samples.append(
            TrainingSample(
                input_ids=[rng.randrange(VOCAB) for _ in range(length)],
                loss_mask=mask,
                old_logprobs=old,
                advantage=adv,
                group_id=i // 4,
            )
        )
    return samples


@pytest.fixture
def make_model() -> Callable[..., Qwen2ForCausalLM]:
    """Factory for :func:`tiny_model`."""
    return tiny_model


@pytest.fixture
def make_samples() -> Callable[..., list[TrainingSample]]:
    """Factory for :func:`random_samples`."""
    return random_samples
