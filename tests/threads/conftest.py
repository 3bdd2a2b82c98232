"""A small tiny model for the thread tests, built once per session, in float32 and float64.

Its weights are scaled up (as in ``tests/models``) so that logprobs differ from token to
token, and it has 4,096 positions: threads are long (gap positions never come back).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from hone.models._tiny_corpus import default_corpus
from hone.models._transformers import TransformersModel
from hone.models.tiny import TinyConfig, build_tiny_model

SMALL = TinyConfig(
    hidden_size=64,
    layers=2,
    heads=2,
    kv_heads=1,
    intermediate=128,
    max_position=4096,
    vocab_size=1024,
)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The saved model."""
    import torch
    from transformers import AutoModelForCausalLM

    path = build_tiny_model(
        tmp_path_factory.mktemp("threads-tiny"), corpus=default_corpus(600), config=SMALL
    )
    model = AutoModelForCausalLM.from_pretrained(path)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() > 1:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.3)
    model.save_pretrained(path)
    return path


@pytest.fixture(scope="session")
def tiny(tiny_dir: Path) -> TransformersModel:
    """The model in float32 (SDPA attention)."""
    return TransformersModel.from_pretrained(tiny_dir)


def load(path: Path, dtype: Any, attention: str = "sdpa") -> TransformersModel:
    """The model at ``path`` in ``dtype`` with the given attention implementation."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(path, dtype=dtype, attn_implementation=attention)
    model.eval()
    return TransformersModel(model, AutoTokenizer.from_pretrained(path))


@pytest.fixture(scope="session")
def tiny64(tiny_dir: Path) -> TransformersModel:
    """The model in float64."""
    import torch

    return load(tiny_dir, torch.float64)
