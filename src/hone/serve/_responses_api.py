"""The Responses API (``POST /v1/responses``): the request body, the ChatRequest it becomes,
the response object, and the in-memory store behind ``previous_response_id``.

The Responses API is the default path of the OpenAI Agents SDK. Its request differs from a
chat completion in shape, not in substance: ``input`` is a string or a list of items
(messages, ``function_call``, ``function_call_output``, ``reasoning``), ``instructions`` is the
system prompt, function tools are flat (``{"type": "function", "name", "parameters"}``) and
the reply format is ``text.format``. Everything is translated once into a
:class:`~hone.models.ChatRequest`, so every backend serves it unchanged.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from hone.messages import AnyMessage, AssistantMessage, SystemMessage, from_openai, new_id
from hone.models._protocol import ChatRequest, Completion, SamplingOptions, ToolChoice
from hone.serve._responses import logprob_entries
from hone.serve._schema import FieldError, check_structured

__all__ = [
    "LOGPROBS_INCLUDE",
    "OutputIds",
    "ResponseStore",
    "ResponsesBody",
    "output_items",
    "response_json",
]

#: The ``include`` value that asks for the logprobs of the output text.
LOGPROBS_INCLUDE = "message.output_text.logprobs"


class ResponsesBody(BaseModel):
    """A ``POST /v1/responses`` request. Unknown fields are ignored."""

    model_config = ConfigDict(extra="allow")

    model: str
    input: str | list[dict[str, Any]]
    instructions: str | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    parallel_tool_calls: bool | None = None
    text: dict[str, Any] | None = None
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    max_output_tokens: int | None = Field(default=None, ge=1)
    top_logprobs: int | None = Field(default=None, ge=0, le=20)
    include: list[str] | None = None
    stream: bool = False
    store: bool = True
    previous_response_id: str | None = None
    metadata: dict[str, str] | None = None
    reasoning: dict[str, Any] | None = None

    @property
    def wants_logprobs(self) -> bool:
        """Whether ``include`` asks for the output text's logprobs."""
        return LOGPROBS_INCLUDE in (self.include or ())

    def chat_request(self, history: Sequence[AnyMessage] = ()) -> ChatRequest:
        """The :class:`ChatRequest` this body asks for, after ``history`` (the conversation
        of ``previous_response_id``).

        Raises:
            FieldError: a field is malformed or unsupported; ``param`` names it.
        """
        messages: list[AnyMessage] = []
        if self.instructions:
            messages.append(SystemMessage(content=self.instructions))
        messages.extend(history)
        messages.extend(input_messages(self.input))
        if not messages:
            raise FieldError("input", "input must hold at least one message")
        defaults = SamplingOptions()
        options = SamplingOptions(
            max_tokens=self.max_output_tokens or defaults.max_tokens,
            temperature=defaults.temperature if self.temperature is None else self.temperature,
            top_p=defaults.top_p if self.top_p is None else self.top_p,
            logprobs=self.wants_logprobs,
            top_logprobs=(self.top_logprobs or None) if self.wants_logprobs else None,
        )
        request = ChatRequest(
            messages=tuple(messages),
            tools=tuple(_chat_tool(t, i) for i, t in enumerate(self.tools or ())),
            options=options,
            tool_choice=_chat_tool_choice(self.tool_choice),
            parallel_tool_calls=self.parallel_tool_calls is not False,
            response_format=_chat_format(self.text),
        )
        check_structured(request, format_param="text.format")
        return request


def input_messages(value: str | Sequence[Mapping[str, Any]]) -> list[AnyMessage]:
    """The messages of a Responses ``input``: a string (one user turn) or a list of items.

    Consecutive assistant items (text, reasoning, function calls) merge into one assistant
    message, as a chat model sees its own turn.

    Raises:
        FieldError: an item is malformed or of an unsupported type; ``param`` names it.
    """
    if isinstance(value, str):
        return [from_openai({"role": "user", "content": value})]
    out: list[AnyMessage] = []
    turn: dict[str, Any] | None = None  # the assistant turn being gathered

    def close_turn() -> None:
        nonlocal turn
        if turn is not None:
            out.append(from_openai(turn))
            turn = None

    for i, item in enumerate(value):
        where = f"input[{i}]"
        kind = item.get("type", "message")
        try:
            if kind == "message" and item.get("role") == "assistant":
                turn = turn or {"role": "assistant", "content": ""}
                turn["content"] += _text(item.get("content"), where)
            elif kind == "message":
                close_turn()
                out.append(_message(item, where))
            elif kind == "function_call":
                turn = turn or {"role": "assistant", "content": ""}
                call = {"name": item["name"], "arguments": item.get("arguments", "{}")}
                turn.setdefault("tool_calls", []).append(
                    {"id": item["call_id"], "type": "function", "function": call}
                )
            elif kind == "function_call_output":
                close_turn()
                output = item["output"]
                content = output if isinstance(output, str) else _text(output, where)
                out.append(
                    from_openai(
                        {"role": "tool", "tool_call_id": item["call_id"], "content": content}
                    )
                )
            elif kind == "reasoning":
                turn = turn or {"role": "assistant", "content": ""}
                parts = item.get("content") or item.get("summary") or []
                turn["reasoning_content"] = "".join(str(p.get("text", "")) for p in parts)
            else:
                raise FieldError(
                    f"{where}.type",
                    f"{where}.type {kind!r} is not supported; use message, function_call, "
                    "function_call_output or reasoning items",
                )
        except KeyError as exc:
            raise FieldError(where, f"{where} ({kind}) has no {exc.args[0]!r}") from exc
        except ValueError as exc:
            if isinstance(exc, FieldError):
                raise
            raise FieldError(where, f"{where}: {exc}") from exc
    close_turn()
    return out


