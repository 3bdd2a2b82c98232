"""Streamed chat completions: backend stream events as ``chat.completion.chunk`` SSE lines."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

from fastapi.responses import StreamingResponse

from hone.errors import HoneError
from hone.messages import new_id
from hone.models._protocol import ChatRequest, ModelBackend, StreamEvent, TokenLogprob
from hone.serve._errors import APIError, model_error
from hone.serve._responses import ChunkWriter, sse
from hone.serve._schema import ChatCompletionBody

__all__ = ["VisibleText", "stream_response"]

_TAG = "<tool_call>"


class VisibleText:
    """Filters streamed text deltas down to what the client should see as ``content``.

    A local backend streams raw model text, tool-call markup included; the calls reach the
    client as ``tool_calls`` in the final chunk instead. So text stops at the first
    ``<tool_call>``, and a trailing piece that may be the start of that tag is held back
    until the next delta shows what it is.
    """

    def __init__(self) -> None:
        self._seen = ""
        self._emitted = 0
        self._blocked = False

    def push(self, delta: str) -> str:
        """Take one text delta; return the part that may be shown now."""
        self._seen += delta
        if self._blocked:
            return ""
        cut = self._seen.find(_TAG, max(0, self._emitted - len(_TAG)))
        if cut >= 0:
            self._blocked = True
        else:
            cut = len(self._seen) - _partial_tag_length(self._seen)
        out = self._seen[self._emitted : cut]
        self._emitted += len(out)
        return out

    def rest(self, final_text: str) -> str:
        """What of the parsed final content has not been shown yet (when it extends it)."""
        shown = self._seen[: self._emitted]
        return final_text[len(shown) :] if final_text.startswith(shown) else ""


def _partial_tag_length(text: str) -> int:
    """Length of the longest suffix of ``text`` that is a proper prefix of the tool-call tag."""
    for size in range(min(len(_TAG) - 1, len(text)), 0, -1):
        if text.endswith(_TAG[:size]):
            return size
    return 0


async def stream_response(
    model: ModelBackend, request: ChatRequest, body: ChatCompletionBody, model_name: str
) -> StreamingResponse:
    """The SSE response for a ``stream=true`` request.

    Raises:
        APIError: ``n`` > 1, or the backend failed before its first event.
    """
    if body.n != 1:
        raise APIError(
            400, "stream=true supports only n=1", type_="invalid_request_error", code="n"
        )
    events = aiter(model.stream(request))
    # Wait for the first event before answering, so early failures get a proper status code.
    try:
        first = await anext(events)
    except HoneError as exc:
        raise model_error(exc) from exc
    writer = ChunkWriter(
        id_=new_id("chatcmpl-"),
        created=int(time.time()),
        model=model_name,
        logprobs=body.logprobs,
        as_ids=body.return_tokens_as_token_ids,
    )
    lines = _sse_lines(first, events, writer, body)
    return StreamingResponse(lines, media_type="text/event-stream")


async def _sse_lines(
    first: StreamEvent,
    events: AsyncIterator[StreamEvent],
    writer: ChunkWriter,
    body: ChatCompletionBody,
) -> AsyncIterator[str]:
    include_usage = body.stream_options is not None and body.stream_options.include_usage
    visible = VisibleText()
    yield writer.delta({"role": "assistant", "content": ""})
    event: StreamEvent | None = first
    # Logprobs of tokens whose text is not shown yet (held back, or markup) wait here and
    # ride on the next chunk; what is left at the end goes on the final chunk.
    pending: list[TokenLogprob] = []
    try:
        while event is not None:
            pending.extend(event.logprobs)
            if event.kind == "text" and (text := visible.push(event.delta)):
                yield writer.delta({"content": text}, pending)
                pending = []
            elif event.kind == "reasoning" and event.delta:
                yield writer.delta({"reasoning_content": event.delta}, pending)
                pending = []
            elif event.kind == "done" and event.completion is not None:
                done = event.completion
                if rest := visible.rest(done.message.text):
                    yield writer.delta({"content": rest})
                yield writer.final(done, token_ids=body.return_token_ids)
                if include_usage:
                    yield writer.usage(done)
                break
            event = await anext(events, None)
    except HoneError as exc:
        # Headers are gone; the OpenAI SDK raises on an event that carries "error".
        yield sse(model_error(exc).json())
    yield "data: [DONE]\n\n"
