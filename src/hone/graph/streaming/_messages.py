"""``run.messages``: one LangChain ``ChatModelStream`` per chat-model reply at the run's scope.

A v3 run streams LangChain chat models through LangChain's content-block protocol
(``message-start``, ``content-block-delta``, ..., ``message-finish``); each event reaches the
``messages`` stream as ``(event, metadata)`` with the model call's ``run_id``, and this
transformer feeds it to that call's ``ChatModelStream`` (``.text``, ``.reasoning``,
``.tool_calls``, ``.output``). A message a node returns whole (a hone or LangChain assistant
message that was not streamed) is replayed as the same event sequence. Tool messages are not
chat replies and stay out. Reading a message's projections drives the run, as reading
``run.messages`` does.

Needs langchain-core (``pip install 'hone[langchain]'``): without it the projection stays
empty, since nothing else builds ``ChatModelStream`` objects.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Awaitable, Callable, Iterator
from typing import Any

from hone.graph.streaming._channel import StreamChannel
from hone.graph.streaming._protocol import ProtocolEvent
from hone.graph.streaming._transformer import StreamTransformer

__all__ = ["MessagesTransformer"]

_HAS_LANGCHAIN = importlib.util.find_spec("langchain_core") is not None


def _replayed(message: Any) -> Iterator[dict[str, Any]]:
    # LangChain's own replay of a finished message as protocol events (the only one there is;
    # it lives in a private module of langchain-core).
    from langchain_core.language_models._compat_bridge import message_to_events

    return message_to_events(message, message_id=message.id)  # type: ignore[return-value]


def _as_reply(payload: Any) -> Any:
    """The LangChain message to replay for a whole message a node returned (hone's converted),
    or None for tool messages and token chunks."""
    from langchain_core.messages import AIMessageChunk, BaseMessage, ToolMessage

    from hone.interop._messages import to_langchain
    from hone.messages import AssistantMessage, SystemMessage, UserMessage

    if isinstance(payload, (AssistantMessage, SystemMessage, UserMessage)):
        return to_langchain(payload)
    if isinstance(payload, BaseMessage) and not isinstance(payload, (AIMessageChunk, ToolMessage)):
        return payload
    return None


class MessagesTransformer(StreamTransformer):
    """Builds ``run.messages`` (see the module doc)."""

    _native = True
    required_stream_modes = ("messages",) if _HAS_LANGCHAIN else ()

    def __init__(self, scope: tuple[str, ...] = ()) -> None:
        super().__init__(scope)
        self._log: StreamChannel[Any] = StreamChannel()
        self._by_run: dict[str, Any] = {}
        self._ignored_runs: set[str] = set()
        self._pump_fn: Callable[[], bool] | None = None
        self._apump_fn: Callable[[], Awaitable[bool]] | None = None
        self._scope_list = list(scope)

    def init(self) -> dict[str, Any]:
        return {"messages": self._log}

    def _bind_pump(self, fn: Callable[[], bool]) -> None:
        self._pump_fn = fn

    def _bind_apump(self, fn: Callable[[], Awaitable[bool]]) -> None:
        self._apump_fn = fn

    def _new_stream(self, *, node: str | None, message_id: str | None) -> Any:
        from langchain_core.language_models.chat_model_stream import (
            AsyncChatModelStream,
            ChatModelStream,
        )

        if self._pump_fn is not None and self._apump_fn is None:
            stream = ChatModelStream(namespace=[], node=node, message_id=message_id)
            stream.set_request_more(self._pump_fn)
            return stream
        astream = AsyncChatModelStream(namespace=[], node=node, message_id=message_id)
        if self._apump_fn is not None:
            astream.set_arequest_more(self._apump_fn)
        return astream

    def process(self, event: ProtocolEvent) -> bool:
        params = event["params"]
        if event["method"] != "messages" or params["namespace"] != self._scope_list:
            return True
        payload, metadata = params["data"]
        node = metadata.get("langgraph_node") if metadata else None
        if isinstance(payload, dict) and "event" in payload:
            run_id = str(metadata.get("run_id", "")) if metadata else ""
            self._route(payload, run_id=run_id, node=node)
        elif _HAS_LANGCHAIN and (reply := _as_reply(payload)) is not None:
            stream = self._new_stream(node=node, message_id=reply.id)
            for part in _replayed(reply):
                stream.dispatch(part)
            self._log.push(stream)
        # Token chunks of the v1 protocol carry no message boundaries: not projected.
        return True

    def _route(self, event: dict[str, Any], *, run_id: str, node: str | None) -> None:
        kind = event.get("event")
        if kind == "message-start":
            if event.get("role") == "tool":
                self._ignored_runs.add(run_id)
                return
            message_id = event.get("message_id")
            stream = self._new_stream(
                node=node, message_id=str(message_id) if message_id is not None else None
            )
            self._by_run[run_id] = stream
            self._log.push(stream)
            stream.dispatch(event)
        elif run_id in self._ignored_runs:
            if kind == "message-finish":
                self._ignored_runs.discard(run_id)
        elif (stream := self._by_run.get(run_id)) is not None:
            stream.dispatch(event)
            if kind == "message-finish":
                del self._by_run[run_id]

    def finalize(self) -> None:
        self._by_run.clear()
        self._ignored_runs.clear()

    def fail(self, err: BaseException) -> None:
        for stream in self._by_run.values():
            stream.fail(err)
        self.finalize()