def _message(item: Mapping[str, Any], where: str) -> AnyMessage:
    role = item.get("role")
    if role == "developer":
        role = "system"
    if role not in ("user", "system"):
        raise FieldError(
            f"{where}.role", f"{where}.role must be user, system, developer or assistant"
        )
    content = item.get("content")
    if isinstance(content, str):
        return from_openai({"role": role, "content": content})
    parts = []
    for part in content or ():
        kind = part.get("type")
        if kind in ("input_text", "output_text", "text"):
            parts.append({"type": "text", "text": part.get("text", "")})
        elif kind == "input_image" and isinstance(part.get("image_url"), str):
            parts.append({"type": "image_url", "image_url": {"url": part["image_url"]}})
        else:
            raise FieldError(f"{where}.content", f"{where}.content: unsupported part {kind!r}")
    return from_openai({"role": role, "content": parts})


def _text(content: Any, where: str) -> str:
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        raise FieldError(f"{where}.content", f"{where}.content must be a string or a list")
    return "".join(str(p.get("text", "")) for p in content if isinstance(p, Mapping))


def _chat_tool(tool: Mapping[str, Any], index: int) -> dict[str, Any]:
    if tool.get("type") != "function":
        raise FieldError(
            f"tools[{index}].type",
            f"tools[{index}].type {tool.get('type')!r} is not supported; only function tools are",
        )
    if "function" in tool:  # already in chat-completions shape
        return dict(tool)
    if not isinstance(tool.get("name"), str):
        raise FieldError(f"tools[{index}].name", f"tools[{index}] has no name")
    function = {k: tool[k] for k in ("name", "description", "parameters", "strict") if k in tool}
    return {"type": "function", "function": function}


def _chat_tool_choice(choice: str | Mapping[str, Any] | None) -> ToolChoice:
    if choice is None:
        return "auto"
    if isinstance(choice, str):
        if choice not in ("auto", "none", "required"):
            raise FieldError(
                "tool_choice", f"tool_choice must be auto, none or required, got {choice!r}"
            )
        return choice  # type: ignore[return-value]
    if choice.get("type") == "function" and isinstance(choice.get("name"), str):
        return {"type": "function", "function": {"name": choice["name"]}}
    raise FieldError(
        "tool_choice",
        f'tool_choice must be auto, none, required or {{"type": "function", "name": ...}}, '
        f"got {dict(choice)!r}",
    )


def _chat_format(text: Mapping[str, Any] | None) -> dict[str, Any] | None:
    fmt = (text or {}).get("format")
    if fmt is None:
        return None
    if not isinstance(fmt, Mapping):
        raise FieldError("text.format", "text.format must be an object")
    if fmt.get("type") != "json_schema":
        return dict(fmt)  # text or json_object: the same shape as in chat completions
    spec = {k: fmt[k] for k in ("name", "schema", "strict", "description") if k in fmt}
    return {"type": "json_schema", "json_schema": spec}


@dataclass(frozen=True, slots=True)
class OutputIds:
    """The ids of one response and of its output items (chosen up front, so streamed events
    and the final object agree)."""

    response: str
    message: str
    reasoning: str

    @classmethod
    def new(cls) -> OutputIds:
        """Fresh ids."""
        return cls(response=new_id("resp_"), message=new_id("msg_"), reasoning=new_id("rs_"))


def reasoning_item(ids: OutputIds, text: str, *, status: str = "completed") -> dict[str, Any]:
    """A ``reasoning`` output item carrying the reasoning text."""
    return {
        "type": "reasoning",
        "id": ids.reasoning,
        "summary": [],
        "content": [{"type": "reasoning_text", "text": text}],
        "status": status,
    }


