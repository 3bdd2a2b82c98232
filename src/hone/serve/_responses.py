"""OpenAI-shaped JSON for completions, stream chunks and errors."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hone.messages import AssistantMessage, text_of
from hone.models._protocol import Completion

__all__ = ["ChunkWriter", "completion_json", "error_json", "message_json", "tool_calls_json"]


def error_json(message: str, *, type_: str, code: str | None = None) -> dict[str, Any]:
    """The body of an OpenAI error response."""
    return {"error": {"message": message, "type": type_, "param": None, "code": code}}


def tool_calls_json(message: AssistantMessage) -> list[dict[str, Any]]:
    """The message's tool calls in OpenAI format."""
    return [
        {
            "id": call.id,
            "type": "function",
            "function": {"name": call.name, "arguments": call.arguments_json()},
        }
        for call in message.tool_calls
    ]


def message_json(message: AssistantMessage) -> dict[str, Any]:
    """The ``message`` of a choice: content, ``reasoning_content`` and ``tool_calls``."""
    text = text_of(message.content)
    out: dict[str, Any] = {
        "role": "assistant",
        "content": text if text or not message.tool_calls else None,
    }
    if message.reasoning is not None:
        out["reasoning_content"] = message.reasoning
    if message.tool_calls:
        out["tool_calls"] = tool_calls_json(message)
    return out


def logprobs_json(completion: Completion) -> dict[str, Any] | None:
    """Per-token logprobs; tokens are named ``token_id:<id>`` as vLLM does, or ``""``."""
    if completion.logprobs is None:
        return None
    ids = completion.token_ids or ()
    entries = []
    for i, logprob in enumerate(completion.logprobs):
        token = f"token_id:{ids[i]}" if i < len(ids) else ""
        entries.append({"token": token, "logprob": logprob, "bytes": None, "top_logprobs": []})
    return {"content": entries}


def _usage_json(completions: Sequence[Completion]) -> dict[str, int]:
    # The prompt is counted once for n > 1, as OpenAI does.
    prompt = completions[0].usage.prompt_tokens if completions else 0
    sampled = sum(c.usage.completion_tokens for c in completions)
    return {"prompt_tokens": prompt, "completion_tokens": sampled, "total_tokens": prompt + sampled}


def completion_json(
    completions: Sequence[Completion],
    *,
    id_: str,
    created: int,
    model: str,
    logprobs: bool,
    token_ids: bool,
) -> dict[str, Any]:
    """A ``chat.completion`` object with one choice per completion."""
    choices = []
    for index, completion in enumerate(completions):
        choice: dict[str, Any] = {
            "index": index,
            "message": message_json(completion.message),
            "finish_reason": completion.finish_reason,
            "logprobs": logprobs_json(completion) if logprobs else None,
        }
        if token_ids:
            choice["token_ids"] = list(completion.token_ids or ())
        choices.append(choice)
    body: dict[str, Any] = {
        "id": id_,
        "object": "chat.completion",
        "created": created,
        "model": model,
        "choices": choices,
        "usage": _usage_json(completions),
    }
    if token_ids and completions:
        body["prompt_token_ids"] = list(completions[0].prompt_token_ids or ())
    return body


class ChunkWriter:
    """Builds the ``data: ...`` lines of one streamed ``chat.completion.chunk`` sequence."""

    def __init__(self, *, id_: str, created: int, model: str) -> None:
        self._head = {
            "id": id_,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
        }

    def delta(self, delta: dict[str, Any]) -> str:
        """One chunk whose single choice carries ``delta``."""
        return sse(self._chunk(delta, finish_reason=None))

    def final(self, completion: Completion, *, logprobs: bool, token_ids: bool) -> str:
        """The last choice chunk: tool calls, finish reason, logprobs and token ids."""
        delta: dict[str, Any] = {}
        if completion.message.tool_calls:
            calls = tool_calls_json(completion.message)
            delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(calls)]
        body = self._chunk(
            delta,
            finish_reason=completion.finish_reason,
            logprobs=logprobs_json(completion) if logprobs else None,
        )
        if token_ids:
            body["choices"][0]["token_ids"] = list(completion.token_ids or ())
            # vLLM puts the prompt ids on a chunk's top level; here they ride on the last one.
            body["prompt_token_ids"] = list(completion.prompt_token_ids or ())
        return sse(body)

    def _chunk(self, delta: dict[str, Any], **choice: Any) -> dict[str, Any]:
        return {**self._head, "choices": [{"index": 0, "delta": delta, **choice}]}

    def usage(self, completion: Completion) -> str:
        """The trailing usage chunk (``stream_options.include_usage``)."""
        return sse({**self._head, "choices": [], "usage": _usage_json([completion])})


def sse(body: dict[str, Any]) -> str:
    """One server-sent event carrying ``body`` as JSON."""
    return f"data: {json.dumps(body, ensure_ascii=False)}\n\n"
