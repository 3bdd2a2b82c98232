"""Streaming for :class:`~hone.models.TransformersModel`: sampled tokens become text and
reasoning deltas, each carrying the logprob entries of the tokens it was decoded from."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

from hone.models._protocol import StreamEvent, TokenLogprob
from hone.models._transformers_loop import SampledToken, SpecialIds

__all__ = ["DeltaDecoder", "LogprobMaker", "StreamStart"]


@dataclass(frozen=True, slots=True)
class StreamStart:
    """The stream's first item: whether the prompt left the model inside ``<think>``."""

    in_think: bool


#: Makes a token's OpenAI-shaped logprob entry from (id, raw logprob, top alternatives).
LogprobMaker = Callable[[int, float, Sequence[tuple[int, float]]], TokenLogprob]


class DeltaDecoder:
    """Turns streamed tokens into reasoning/text deltas (tags themselves are not shown).

    Tool calls are not text: from a ``<tool_call>`` token on (when the tokenizer has it as one
    token) nothing more is shown, and the calls arrive parsed in the ``done`` completion, as
    from an OpenAI server. With ``logprobs``, each delta carries the entries of the tokens read
    since the last one (tags and other unshown tokens ride on the next delta; the last ones
    only on ``done``).
    """

    def __init__(
        self,
        decode: Callable[[list[int]], str],
        ids: SpecialIds,
        in_think: bool,
        logprobs: LogprobMaker | None = None,
        call_open: int | None = None,
    ) -> None:
        self._decode, self._ids, self._in_think = decode, ids, in_think
        self._make = logprobs
        self._call_open = call_open
        self._in_calls = False
        self._pending: list[TokenLogprob] = []
        self._segment: list[int] = []
        self._emitted = 0

    def push(self, sampled: SampledToken) -> StreamEvent | None:
        token = sampled.token
        if self._make is not None:
            self._pending.append(self._make(token, sampled.logprob, sampled.top))
        if token == self._call_open and not self._in_think:
            self._in_calls = True
        if self._in_calls:
            return None
        if token in (self._ids.think_open, self._ids.think_close):
            self._in_think = token == self._ids.think_open
            self._segment, self._emitted = [], 0
            return None
        if token in self._ids.end_of_turn or token == self._ids.pad:
            return None
        self._segment.append(token)
        text = self._decode(self._segment)
        if text.endswith("\ufffd"):  # an unfinished UTF-8 character: wait for its other bytes
            return None
        return self._emit(text)

    def flush(self) -> StreamEvent | None:
        """The text still held back when the generation ends (a character cut off by the
        token limit decodes to U+FFFD, as in the completion's text)."""
        if self._in_calls or not self._segment:
            return None
        return self._emit(self._decode(self._segment))

    def _emit(self, text: str) -> StreamEvent | None:
        delta, self._emitted = text[self._emitted :], len(text)
        if not delta:
            return None
        logprobs, self._pending = tuple(self._pending), []
        kind: Literal["text", "reasoning"] = "reasoning" if self._in_think else "text"
        return StreamEvent(kind=kind, delta=delta, logprobs=logprobs)
