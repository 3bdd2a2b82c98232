"""A deterministic model backend that plays back scripted replies, for tests and examples.

Each reply is a string (parsed by the model's parser, Hermes by default, so ``<tool_call>``
blocks become tool calls and ``<think>`` blocks become reasoning), a ready :class:`AssistantMessage`, or a callable
that receives the :class:`ChatRequest` and returns either. The model records every request it
receives in ``.requests``.

When asked for token ids or logprobs it makes them up in a simple, reproducible way: the UTF-8
bytes of a ChatML-style rendering of the prompt and of the reply text are the token ids, and every
sampled token has logprob 0.0. That is enough to drive training code in tests without a real
tokenizer.

A reply is checked against the request's ``response_format`` and ``tool_choice`` as a real
model's would be: a misfit is a parse error on the completion (phrased for the model), so
tests can drive the agent loop's recovery from it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from typing import Literal, TypeAlias

from hone.errors import ConfigError
from hone.messages import AssistantMessage, text_of
from hone.models._chat import ChatSurface
from hone.models._protocol import ChatRequest, Completion, StreamEvent, TokenLogprob, Usage
from hone.models._structured import output_format, reply_problems, tool_requirement
from hone.parsing import ParseFormat, Parser, resolve_parser

__all__ = ["Reply", "ScriptedModel"]

#: One scripted reply: raw model text, a ready message, or a function of the request.
Reply: TypeAlias = str | AssistantMessage | Callable[[ChatRequest], str | AssistantMessage]


class ScriptedModel(ChatSurface):
    """A :class:`~hone.models.ModelBackend` that answers with scripted replies, in order.

    Args:
        replies: the replies, played back one per call (see :data:`Reply`).
        name: the model name reported in completions.
        when_exhausted: ``"raise"`` (default) raises :class:`~hone.errors.ConfigError` once every
            reply is used; ``"cycle"`` starts again from the first reply.
        chunk_size: characters per delta when streaming.
        parser: How string replies are parsed: a name from :func:`hone.parsing.parser_names`
            or a :class:`~hone.parsing.Parser` function (default ``"hermes"``);
            :attr:`parser_name` says which.
    """

    def __init__(
        self,
        replies: Iterable[Reply],
        *,
        name: str = "scripted",
        when_exhausted: Literal["raise", "cycle"] = "raise",
        chunk_size: int = 4,
        parser: ParseFormat | Parser = "hermes",
    ) -> None:
        self._replies: list[Reply] = list(replies)
        if not self._replies:
            raise ConfigError("ScriptedModel needs at least one reply")
        if when_exhausted not in ("raise", "cycle"):
            raise ConfigError(f"when_exhausted must be 'raise' or 'cycle', got {when_exhausted!r}")
        if chunk_size < 1:
            raise ConfigError(f"chunk_size must be at least 1, got {chunk_size}")
        self._name = name
        self._when_exhausted = when_exhausted
        self._chunk_size = chunk_size
        self._parser_name, self._parser = resolve_parser(parser)
        self._next = 0
        #: Every request this model received, in order.
        self.requests: list[ChatRequest] = []

    @property
    def name(self) -> str:
        """The model name reported in completions."""
        return self._name

    @property
    def parser_name(self) -> str:
        """The name of the parser string replies go through."""
        return self._parser_name

    @property
    def calls(self) -> int:
        """How many requests this model has answered."""
        return len(self.requests)

    async def complete(self, request: ChatRequest) -> Completion:
        """Answer with the next scripted reply."""
        reply = self._take()
        self.requests.append(request)
        if callable(reply):
            reply = reply(request)
        return self._completion(request, reply)

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """Answer each request in order with the next scripted replies."""
        return [await self.complete(r) for r in requests]

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Yield the reply's reasoning and content in small chunks, then a ``done`` event."""
        completion = await self.complete(request)
        message = completion.message
        options = request.options

        def logprobs(piece: str) -> tuple[TokenLogprob, ...]:
            if not options.logprobs:
                return ()
            return _byte_logprobs(piece.encode(), options.top_logprobs)

        for piece in self._chunks(message.reasoning or ""):
            await asyncio.sleep(0)  # let other tasks run, as a real stream would
            yield StreamEvent(kind="reasoning", delta=piece, logprobs=logprobs(piece))
        for piece in self._chunks(message.text):
            await asyncio.sleep(0)
            yield StreamEvent(kind="text", delta=piece, logprobs=logprobs(piece))
        yield StreamEvent(kind="done", completion=completion)

    def _chunks(self, text: str) -> list[str]:
        size = self._chunk_size
        return [text[i : i + size] for i in range(0, len(text), size)]

    def _take(self) -> Reply:
        if self._next >= len(self._replies):
            if self._when_exhausted == "raise":
                raise ConfigError(
                    f"ScriptedModel {self._name!r} ran out of replies after "
                    f"{len(self._replies)} calls; script more replies or pass "
                    "when_exhausted='cycle'"
                )
            self._next = 0
        reply = self._replies[self._next]
        self._next += 1
        return reply

    def _completion(self, request: ChatRequest, reply: str | AssistantMessage) -> Completion:
        errors: tuple[str, ...] = ()
        if isinstance(reply, AssistantMessage):
            message, text = reply, _hermes_text(reply)
        elif isinstance(reply, str):
            parsed = self._parser(reply, tools=request.tools)
            message, text, errors = parsed.to_message(), reply, parsed.errors
        else:
            raise ConfigError(
                f"a scripted reply must be a str or an AssistantMessage, got {type(reply).__name__}"
            )
        errors += reply_problems(
            message,
            fmt=output_format(request.response_format),
            tools=tool_requirement(
                request.tool_choice, request.tools, parallel=request.parallel_tool_calls
            ),
        )
        prompt_ids = tuple(_chatml_prompt(request).encode())
        ids = tuple(text.encode())
        options = request.options
        return Completion(
            message=message,
            text=text,
            finish_reason="tool_calls" if message.tool_calls else "stop",
            usage=Usage(prompt_tokens=len(prompt_ids), completion_tokens=len(ids)),
            model=self._name,
            parse_errors=tuple(errors),
            prompt_token_ids=prompt_ids if options.return_token_ids else None,
            token_ids=ids if options.return_token_ids else None,
            logprobs=(0.0,) * len(ids) if options.logprobs else None,
            token_logprobs=_byte_logprobs(ids, options.top_logprobs) if options.logprobs else None,
        )


