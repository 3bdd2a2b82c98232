"""Teacher forcing: scripted text decoded through a real model, token by token.

A :class:`Teacher` writes a thread's text piece by piece (it sees the tool results the
runtime wrote so far); the runtimes feed its tokens to the model instead of sampled ones and
record the model's logprobs of them. :class:`ForcedTokens` is the same idea as a
per-row constraint of the backend's token loop: it allows exactly the next scripted token,
then only an end-of-turn token; :class:`TeacherForcedModel` uses it to run any scripted
backend's replies through a local model (the flat baseline's scripted teacher).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import TYPE_CHECKING, Protocol

from hone import _compute
from hone.models._chat import ChatSurface
from hone.models._protocol import ChatRequest, Completion, ModelBackend, StreamEvent

if TYPE_CHECKING:
    import torch

    from hone.models._grammar import TokenConstraint
    from hone.models._transformers import TransformersModel

__all__ = ["ForcedTokens", "Teacher", "TeacherForcedModel"]


class Teacher(Protocol):
    """Writes threads for teacher forcing."""

    def continuation(self, index: int, text: str) -> str:
        """The next piece of thread ``index`` (the position of its task in the batch) after
        ``text`` (the whole thread so far, tool results included): everything up to and
        including the closing brace of the next tool use's parameters, or the rest of the
        thread. An empty piece while the thread is unfinished is a teacher bug."""
        ...


class ForcedTokens:
    """A :class:`~hone.models._grammar.TokenConstraint` that allows exactly ``tokens`` in
    order, then only the end-of-turn ids."""

    def __init__(self, tokens: Sequence[int], end_of_turn: Sequence[int]) -> None:
        self._tokens, self._ends, self._at = list(tokens), sorted(end_of_turn), 0

    def fill_bitmask(self, out: torch.Tensor) -> None:
        """Allow only the next scripted token (or the ends once the script is done)."""
        out.zero_()
        allowed = [self._tokens[self._at]] if self._at < len(self._tokens) else self._ends
        for token in allowed:
            word, bit = divmod(token, 32)
            if word < out.shape[0]:
                value = int(out[word]) | (1 << bit)
                out[word] = value - (1 << 32) if value >= 1 << 31 else value

    def accept(self, token: int) -> bool:
        """Advance past the scripted token."""
        if self._at < len(self._tokens):
            ok = token == self._tokens[self._at]
            self._at += 1
            return ok
        return token in self._ends


class TeacherForcedModel(ChatSurface):
    """A model backend that answers with ``teacher``'s replies, decoded token by token
    through the local ``model`` (same prompts, same KV reuse, same cost as sampling; the
    completion carries the local model's ids and logprobs of the teacher's tokens).

    Args:
        model: the local model that encodes prompts and decodes the replies.
        teacher: any backend whose reply text is forced (a ``ScriptedModel`` usually).
    """

    def __init__(self, model: TransformersModel, teacher: ModelBackend) -> None:
        self.model, self.teacher = model, teacher

    @property
    def name(self) -> str:
        """The local model's name."""
        return self.model.name

    async def complete(self, request: ChatRequest) -> Completion:
        """The teacher's reply to one request, forced through the local model."""
        return (await self.complete_batch([request]))[0]

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """The teacher's replies, forced through the local model in one batch."""
        replies = await self.teacher.complete_batch(requests)
        ends = sorted(self.model.special_ids.end_of_turn)
        tokenizer = self.model.tokenizer
        constraints: list[TokenConstraint | None] = []
        for reply in replies:
            ids = tokenizer(reply.text, add_special_tokens=False)["input_ids"]
            constraints.append(ForcedTokens([int(i) for i in ids], ends))
        return await _compute.acall(self.model.generate, requests, constraints=constraints)

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """The forced completion as one ``done`` event."""
        yield StreamEvent(kind="done", completion=await self.complete(request))
