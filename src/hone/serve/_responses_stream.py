"""Streamed Responses API replies: backend stream events as the documented SSE event sequence.

``response.created`` → ``response.in_progress`` → for each output item
``response.output_item.added`` … ``response.output_item.done`` → ``response.completed`` (or
``response.incomplete`` when the token limit cut the reply). Inside the items:

* reasoning: ``response.content_part.added``, ``response.reasoning_text.delta``…,
  ``response.reasoning_text.done``, ``response.content_part.done``;
* the message: ``response.content_part.added``, ``response.output_text.delta``… (with the
  tokens' logprobs when asked for), ``response.output_text.done``,
  ``response.content_part.done``;
* each function call, once the reply is parsed: ``response.function_call_arguments.delta``
  and ``response.function_call_arguments.done``.

Every event carries a ``sequence_number``. A backend failure after the first event becomes
an ``error`` event (the HTTP status is already sent).
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from hone.errors import HoneError
from hone.models._protocol import Completion, StreamEvent, TokenLogprob
from hone.serve._errors import model_error
from hone.serve._responses import logprob_entries
from hone.serve._responses_api import (
    OutputIds,
    ResponsesBody,
    call_item,
    message_item,
    output_items,
    reasoning_item,
    response_json,
    text_part,
)
from hone.serve._stream import VisibleText

__all__ = ["ResponseEvents"]


class ResponseEvents:
    """Writes one response's SSE events, numbering them and tracking the open output item."""

    def __init__(
        self,
        body: ResponsesBody,
        ids: OutputIds,
        *,
        model: str,
        on_done: Callable[[Completion], None] | None = None,
    ) -> None:
        self._body, self._ids, self._model = body, ids, model
        self._on_done = on_done
        self._created = int(time.time())
        self._sequence = 0
        self._output: list[dict[str, Any]] = []  # items finished so far
        self._open: str | None = None  # "reasoning" | "message" | None
        self._text = ""  # of the open item
        self._visible = VisibleText()
        self._logprobs: list[TokenLogprob] = []  # pending: not yet on a text delta
        self._sent_logprobs: list[TokenLogprob] = []

    async def lines(
        self, first: StreamEvent, events: AsyncIterator[StreamEvent]
    ) -> AsyncIterator[str]:
        """The SSE lines for a stream whose first event is ``first``."""
        yield self._event("response.created", response=self._response(None))
        yield self._event("response.in_progress", response=self._response(None))
        event: StreamEvent | None = first
        try:
            while event is not None:
                for line in self._feed(event):
                    yield line
                if event.kind == "done":
                    break
                event = await anext(events, None)
        except HoneError as exc:
            error = model_error(exc)
            yield self._event("error", code=error.code, message=error.message, param=error.param)

    def _feed(self, event: StreamEvent) -> list[str]:
        if event.kind == "reasoning":
            # Reasoning deltas carry no logprobs in this API; the text's own come with it.
            self._logprobs.clear()
            if event.delta:
                return [*self._enter("reasoning"), self._reasoning_delta(event.delta)]
            return []
        self._logprobs.extend(event.logprobs)
        if event.kind == "text" and (text := self._visible.push(event.delta)):
            return [*self._enter("message"), self._text_delta(text)]
        if event.kind == "done" and event.completion is not None:
            return self._finish(event.completion)
        return []

    def _enter(self, kind: str) -> list[str]:
        if self._open == kind:
            return []
        lines = self._close()
        self._open, self._text = kind, ""
        index = len(self._output)
        if kind == "reasoning":
            item = reasoning_item(self._ids, "", status="in_progress")
            item["content"] = []
            part: dict[str, Any] = {"type": "reasoning_text", "text": ""}
            item_id = self._ids.reasoning
        else:
            item = message_item(self._ids, [], status="in_progress")
            part = text_part("", [] if self._body.wants_logprobs else None)
            item_id = self._ids.message
        lines.append(self._event("response.output_item.added", output_index=index, item=item))
        lines.append(
            self._event(
                "response.content_part.added",
                item_id=item_id,
                output_index=index,
                content_index=0,
                part=part,
            )
        )
        return lines

    def _reasoning_delta(self, delta: str) -> str:
        self._text += delta
        return self._event(
            "response.reasoning_text.delta",
            item_id=self._ids.reasoning,
            output_index=len(self._output),
            content_index=0,
            delta=delta,
        )

    def _text_delta(self, delta: str) -> str:
        self._text += delta
        logprobs = self._take_logprobs()
        return self._event(
            "response.output_text.delta",
            item_id=self._ids.message,
            output_index=len(self._output),
            content_index=0,
            delta=delta,
            logprobs=logprob_entries(logprobs) if self._body.wants_logprobs else [],
        )

    def _take_logprobs(self) -> list[TokenLogprob]:
        taken, self._logprobs = self._logprobs, []
        self._sent_logprobs.extend(taken)
        return taken

    def _close(self) -> list[str]:
        """Events that finish the open item (if any)."""
        if self._open is None:
            return []
        index, text = len(self._output), self._text
        lines: list[str] = []
        if self._open == "reasoning":
            item = reasoning_item(self._ids, text)
            part: dict[str, Any] = {"type": "reasoning_text", "text": text}
            item_id = self._ids.reasoning
            lines.append(
                self._event(
                    "response.reasoning_text.done",
                    item_id=item_id,
                    output_index=index,
                    content_index=0,
                    text=text,
                )
            )
        else:
            entries = logprob_entries(self._sent_logprobs) if self._body.wants_logprobs else None
            part = text_part(text, entries)
            item = message_item(self._ids, [part])
            item_id = self._ids.message
            lines.append(
                self._event(
                    "response.output_text.done",
                    item_id=item_id,
                    output_index=index,
                    content_index=0,
                    text=text,
                    logprobs=entries or [],
                )
            )
        lines.append(
            self._event(
                "response.content_part.done",
                item_id=item_id,
                output_index=index,
                content_index=0,
                part=part,
            )
        )
        lines.append(self._event("response.output_item.done", output_index=index, item=item))
        self._output.append(item)
        self._open = None
        return lines

    def _finish(self, completion: Completion) -> list[str]:
        message = completion.message
        lines: list[str] = []
        if rest := self._visible.rest(message.text):
            lines += [*self._enter("message"), self._text_delta(rest)]
        if self._open is None and not self._output and not message.tool_calls:
            lines += self._enter("message")  # an empty reply is still a message
        lines += self._close()
        for call in message.tool_calls:
            lines += self._call_events(call.id, call.name, call.arguments_json())
        # The final object is built from the parsed completion, with the streamed item ids.
        final = output_items(completion, self._ids, logprobs=self._body.wants_logprobs)
        kind = (
            "response.incomplete" if completion.finish_reason == "length" else "response.completed"
        )
        lines.append(self._event(kind, response=self._response(completion, final)))
        if self._on_done is not None:
            self._on_done(completion)
        return lines

    def _call_events(self, call_id: str, name: str, arguments: str) -> list[str]:
        index = len(self._output)
        item = call_item(call_id, name, arguments)
        added = {**item, "arguments": "", "status": "in_progress"}
        self._output.append(item)
        return [
            self._event("response.output_item.added", output_index=index, item=added),
            self._event(
                "response.function_call_arguments.delta",
                item_id=item["id"],
                output_index=index,
                delta=arguments,
            ),
            self._event(
                "response.function_call_arguments.done",
                item_id=item["id"],
                output_index=index,
                name=name,
                arguments=arguments,
            ),
            self._event("response.output_item.done", output_index=index, item=item),
        ]

    def _response(
        self, completion: Completion | None, output: list[dict[str, Any]] | None = None
    ) -> dict[str, Any]:
        return response_json(
            self._body,
            self._ids,
            model=self._model,
            created=self._created,
            output=output if output is not None else [],
            completion=completion,
        )

    def _event(self, kind: str, **fields: Any) -> str:
        body = {"type": kind, "sequence_number": self._sequence, **fields}
        self._sequence += 1
        return f"event: {kind}\ndata: {json.dumps(body, ensure_ascii=False)}\n\n"