def text_part(text: str, logprobs: list[dict[str, Any]] | None) -> dict[str, Any]:
    """An ``output_text`` content part."""
    part: dict[str, Any] = {"type": "output_text", "text": text, "annotations": []}
    if logprobs is not None:
        part["logprobs"] = logprobs
    return part


def message_item(
    ids: OutputIds, parts: list[dict[str, Any]], *, status: str = "completed"
) -> dict[str, Any]:
    """An assistant ``message`` output item."""
    return {
        "type": "message",
        "id": ids.message,
        "role": "assistant",
        "status": status,
        "content": parts,
    }


def call_item(
    call_id: str, name: str, arguments: str, *, status: str = "completed"
) -> dict[str, Any]:
    """A ``function_call`` output item (its item id derives from the call id)."""
    return {
        "type": "function_call",
        "id": f"fc_{call_id}",
        "call_id": call_id,
        "name": name,
        "arguments": arguments,
        "status": status,
    }


def output_items(completion: Completion, ids: OutputIds, *, logprobs: bool) -> list[dict[str, Any]]:
    """The output items of a completion: reasoning, the message, then function calls."""
    message = completion.message
    items: list[dict[str, Any]] = []
    if message.reasoning:
        items.append(reasoning_item(ids, message.reasoning))
    if message.text or not message.tool_calls:
        entries = logprob_entries(completion.token_logprobs or ()) if logprobs else None
        items.append(message_item(ids, [text_part(message.text, entries)]))
    items.extend(call_item(c.id, c.name, c.arguments_json()) for c in message.tool_calls)
    return items


def response_json(
    body: ResponsesBody,
    ids: OutputIds,
    *,
    model: str,
    created: int,
    output: list[dict[str, Any]],
    completion: Completion | None,
) -> dict[str, Any]:
    """A ``response`` object; ``completion`` None means still in progress."""
    status, incomplete = "in_progress", None
    if completion is not None:
        status = "incomplete" if completion.finish_reason == "length" else "completed"
        if status == "incomplete":
            incomplete = {"reason": "max_output_tokens"}
    usage = None
    if completion is not None:
        used = completion.usage
        usage = {
            "input_tokens": used.prompt_tokens,
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": used.completion_tokens,
            "output_tokens_details": {"reasoning_tokens": 0},
            "total_tokens": used.total_tokens,
        }
    return {
        "id": ids.response,
        "object": "response",
        "created_at": created,
        "status": status,
        "error": None,
        "incomplete_details": incomplete,
        "instructions": body.instructions,
        "max_output_tokens": body.max_output_tokens,
        "model": model,
        "output": output,
        "parallel_tool_calls": body.parallel_tool_calls is not False,
        "previous_response_id": body.previous_response_id,
        "reasoning": body.reasoning or {"effort": None, "summary": None},
        "store": body.store,
        "temperature": body.temperature if body.temperature is not None else 1.0,
        "text": body.text or {"format": {"type": "text"}},
        "tool_choice": body.tool_choice or "auto",
        "tools": body.tools or [],
        "top_p": body.top_p if body.top_p is not None else 1.0,
        "truncation": "disabled",
        "usage": usage,
        "metadata": body.metadata or {},
    }


class ResponseStore:
    """The conversations of recent responses, for ``previous_response_id`` (in memory).

    Keeps the newest ``capacity`` responses; an older id is answered with a 400 that says so.
    Thread-safe (the server may run requests on several threads).
    """

    def __init__(self, capacity: int = 1024) -> None:
        self._capacity = capacity
        self._items: OrderedDict[str, tuple[AnyMessage, ...]] = OrderedDict()
        self._lock = threading.Lock()

    def put(
        self, response_id: str, body: ResponsesBody, request: ChatRequest, reply: AssistantMessage
    ) -> None:
        """Remember a response's conversation: its input and reply. Instructions are not
        carried over to the next response (as OpenAI does)."""
        messages = request.messages[1:] if body.instructions else request.messages
        with self._lock:
            self._items[response_id] = (*messages, reply)
            while len(self._items) > self._capacity:
                self._items.popitem(last=False)

    def history(self, response_id: str | None) -> tuple[AnyMessage, ...]:
        """The conversation a new response continues.

        Raises:
            FieldError: the id is unknown (never stored, or no longer kept).
        """
        if response_id is None:
            return ()
        with self._lock:
            found = self._items.get(response_id)
        if found is None:
            raise FieldError(
                "previous_response_id",
                f"previous_response_id {response_id!r} is unknown: this server keeps the last "
                f"{self._capacity} stored responses in memory (and none across restarts)",
            )
        return found
