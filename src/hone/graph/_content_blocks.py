"""A hone model's streamed reply as LangChain's content-block events.

Event streaming (``stream_events(version="v3")``) shows each model reply as a
``ChatModelStream`` fed by the content-block protocol LangChain chat models speak:
``message-start``, then per block ``content-block-start`` / ``content-block-delta`` /
``content-block-finish``, then ``message-finish``. LangChain's models emit those events
themselves; :class:`BlockEvents` renders a hone backend's stream the same way, so a hone
model's tokens reach ``run.messages`` as they are generated: text and reasoning deltas as
they come, tool calls (parsed once the reply is complete) and the usage at the end. Plain
dicts: nothing here imports LangChain.
"""

from __future__ import annotations

from typing import Any, Literal

from hone.models import Completion

__all__ = ["BlockEvents"]

_FIELD = {"text": "text", "reasoning": "reasoning"}


class BlockEvents:
    """The events of one reply, built as its deltas arrive (one instance per model call)."""

    def __init__(self, message_id: str) -> None:
        self.message_id = message_id
        self._started = False
        # kind -> (wire index, accumulated text) of the open text/reasoning blocks
        self._blocks: dict[str, tuple[int, str]] = {}

    def _start(self) -> list[dict[str, Any]]:
        if self._started:
            return []
        self._started = True
        return [{"event": "message-start", "role": "ai", "id": self.message_id}]

    def delta(self, kind: Literal["text", "reasoning"], text: str) -> list[dict[str, Any]]:
        """The events of one text or reasoning delta."""
        events = self._start()
        field = _FIELD[kind]
        if kind not in self._blocks:
            index = len(self._blocks)
            self._blocks[kind] = (index, "")
            events.append(
                {
                    "event": "content-block-start",
                    "index": index,
                    "content": {"type": kind, field: ""},
                }
            )
        index, so_far = self._blocks[kind]
        self._blocks[kind] = (index, so_far + text)
        events.append(
            {
                "event": "content-block-delta",
                "index": index,
                "delta": {"type": f"{kind}-delta", field: text},
            }
        )
        return events

    def finish(self, completion: Completion) -> list[dict[str, Any]]:
        """The closing events: each open block, the reply's tool calls, ``message-finish``."""
        events = self._start()
        for kind, (index, text) in self._blocks.items():
            events.append(
                {
                    "event": "content-block-finish",
                    "index": index,
                    "content": {"type": kind, _FIELD[kind]: text},
                }
            )
        index = len(self._blocks)
        for call in completion.message.tool_calls:
            block = {
                "type": "tool_call",
                "id": call.id,
                "name": call.name,
                "args": dict(call.arguments),
            }
            events.append(
                {"event": "content-block-start", "index": index, "content": {**block, "args": {}}}
            )
            events.append({"event": "content-block-finish", "index": index, "content": block})
            index += 1
        finish: dict[str, Any] = {
            "event": "message-finish",
            "metadata": {"finish_reason": completion.finish_reason, "model_name": completion.model},
        }
        usage = completion.usage
        if usage.prompt_tokens or usage.completion_tokens:
            finish["usage"] = {
                "input_tokens": usage.prompt_tokens,
                "output_tokens": usage.completion_tokens,
                "total_tokens": usage.total_tokens,
            }
        events.append(finish)
        return events
