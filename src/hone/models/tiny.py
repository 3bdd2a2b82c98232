"""The built-in tiny model: a locally trained tokenizer and a small, randomly initialised Qwen2.

Nothing is downloaded. :func:`build_tiny_model` trains a byte-level BPE tokenizer on a corpus
(by default one generated locally), creates a ``Qwen2ForCausalLM`` from a :class:`TinyConfig`
and saves both with ``save_pretrained``, so every loader (``TransformersModel``, the trainer,
``AutoModelForCausalLM``) reads it through the ordinary Hugging Face path. The model is
untrained: it is the starting point for demos and tests that teach it.

Example::

    from hone.models.tiny import ensure_tiny_model
    path = ensure_tiny_model(progress=print)   # built once (a few seconds), then reused
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from hone.errors import ModelLoadError
from hone.models._tiny_corpus import default_corpus
from hone.models._tiny_template import CHAT_TEMPLATE

__all__ = [
    "CHAT_TEMPLATE",
    "END_OF_TURN",
    "PAD",
    "TAG_TOKENS",
    "UNTRAINED_NOTE",
    "Progress",
    "TinyConfig",
    "build_tiny_model",
    "default_tiny_path",
    "ensure_tiny_model",
    "train_tokenizer",
]

logger = logging.getLogger(__name__)

#: What to tell someone about to chat with the built-in model.
UNTRAINED_NOTE = (
    "the built-in tiny model is untrained: its replies are noise until it is trained "
    "(see `hone demo`)"
)
#: Called with one line per stage of a build ("training the tokenizer", ...).
Progress = Callable[[str], None]

#: Padding / end-of-text token.
PAD = "<|endoftext|>"
#: End of a chat turn; the model's EOS.
END_OF_TURN = "<|im_end|>"
_START_OF_TURN = "<|im_start|>"
#: Markup the parsers look for; each is a single token id.
TAG_TOKENS = (
    "<think>",
    "</think>",
    "<tool_call>",
    "</tool_call>",
    "<tool_response>",
    "</tool_response>",
)
_MARKER = "hone-tiny.json"
# Qwen2's pre-tokenizer split. Unlike GPT-2's, it keeps a run of newlines one piece whatever
# follows ("\n\n" before "Hello" splits as at the end of a text), so the generation prompt
# tokenizes the same alone as inside a longer conversation: the prefix property holds.
_SPLIT_PATTERN = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}"
    r"| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+"
)


@dataclass(frozen=True, slots=True)
class TinyConfig:
    """Shape of the tiny model (a Qwen2 decoder) and of its tokenizer."""

    hidden_size: int = 128
    layers: int = 4
    heads: int = 4
    kv_heads: int = 2
    intermediate: int = 384
    max_position: int = 2048
    #: Largest vocabulary of the tokenizer, special and tag tokens included.
    vocab_size: int = 2048
    tie_embeddings: bool = True
    seed: int = 0


def train_tokenizer(
    corpus: Iterable[str], *, vocab_size: int = 2048, max_length: int = 2048
) -> Any:
    """Train a byte-level BPE tokenizer on ``corpus`` and wrap it for transformers.

    Digits are split one per token (so arithmetic is learnable); ``<|endoftext|>`` (padding),
    ``<|im_start|>`` and ``<|im_end|>`` (EOS, end of turn) are special tokens, and the tags in
    :data:`TAG_TOKENS` are single added tokens that decoding keeps. The tiny model's chat
    template is set as ``chat_template``. ``vocab_size`` is an upper bound: a small corpus
    yields fewer merges; ``max_length`` becomes ``model_max_length``.

    Returns:
        A ``transformers.PreTrainedTokenizerFast``.
    """
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    specials = [PAD, _START_OF_TURN, END_OF_TURN]
    if vocab_size < 256 + len(specials) + len(TAG_TOKENS):
        raise ValueError(f"vocab_size must be at least 265 (256 bytes + tokens), got {vocab_size}")
    backend = Tokenizer(models.BPE())
    backend.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Digits(individual_digits=True),
            pre_tokenizers.Split(Regex(_SPLIT_PATTERN), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    backend.decoder = decoders.ByteLevel()
    # Register every token before training, so the corpus's markup is cut out of the text and
    # does not waste merges; the tags are "added" but not "special", so decoding keeps them.
    backend.add_special_tokens([AddedToken(t, special=True, normalized=False) for t in specials])
    backend.add_tokens([AddedToken(t, special=False, normalized=False) for t in TAG_TOKENS])
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size - len(TAG_TOKENS),
        min_frequency=2,
        special_tokens=specials,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    backend.train_from_iterator(corpus, trainer=trainer)
    tokenizer = PreTrainedTokenizerFast(  # type: ignore[no-untyped-call]
        tokenizer_object=backend,
        eos_token=END_OF_TURN,
        pad_token=PAD,
        padding_side="left",
        model_max_length=max_length,
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def build_tiny_model(
    path: str | os.PathLike[str],
    *,
    corpus: Iterable[str] | None = None,
    config: TinyConfig | None = None,
    progress: Progress | None = None,
) -> Path:
    """Build a randomly initialised tiny Qwen2 model and its tokenizer, saved at ``path``.

    Args:
        path: Directory to write (created if missing; existing files are overwritten).
        corpus: Text to train the tokenizer on; by default a locally generated synthetic corpus.
        config: Model and tokenizer shape; :class:`TinyConfig` defaults if omitted.
        progress: Called with one line as each stage starts (the ``hone`` command shows them).

    Returns:
        The directory, loadable with ``TransformersModel.from_pretrained`` or
        ``AutoModelForCausalLM.from_pretrained``.
    """
    import torch
    from transformers import GenerationConfig, Qwen2Config, Qwen2ForCausalLM

    report = progress or _log_stage
    cfg = config or TinyConfig()
    out = Path(path)
    out.mkdir(parents=True, exist_ok=True)
    report(f"training the tokenizer (byte-level BPE, up to {cfg.vocab_size} tokens)")
    texts = corpus if corpus is not None else default_corpus(seed=cfg.seed)
    tokenizer = train_tokenizer(texts, vocab_size=cfg.vocab_size, max_length=cfg.max_position)
    eos_id = tokenizer.convert_tokens_to_ids(END_OF_TURN)
    pad_id = tokenizer.convert_tokens_to_ids(PAD)
    model_config = Qwen2Config(
        vocab_size=len(tokenizer),
        hidden_size=cfg.hidden_size,
        num_hidden_layers=cfg.layers,
        num_attention_heads=cfg.heads,
        num_key_value_heads=cfg.kv_heads,
        intermediate_size=cfg.intermediate,
        max_position_embeddings=cfg.max_position,
        tie_word_embeddings=cfg.tie_embeddings,
        bos_token_id=None,
        eos_token_id=eos_id,
        pad_token_id=pad_id,
    )
    report(f"initialising the model (Qwen2, {cfg.layers} layers, hidden size {cfg.hidden_size})")
    torch.manual_seed(cfg.seed)
    model = Qwen2ForCausalLM(model_config)
    model.generation_config = GenerationConfig(  # type: ignore[no-untyped-call]
        eos_token_id=eos_id, pad_token_id=pad_id, bos_token_id=None
    )
    report(f"saving {model.num_parameters():,} parameters")
    with _quiet_transformers():
        model.save_pretrained(out)
    tokenizer.save_pretrained(out)
    (out / _MARKER).write_text(_config_json(cfg), encoding="utf-8")
    logger.info("built tiny model (%d parameters) at %s", model.num_parameters(), out)
    return out


def _log_stage(line: str) -> None:
    logger.info("tiny model: %s", line)


@contextlib.contextmanager
def _quiet_transformers() -> Iterator[None]:
    """No progress bar from ``save_pretrained``: the build reports its own stages."""
    from transformers.utils import logging as hf_logging

    enabled = hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()  # type: ignore[no-untyped-call]
    try:
        yield
    finally:
        if enabled:
            hf_logging.enable_progress_bar()  # type: ignore[no-untyped-call]


def _config_json(cfg: TinyConfig) -> str:
    import json

    return json.dumps(asdict(cfg), sort_keys=True)


def default_tiny_path() -> Path:
    """Where :func:`ensure_tiny_model` keeps the built-in model: ``$HONE_HOME/tiny`` if
    ``HONE_HOME`` is set, else ``~/.cache/hone/tiny``."""
    home = os.environ.get("HONE_HOME")
    base = Path(home) if home else Path.home() / ".cache" / "hone"
    return base / "tiny"


def ensure_tiny_model(
    path: str | os.PathLike[str] | None = None, *, progress: Progress | None = None
) -> Path:
    """The built-in tiny model's directory, building it on first use (a few seconds).

    A directory is reused when it holds a model built with the default :class:`TinyConfig`;
    otherwise (missing, half-written, built with other settings) it is rebuilt. ``progress``
    is called with one line per stage of a build (nothing when the model is reused).

    Raises:
        ModelLoadError: the directory cannot be written.
    """
    target = Path(path) if path is not None else default_tiny_path()
    if _is_default_build(target):
        return target
    if progress is not None:
        progress(f"building the built-in tiny model at {target} (first use only)")
    # Build next to the target and rename, so a crash never leaves a half-written model
    # that a later call would take for a finished one.
    staging = target.with_name(f"{target.name}.building-{os.getpid()}")
    try:
        build_tiny_model(staging, progress=progress)
        if _is_default_build(target):  # another process finished first: use its model
            return target
        if target.exists():
            _remove_tree(target)
        staging.rename(target)
    except OSError as exc:
        if _is_default_build(target):
            return target
        raise ModelLoadError(
            f"cannot build the tiny model at {target}: {exc}; set HONE_HOME to a writable directory"
        ) from exc
    finally:
        if staging.exists():
            _remove_tree(staging)
    return target


def _is_default_build(directory: Path) -> bool:
    marker = directory / _MARKER
    return marker.is_file() and marker.read_text(encoding="utf-8") == _config_json(TinyConfig())


def _remove_tree(path: Path) -> None:
    import shutil

    shutil.rmtree(path, ignore_errors=True)
