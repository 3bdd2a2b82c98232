"""OpenAI-shaped JSON for completions, stream chunks and errors."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from hone.messages import AssistantMessage, text_of
from hone.models._protocol import Completion, TokenLogprob

__all__ = [
    "ChunkWriter",
    "completion_json",
    "error_json",
    "logprob_entries",
    "message_json",
    "tool_calls_json",
]


def error_json(
    message: str, *, type_: str, code: str | None = None, param: str | None = None
) -> dict[str, Any]:
    """The body of an OpenAI error response."""
    return {"error": {"message": message, "type": type_, "param": param, "code": code}}


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


def _token_name(entry: TokenLogprob, as_ids: bool) -> str:
    if as_ids and entry.token_id is not None:
        return f"token_id:{entry.token_id}"
    return entry.token


def logprob_entries(
    entries: Sequence[TokenLogprob], *, as_ids: bool = False
) -> list[dict[str, Any]]:
    """OpenAI ``ChatCompletionTokenLogprob`` objects (token text, bytes, top alternatives).

    ``as_ids`` names tokens ``token_id:<id>`` (vLLM's ``return_tokens_as_token_ids``).
    """
    out = []
    for entry in entries:
        name = _token_name(entry, as_ids)
        top = [
            {
                "token": (n := _token_name(t, as_ids)),
                "logprob": t.logprob,
                "bytes": list(n.encode()),
            }
            for t in entry.top
        ]
        out.append(
            {
                "token": name,
                "logprob": entry.logprob,
                "bytes": list(name.encode()),
                "top_logprobs": top,
            }
        )
    return out


def logprobs_json(completion: Completion, *, as_ids: bool = False) -> dict[str, Any] | None:
    """The ``logprobs`` of a choice. A backend that gives only floats gets tokens named by
    id (``token_id:<id>``, as vLLM does) or ``""``."""
    if completion.token_logprobs is not None:
        return {"content": logprob_entries(completion.token_logprobs, as_ids=as_ids)}
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
    tokens_as_ids: bool = False,
) -> dict[str, Any]:
    """A ``chat.completion`` object with one choice per completion."""
    choices = []
    for index, completion in enumerate(completions):
        choice: dict[str, Any] = {
            "index": index,
            "message": message_json(completion.message),
            "finish_reason": completion.finish_reason,
            "logprobs": logprobs_json(completion, as_ids=tokens_as_ids) if logprobs else None,
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
    """Builds the ``data: ...`` lines of one streamed ``chat.completion.chunk`` sequence.

    With logprobs, each chunk carries the entries of the tokens it was decoded from; the
    final chunk carries those no earlier chunk did (tags, tool-call markup, end of turn), so
    all chunks together hold every sampled token once.
    """

    def __init__(
        self, *, id_: str, created: int, model: str, logprobs: bool = False, as_ids: bool = False
    ) -> None:
        self._head = {
            "id": id_,
            "object": "chat.completion.chunk",
            "created": created,
            "model": model,
        }
        self._logprobs, self._as_ids = logprobs, as_ids
        self._sent = 0  # logprob entries sent so far

    def delta(self, delta: dict[str, Any], logprobs: Sequence[TokenLogprob] = ()) -> str:
        """One chunk whose single choice carries ``delta`` (and its tokens' logprobs)."""
        entry = None
        if self._logprobs:
            self._sent += len(logprobs)
            entry = {"content": logprob_entries(logprobs, as_ids=self._as_ids)}
        return sse(self._chunk(delta, finish_reason=None, logprobs=entry))

    def final(self, completion: Completion, *, token_ids: bool) -> str:
        """The last choice chunk: tool calls, finish reason, the remaining logprobs, ids."""
        delta: dict[str, Any] = {}
        if completion.message.tool_calls:
            calls = tool_calls_json(completion.message)
            delta["tool_calls"] = [{"index": i, **call} for i, call in enumerate(calls)]
        entry = None
        if self._logprobs:
            whole = logprobs_json(completion, as_ids=self._as_ids) or {"content": []}
            entry = {"content": whole["content"][self._sent :]}
        body = self._chunk(delta, finish_reason=completion.finish_reason, logprobs=entry)
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
