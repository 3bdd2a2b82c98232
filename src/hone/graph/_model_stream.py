"""Token streaming from a node: call a model so that ``stream_mode="messages"`` yields its
deltas as they come, and get the whole completion back.

A node that calls ``await astream_model(model, request)`` (or ``stream_model`` in sync code)
behaves like ``await model.complete(request)``; when the run streams messages, the model is
called with ``model.stream(request)`` instead and each text or reasoning delta goes to the
stream as an :class:`AssistantMessageChunk`. All chunks of one message share the id of the
final message the call returns, so the runtime does not stream that message again when the
node writes it to the state (a LangChain model's own reply, the completion's ``native``,
takes that id too). A run that streams content-block events instead
(``stream_events(version="v3")``) gets the reply as those events (:mod:`._content_blocks`).

In a run given LangChain callbacks (``config={"callbacks": [...]}``, ``astream_events``), the
call is also reported as a chat-model run under its node (start, tokens, reply), as a
LangChain chat model reports itself; the model streams when a handler taps streams.
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import TYPE_CHECKING

from hone.errors import ModelError
from hone.graph._callbacks import ModelRun
from hone.graph._content_blocks import BlockEvents
from hone.graph._context import TaskScope, current_scope
from hone.graph._lc_stream import streams_langchain
from hone.interop._messages import is_langchain_message
from hone.messages import AssistantMessageChunk

if TYPE_CHECKING:
    from hone.models import ChatRequest, Completion, ModelBackend

__all__ = ["AssistantMessageChunk", "astream_model", "stream_model"]


async def astream_model(
    model: ModelBackend, request: ChatRequest, *, stream: bool = True
) -> Completion:
    """The model's completion of ``request``, its tokens streamed when the run streams messages.

    Inside a node of a run with ``stream_mode="messages"`` (also in subgraphs), the model is
    called with ``model.stream(request)`` and every delta is emitted as an
    :class:`AssistantMessageChunk` with the node's metadata; otherwise this is
    ``await model.complete(request)``. The returned message carries the chunks' id. In a run
    with LangChain callbacks the call is reported to them as a chat-model run.
    ``stream=False`` keeps the tokens out of the ``messages`` stream (a call whose reply is
    not the agent's, such as a middleware's summary: LangChain's ``nostream`` tag).

    Raises:
        ModelError: the backend's stream ended without its final ``done`` event.
    """
    scope = current_scope()
    if scope is None:
        return await model.complete(request)
    run, task = scope.loop, scope.task
    # A LangChain model reports to LangChain's callbacks itself (and so reaches the stream
    # through the handler the task installed, with its own message ids): reporting or
    # streaming it here as well would send every reply twice.
    langchain = getattr(model, "streams_to_callbacks", False)
    settings = run.settings
    to_stream = (
        stream and "messages" in settings.modes and not (langchain and streams_langchain(run, task))
    )
    if not to_stream and run.callbacks is None:
        return await model.complete(request)
    message_id = uuid.uuid4().hex
    reported = None if langchain else await ModelRun.start(run, task, model, request, message_id)
    streamed = to_stream or (reported is not None and reported.streams)
    try:
        if streamed:
            completion = await _streamed(model, request, scope, message_id, to_stream, reported)
        else:
            completion = await model.complete(request)
    except BaseException as exc:
        if reported is not None:
            await reported.fail(exc)
        raise
    if streamed:  # the reply takes the chunks' id
        native = completion.native
        if is_langchain_message(native):  # a LangChain model's own reply takes it too
            native = native.model_copy(update={"id": message_id})
        message = completion.message.model_copy(update={"id": message_id})
        completion = dataclasses.replace(completion, message=message, native=native)
    if reported is not None:
        await reported.end(
            completion.native if completion.native is not None else completion.message
        )
    return completion


async def _streamed(
    model: ModelBackend,
    request: ChatRequest,
    scope: TaskScope,
    message_id: str,
    to_stream: bool,
    reported: ModelRun | None,
) -> Completion:
    """Stream the model's reply: each delta to the ``messages`` stream and the callbacks."""
    meta = {"ls_model_name": model.name}
    completion: Completion | None = None
    # A run streaming content-block events (``stream_events(version="v3")``) gets those
    # instead of chunks, keyed by this call's run id.
    settings = scope.loop.settings
    blocks = BlockEvents(message_id) if to_stream and settings.messages_v2 else None
    block_meta = {**meta, "run_id": message_id}
    if blocks is not None:
        # The node returning this reply must not replay it whole.
        with settings.streamed_lock:
            settings.streamed.add(message_id)
    async for event in model.stream(request):
        if event.kind == "done":
            completion = event.completion
        elif event.delta:
            if blocks is not None:
                for block_event in blocks.delta(event.kind, event.delta):
                    scope.loop.emit_message(scope.task, block_event, block_meta)
            elif to_stream:
                chunk = (
                    AssistantMessageChunk(content=event.delta, id=message_id)
                    if event.kind == "text"
                    else AssistantMessageChunk(reasoning=event.delta, id=message_id)
                )
                scope.loop.emit_message(scope.task, chunk, meta)
            if reported is not None:
                await reported.token(event.kind, event.delta)
    if completion is None:
        raise ModelError(
            f"model {model.name!r} ended its stream without a 'done' event carrying the "
            f"completion; a backend's stream() must end with StreamEvent(kind='done', ...)"
        )
    if blocks is not None:
        for block_event in blocks.finish(completion):
            scope.loop.emit_message(scope.task, block_event, block_meta)
    return completion


def stream_model(model: ModelBackend, request: ChatRequest, *, stream: bool = True) -> Completion:
    """Sync :func:`astream_model`, for sync nodes."""
    from hone._sync import run_sync

    return run_sync(astream_model(model, request, stream=stream))