def _byte_logprobs(ids: Sequence[int], top: int | None) -> tuple[TokenLogprob, ...]:
    """Logprob entries for byte tokens: each byte is certain (logprob 0), its own top-1."""
    out = []
    for token in ids:
        text = bytes([token]).decode("utf-8", errors="replace")
        alternatives = (TokenLogprob(text, 0.0, token_id=token),) if top else ()
        out.append(TokenLogprob(text, 0.0, token_id=token, top=alternatives))
    return tuple(out)


def _chatml_prompt(request: ChatRequest) -> str:
    """A ChatML-style rendering of the request's messages, ending with an open assistant turn."""
    turns = [f"<|im_start|>{m.role}\n{text_of(m.content)}<|im_end|>\n" for m in request.messages]
    return "".join(turns) + "<|im_start|>assistant\n"


def _hermes_text(message: AssistantMessage) -> str:
    """The Hermes-format text a model would have produced for ``message``."""
    parts: list[str] = []
    if message.reasoning:
        parts.append(f"<think>\n{message.reasoning}\n</think>\n\n")
    parts.append(message.text)
    for call in message.tool_calls:
        payload = json.dumps({"name": call.name, "arguments": call.arguments}, ensure_ascii=False)
        parts.append(f"\n<tool_call>\n{payload}\n</tool_call>")
    return "".join(parts)
