"""LangChain calls inside a node: their parent config (callbacks) and their tokens in
``stream_mode="messages"``.

A LangGraph program calls ``llm.invoke(state["messages"])`` in a node and expects its tokens
in the ``messages`` stream. LangChain models report tokens to callback handlers found in the
ambient run config, so while a node runs in a run that streams messages, hone sets that
config (LangChain's ``var_child_runnable_config``) with a handler that forwards each token,
and the final message when the model did not stream, with the node's metadata. In a run with
LangChain callbacks that config's callbacks are the node's run (``_callbacks``), with the
handler added. Nothing here runs, or imports LangChain, unless LangChain is already imported.

A run whose config sets ``CONFIG_KEY_STREAM_MESSAGES_V2`` (what ``stream_events(version="v3")``
does) gets the v2 handler instead: it declares itself a consumer of LangChain's streaming
protocol, so a model's ``invoke`` fires content-block events (``message-start``,
``content-block-delta``, ...) rather than token chunks, and it forwards each event with the
model run's id in the metadata (``"run_id"``).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4

from hone.graph._constants import TAG_NOSTREAM
from hone.graph._context import current_scope

if TYPE_CHECKING:
    from hone.graph._algo import Task
    from hone.graph._callbacks import NodeRun
    from hone.graph._loop import Loop

__all__ = ["is_messages_handler", "langchain_context", "streams_langchain"]


def _handler_class() -> Any:
    from langchain_core.callbacks import BaseCallbackHandler
    from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, GenerationChunk

    # A streaming handler makes ``invoke`` stream tokens (what LangGraph relies on); older
    # langchain-core releases have none.
    tracers = importlib.import_module("langchain_core.tracers._streaming")
    streaming: Any = getattr(tracers, "_StreamingCallbackHandler", object)

    class MessagesHandler(BaseCallbackHandler, streaming):  # type: ignore[misc]
        """Forwards chat-model tokens of one task to the run's ``messages`` stream."""

        run_inline = True

        def tap_output_aiter(self, run_id: Any, output: Any) -> Any:
            return output

        def tap_output_iter(self, run_id: Any, output: Any) -> Any:
            return output

        def __init__(self, loop: Loop, task: Task) -> None:
            self.loop = loop
            self.task = task
            self.runs: set[Any] = set()
            self.streamed: set[Any] = set()
            self.run_metadata: dict[Any, dict[str, Any]] = {}

        def on_chat_model_start(
            self, serialized: Any, messages: Any, *, run_id: Any, tags: Any = None, **kwargs: Any
        ) -> None:
            if tags and TAG_NOSTREAM in tags:
                return
            scope = current_scope()
            if scope is not None and scope.loop is not self.loop and scope.loop.is_nested:
                # A call in a subgraph that does not stream messages (one that does has its
                # own handler): LangGraph leaves it out, and streams what the node returns.
                return
            self.runs.add(run_id)

        def on_llm_new_token(
            self,
            token: str | list[str | dict[str, Any]],
            *,
            chunk: GenerationChunk | ChatGenerationChunk | None = None,
            run_id: UUID,
            parent_run_id: UUID | None = None,
            tags: list[str] | None = None,
            **kwargs: Any,
        ) -> None:
            if run_id in self.runs and isinstance(chunk, ChatGenerationChunk):
                self.streamed.add(run_id)
                self.loop.emit_message(self.task, chunk.message, None)

        def on_llm_end(self, response: Any, *, run_id: Any, **kwargs: Any) -> None:
            if run_id in self.runs and run_id not in self.streamed:
                generations = response.generations
                if generations and generations[0] and isinstance(generations[0][0], ChatGeneration):
                    message = generations[0][0].message
                    seen = self.loop.settings.streamed
                    if message.id is None or message.id not in seen:
                        self.loop.emit_message(self.task, message, self.run_metadata.get(run_id))
            self.runs.discard(run_id)
            self.streamed.discard(run_id)

        def on_llm_error(self, error: BaseException, *, run_id: Any, **kwargs: Any) -> None:
            self.runs.discard(run_id)

    return MessagesHandler


