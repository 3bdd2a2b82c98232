"""An episode's tokens as the trainer reads them: which were prompt, which were sampled, with
their logprobs and whether the loss mask covers them.

Pure functions over recorded :class:`~hone.trajectory.ModelCall` records. The sequences follow
the trainer's own rule (:func:`hone.train.samples_from_calls`): calls whose prompt extends the
previous prompt + completion form one sequence; a broken prefix starts a new one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from hone.errors import ConfigError
from hone.trajectory import ModelCall

__all__ = ["Decoder", "TokenSequence", "TokenSpan", "load_decoder", "token_sequences"]

logger = logging.getLogger(__name__)

#: Turns one token id into its text.
Decoder = Callable[[int], str]


@dataclass(frozen=True, slots=True)
class TokenSpan:
    """One token of an episode's sequence.

    Attributes:
        id: the token id.
        text: its text (``⟨id⟩`` when no tokenizer was given).
        sampled: True when the policy generated it, False when it was part of a prompt.
        call: the index of the model call whose prompt or completion holds it.
        logprob: its sampling log-probability (sampled tokens of calls that recorded them).
        trained: whether the loss mask covers it; None when unknown (``hone[train]`` missing).
    """

    id: int
    text: str
    sampled: bool
    call: int
    logprob: float | None = None
    trained: bool | None = None


@dataclass(frozen=True, slots=True)
class TokenSequence:
    """One token sequence: the calls it holds and their tokens, in order."""

    calls: list[int] = field(default_factory=list)
    tokens: list[TokenSpan] = field(default_factory=list)


def _extends(prompt: Sequence[int], history: Sequence[int]) -> bool:
    return len(prompt) >= len(history) and list(prompt[: len(history)]) == list(history)


def _placeholder(token_id: int) -> str:
    return f"⟨{token_id}⟩"


def token_sequences(
    calls: Sequence[ModelCall],
    *,
    decode: Decoder | None = None,
    masks: Sequence[Sequence[bool]] | None = None,
) -> list[TokenSequence]:
    """The token sequences of an episode's calls; calls without token ids are left out.

    Args:
        calls: the episode's model calls, in order.
        decode: token id → text; ``⟨id⟩`` placeholders without one.
        masks: the trainer's loss mask for each sequence (``episode_samples(...).samples``);
            a mask that does not line up with its sequence is ignored (``trained`` None).
    """
    decode = decode or _placeholder
    built: list[tuple[list[int], TokenSequence]] = []  # (token ids so far, sequence)
    for call in calls:
        if call.prompt_token_ids is None or call.token_ids is None:
            continue
        prompt, completion = list(call.prompt_token_ids), list(call.token_ids)
        if not built or not _extends(prompt, built[-1][0]):
            built.append(([], TokenSequence()))
        ids, sequence = built[-1]
        sequence.calls.append(call.index)
        logprobs = (
            call.logprobs if call.logprobs and len(call.logprobs) == len(completion) else None
        )
        for token in prompt[len(ids) :]:
            sequence.tokens.append(TokenSpan(token, decode(token), False, call.index))
        for i, token in enumerate(completion):
            logprob = logprobs[i] if logprobs is not None else None
            sequence.tokens.append(TokenSpan(token, decode(token), True, call.index, logprob))
        ids[:] = prompt + completion
    sequences = [sequence for _, sequence in built]
    if masks is not None:
        sequences = _with_masks(sequences, masks)
    return sequences


def _with_masks(
    sequences: list[TokenSequence], masks: Sequence[Sequence[bool]]
) -> list[TokenSequence]:
    if len(masks) != len(sequences) or any(
        len(m) != len(s.tokens) for m, s in zip(masks, sequences, strict=False)
    ):
        logger.warning("the loss masks do not line up with the episode's tokens; not shown")
        return sequences
    return [
        TokenSequence(
            calls=s.calls,
            tokens=[
                TokenSpan(t.id, t.text, t.sampled, t.call, t.logprob, bool(m))
                for t, m in zip(s.tokens, mask, strict=True)
            ],
        )
        for s, mask in zip(sequences, masks, strict=True)
    ]


def load_decoder(directory: str | Path) -> Decoder:
    """A decoder from a Hugging Face tokenizer folder (its ``tokenizer.json``), e.g. a model
    folder written by ``save_pretrained`` or by ``hone train``.

    Raises:
        ConfigError: the folder has no ``tokenizer.json``, or the ``tokenizers`` package
            (``pip install 'hone[train]'``) is missing.
    """
    path = Path(directory) / "tokenizer.json"
    if not path.is_file():
        raise ConfigError(f"no tokenizer at {directory}: {path.name} is missing")
    try:
        from tokenizers import Tokenizer
    except ImportError as exc:  # the `train` extra
        raise ConfigError(
            "showing token text needs the 'tokenizers' package: pip install 'hone[train]'"
        ) from exc
    tokenizer = Tokenizer.from_file(str(path))
    cache: dict[int, str] = {}

    def decode(token_id: int) -> str:
        if token_id not in cache:
            cache[token_id] = tokenizer.decode([token_id], skip_special_tokens=False)
        return cache[token_id]

    return decode
