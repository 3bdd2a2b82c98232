"""``run.tool_calls``: a :class:`ToolCallStream` per tool call, from ``stream_mode="tools"``.

Opt in with ``compile(transformers=[ToolCallTransformer])`` (``create_agent`` adds it): each
``tool-started`` event at the scope opens a handle, its ``tool-output-delta`` events fill the
handle's ``output_deltas``, and ``tool-finished`` / ``tool-error`` close it with ``output``
(the tool message's content) or ``error``. The events themselves stay in the main log (method
``tools``) for clients that rebuild the handles.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from typing import Any

from hone.graph.streaming._channel import StreamChannel
from hone.graph.streaming._protocol import ProtocolEvent
from hone.graph.streaming._transformer import StreamTransformer

__all__ = ["ToolCallStream", "ToolCallTransformer"]


class ToolCallStream:
    """One tool call of a v3 run: ``tool_call_id``, ``tool_name``, ``input`` from the
    start; ``output_deltas`` (iterate the handle itself, or that channel) as the tool sends
    them; ``output`` or ``error`` and ``completed`` once it ended."""

    def __init__(self, tool_call_id: str, tool_name: str, input: Any = None) -> None:
        self.tool_call_id = tool_call_id
        self.tool_name = tool_name
        self.input = input
        self._output_deltas: StreamChannel[Any] = StreamChannel()
        self.output: Any = None
        self.error: str | None = None
        self.completed = False

    @property
    def output_deltas(self) -> StreamChannel[Any]:
        """The pieces of output the tool streamed, in order (ends with the call)."""
        return self._output_deltas

    def _end(self, *, output: Any = None, error: str | None = None) -> None:
        self.output, self.error, self.completed = output, error, True
        self._output_deltas.close()

    def __iter__(self) -> Iterator[Any]:
        return iter(self._output_deltas)

    def __aiter__(self) -> AsyncIterator[Any]:
        return aiter(self._output_deltas)

    def __repr__(self) -> str:
        state = (
            "running" if not self.completed else "failed" if self.error is not None else "completed"
        )
        return f"ToolCallStream(tool_call_id={self.tool_call_id!r}, tool_name={self.tool_name!r}, {state})"


def _content(output: Any) -> Any:
    """A tool message's content (hone's, LangChain's, or LangChain's serialized form)."""
    if getattr(output, "type", None) == "tool" or getattr(output, "role", None) == "tool":
        return output.content
    serialized = isinstance(output, dict) and output.get("type") == "constructor"
    if serialized and (output.get("id") or [None])[-1] == "ToolMessage":
        return (output.get("kwargs") or {}).get("content")
    return output


class ToolCallTransformer(StreamTransformer):
    """Builds ``run.tool_calls`` (see the module doc)."""

    _native = True
    required_stream_modes = ("tools",)

    def __init__(self, scope: tuple[str, ...] = ()) -> None:
        super().__init__(scope)
        self._log: StreamChannel[ToolCallStream] = StreamChannel()
        self._active: dict[str, ToolCallStream] = {}
        self._pump_fn: Callable[[], bool] | None = None
        self._apump_fn: Callable[[], Awaitable[bool]] | None = None

    def init(self) -> dict[str, Any]:
        return {"tool_calls": self._log}

    def _bind_pump(self, fn: Callable[[], bool]) -> None:
        self._pump_fn = fn

    def _bind_apump(self, fn: Callable[[], Awaitable[bool]]) -> None:
        self._apump_fn = fn

    def process(self, event: ProtocolEvent) -> bool:
        params = event["params"]
        if event["method"] != "tools" or tuple(params["namespace"]) != self.scope:
            return True
        data = params["data"]
        call_id = data.get("tool_call_id")
        kind = data.get("event")
        if call_id is None:
            return True
        if kind == "tool-started":
            started = ToolCallStream(call_id, data.get("tool_name", ""), data.get("input"))
            deltas = started._output_deltas
            deltas._bind(is_async=self._apump_fn is not None)
            deltas._request_more, deltas._arequest_more = self._pump_fn, self._apump_fn
            self._active[call_id] = started
            self._log.push(started)
            return True
        stream = self._active.get(call_id)
        if stream is None:
            return True
        if kind == "tool-output-delta":
            stream._output_deltas.push(data.get("delta"))
        elif kind in ("tool-finished", "tool-error"):
            del self._active[call_id]
            if "final_delta" in data:  # output a transformer held back (PII redaction)
                stream._output_deltas.push(data["final_delta"])
            if kind == "tool-finished":
                stream._end(output=_content(data.get("output")))
            else:
                stream._end(error=str(data.get("message", "")))
        return True

    def finalize(self) -> None:
        for stream in self._active.values():
            stream._end()
        self._active.clear()

    def fail(self, err: BaseException) -> None:
        for stream in self._active.values():
            stream._end(error=str(err))
        self._active.clear()
