"""Fixtures for the training tests: a tiny random Qwen2 model, random samples, and the run tests'
toy task ("say the number") over a small random tiny model."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import torch
from transformers import Qwen2Config, Qwen2ForCausalLM

from hone.messages import AnyMessage
from hone.models import ModelBackend, SamplingOptions, make_request
from hone.models._tiny_corpus import default_corpus
from hone.models._transformers import TransformersModel
from hone.models.tiny import TinyConfig, build_tiny_model
from hone.rewards import reward_fn
from hone.serve import AdapterPool, create_app, running_server
from hone.train import Trainer, TrainerConfig, TrainingSample
from hone.trajectory import Episode

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


SMALL = TinyConfig(
    hidden_size=32, layers=1, heads=2, kv_heads=1, intermediate=64, max_position=256, vocab_size=512
)

TASKS = [{"id": "none", "n": 0}, {"id": "flat", "n": 1}, {"id": "a", "n": 2}, {"id": "b", "n": 3}]


def build_small(directory: Path) -> Path:
    """A small random tiny model."""
    return build_tiny_model(directory, corpus=default_corpus(200), config=SMALL)


def make_trainer(tiny_dir: Path, config: TrainerConfig | None = None) -> Trainer:
    """A trainer over a fresh copy of the small model."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    return Trainer(model, tokenizer, config=config or TrainerConfig(lr=1e-3, micro_batch_size=4))


async def say_number(task: dict[str, Any], model: ModelBackend) -> list[AnyMessage]:
    """The toy agent: one call answering "Say the number N"."""
    request = make_request(f"Say the number {task['n']}.", options=SamplingOptions(max_tokens=4))
    completion = await model.complete(request)
    return [*request.messages, completion.message]


@reward_fn
def toy_reward(episode: Episode) -> float | None:
    """Exact match, plus controlled cases: 'none' has no reward, 'flat' is always 0.5, and
    other tasks alternate 0/1 by rollout so groups have variance whatever the model says."""
    if episode.task_id == "none":
        return None
    if episode.task_id == "flat":
        return 0.5
    exact = episode.final_text.strip() == str(episode.task["n"])
    return float(exact or episode.metadata["rollout_index"] % 2 == 0)


@pytest.fixture(scope="session")
def small_tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small random tiny model, saved once for the session."""
    return build_small(tmp_path_factory.mktemp("tiny-small"))


@pytest.fixture
def toy() -> SimpleNamespace:
    """The toy task's pieces: ``tasks``, ``program``, ``reward``, ``make_trainer``."""
    return SimpleNamespace(
        tasks=TASKS, program=say_number, reward=toy_reward, make_trainer=make_trainer
    )


@pytest.fixture
def lora_server(small_tiny_dir: Path) -> Iterator[tuple[str, AdapterPool]]:
    """``hone serve`` over the small model with an adapter pool (a LoRA publisher's target):
    its URL and the pool."""
    base = TransformersModel.from_pretrained(small_tiny_dir)
    pool = AdapterPool(base)
    with running_server(create_app(base, model_name="tiny", adapters=pool)) as url:
        yield url, pool
