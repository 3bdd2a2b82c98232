"""A small tiny model, built once per session and loaded back through ``from_pretrained``."""

from __future__ import annotations

from pathlib import Path

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
    max_position=256,
    vocab_size=1024,
)


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A saved tiny model whose weights are scaled up, so greedy outputs vary with the prompt
    (a fresh 0.02-std init predicts nearly the same token everywhere)."""
    import torch
    from transformers import AutoModelForCausalLM

    path = build_tiny_model(
        tmp_path_factory.mktemp("tiny"), corpus=default_corpus(600), config=SMALL
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
def tiny_model(tiny_dir: Path) -> TransformersModel:
    """The tiny model, loaded the way users load checkpoints."""
    return TransformersModel.from_pretrained(tiny_dir)
