"""The demo's student: the built-in tiny Qwen2, with a tokenizer trained on the teacher's
episodes rendered by the tiny chat template (so the tool-call markup costs few tokens)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hone.demo._config import DemoConfig
from hone.models._transformers_rows import template_message
from hone.models.tiny import TinyConfig, build_tiny_model, train_tokenizer
from hone.trajectory import Episode

__all__ = ["build_student", "render_episodes"]


def render_episodes(episodes: Sequence[Episode]) -> list[str]:
    """Each episode's conversation as the tiny chat template renders it (tools included)."""
    # Any tokenizer carrying the template renders text; a throwaway one is quickest to make.
    renderer = train_tokenizer(["a"], vocab_size=300)
    texts = []
    for episode in episodes:
        tools = episode.calls[0].tools if episode.calls else None
        messages = [template_message(dict(m)) for m in episode.messages]
        texts.append(str(renderer.apply_chat_template(messages, tools=tools, tokenize=False)))
    return texts


def build_student(
    config: DemoConfig, episodes: Sequence[Episode], directory: Path
) -> tuple[Any, Any]:
    """Build the untrained student at ``directory``; return ``(model, tokenizer)`` loaded
    through the ordinary Hugging Face path."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tiny = TinyConfig(
        hidden_size=config.hidden_size,
        layers=config.layers,
        heads=config.heads,
        kv_heads=config.kv_heads,
        intermediate=config.intermediate,
        max_position=2048,
        vocab_size=config.vocab_size,
        seed=config.seed,
    )
    corpus = render_episodes(episodes[: config.tokenizer_texts])
    build_tiny_model(directory, corpus=corpus, config=tiny)
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModelForCausalLM.from_pretrained(directory, dtype="float32")
    return model, tokenizer
