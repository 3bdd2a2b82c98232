"""A small tiny model and two LoRA adapters for it, shared by the adapter and contract tests."""

from __future__ import annotations

from pathlib import Path

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


def build_base(directory: Path) -> Path:
    """A tiny model whose weights are scaled up, so greedy outputs depend on the prompt."""
    import torch
    from transformers import AutoModelForCausalLM

    path = build_tiny_model(directory, corpus=default_corpus(600), config=SMALL)
    model = AutoModelForCausalLM.from_pretrained(path)
    generator = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() > 1:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.3)
    model.save_pretrained(path)
    return path


def build_adapter(base: Path, directory: Path, seed: int) -> Path:
    """A LoRA adapter for ``base`` with random (non-zero) weights, saved to ``directory``."""
    import peft
    import torch
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(base)
    config = peft.LoraConfig(
        r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], task_type="CAUSAL_LM"
    )
    wrapped = peft.get_peft_model(model, config)
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in wrapped.named_parameters():
            if "lora_" in name:
                param.copy_(torch.randn(param.shape, generator=generator) * 0.5)
    wrapped.save_pretrained(directory)
    return directory


def merged_model(base: Path, adapter: Path | None) -> TransformersModel:
    """The base with ``adapter`` merged into its own copy (None: the plain base)."""
    import peft

    plain = TransformersModel.from_pretrained(base, prefix_cache_tokens=0)
    if adapter is None:
        return plain
    merged = peft.PeftModel.from_pretrained(plain.model, str(adapter)).merge_and_unload()
    return TransformersModel(merged.eval(), plain.tokenizer, name=adapter.name)