def _v2_handler_class(base: Any) -> Any:
    from langchain_core.outputs import ChatGeneration

    tracers = importlib.import_module("langchain_core.tracers._streaming")
    marker: Any = getattr(tracers, "_V2StreamingCallbackHandler", object)

    class MessagesHandlerV2(base, marker):  # type: ignore[misc]
        """Forwards the content-block events of a task's chat models to ``messages`` mode."""

        def on_chat_model_start(
            self, serialized: Any, messages: Any, *, run_id: Any, tags: Any = None, **kwargs: Any
        ) -> None:
            super().on_chat_model_start(serialized, messages, run_id=run_id, tags=tags, **kwargs)
            if run_id in self.runs and (metadata := kwargs.get("metadata")):
                # The model run's own metadata rides on its events, as in LangGraph (where a
                # middleware marks its internal calls, ``lc_internal_call``).
                self.run_metadata[run_id] = dict(metadata)

        def on_llm_new_token(self, token: Any, *, run_id: Any, **kwargs: Any) -> None:
            # Chunks are v1's shape: a node that calls ``model.stream()`` still fires them,
            # and they must not reach a stream of protocol events.
            return None

        def on_stream_event(self, event: Any, *, run_id: UUID, **kwargs: Any) -> None:
            if run_id not in self.runs:
                return
            if event.get("event") == "message-start":
                self.streamed.add(run_id)
                msg_id = event.get("id")
                if msg_id:
                    with self.loop.settings.streamed_lock:
                        self.loop.settings.streamed.add(msg_id)
            meta = {**self.run_metadata.get(run_id, {}), "run_id": str(run_id)}
            self.loop.emit_message(self.task, event, meta)

        def on_llm_end(self, response: Any, *, run_id: Any, **kwargs: Any) -> None:
            if run_id in self.runs and run_id in self.streamed:
                # Streamed as events: only remember the reply, so the node returning it
                # does not stream it again as a whole message.
                generations = response.generations
                if generations and generations[0] and isinstance(generations[0][0], ChatGeneration):
                    message = generations[0][0].message
                    if message.id is None:
                        message.id = str(uuid4())
                    with self.loop.settings.streamed_lock:
                        self.loop.settings.streamed.add(message.id)
            super().on_llm_end(response, run_id=run_id, **kwargs)
            self.run_metadata.pop(run_id, None)

    return MessagesHandlerV2


_HANDLER: Any = None
_HANDLER_V2: Any = None


def streams_langchain(loop: Loop, task: Task) -> bool:
    """Whether LangChain chat models that ``task`` calls stream into ``messages`` mode."""
    settings = loop.settings
    return not (
        settings.sink is None
        or "messages" not in settings.modes
        or "langchain_core" not in sys.modules
        or (task.node is not None and task.node.hidden)
    )


def is_messages_handler(handler: Any) -> bool:
    """Whether ``handler`` is a task's ``messages``-mode handler."""
    return _HANDLER is not None and isinstance(handler, _HANDLER)


def _handler(loop: Loop, task: Task) -> Any:
    """The ``messages``-mode handler of ``task`` (v2 when the run asks for content blocks)."""
    global _HANDLER, _HANDLER_V2
    if _HANDLER is None:
        _HANDLER = _handler_class()
    if not loop.settings.messages_v2:
        return _HANDLER(loop, task)
    if _HANDLER_V2 is None:
        _HANDLER_V2 = _v2_handler_class(_HANDLER)
    return _HANDLER_V2(loop, task)


@contextmanager
def langchain_context(loop: Loop, task: Task, run: NodeRun | None) -> Iterator[None]:
    """While a task runs, LangChain calls in it see its config as their parent config: with
    the node's run as their callbacks' parent (when the run has callbacks) and a handler
    that forwards chat-model tokens to the ``messages`` stream (when it streams them)."""
    streams = streams_langchain(loop, task)
    if run is None and not streams:
        yield
        return
    handler = _handler(loop, task) if streams else None
    from langchain_core.runnables.config import var_child_runnable_config

    callbacks: Any
    if run is not None:
        callbacks = run.child
        if handler is not None:
            callbacks.add_handler(handler, inherit=True)
    else:
        callbacks = [handler]
    config = task.config
    ambient = {
        "callbacks": callbacks,
        "metadata": dict(config.get("metadata") or {}),
        "tags": list(config.get("tags") or ()),
        "configurable": {
            k: v for k, v in (config.get("configurable") or {}).items() if not k.startswith("__")
        },
        "recursion_limit": config.get("recursion_limit", 25),
    }
    token = var_child_runnable_config.set(ambient)  # type: ignore[arg-type]
    try:
        yield
    finally:
        var_child_runnable_config.reset(token)
