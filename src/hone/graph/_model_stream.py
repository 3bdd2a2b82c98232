"""Token streaming from a node: call a model so that ``stream_mode="messages"`` yields its
deltas as they come, and get the whole completion back.

A node that calls ``await astream_model(model, request)`` (or ``stream_model`` in sync code)
behaves like ``await model.complete(request)``; when the run streams messages, the model is
called with ``model.stream(request)`` instead and each text or reasoning delta goes to the
stream as an :class:`AssistantMessageChunk`. All chunks of one message share the id of the
final message the call returns, so the runtime does not stream that message again when the
node writes it to the state (a LangChain model's own reply, the completion's ``native``,
takes that id too).
"""

from __future__ import annotations

import dataclasses
import uuid
from typing import TYPE_CHECKING

from hone.errors import ModelError
from hone.graph._context import current_scope
from hone.graph._lc_stream import streams_langchain
from hone.interop._messages import is_langchain_message
from hone.messages import AssistantMessageChunk

if TYPE_CHECKING:
    from hone.models import ChatRequest, Completion, ModelBackend

__all__ = ["AssistantMessageChunk", "astream_model", "stream_model"]


async def astream_model(model: ModelBackend, request: ChatRequest) -> Completion:
    """The model's completion of ``request``, its tokens streamed when the run streams messages.

    Inside a node of a run with ``stream_mode="messages"`` (also in subgraphs), the model is
    called with ``model.stream(request)`` and every delta is emitted as an
    :class:`AssistantMessageChunk` with the node's metadata; otherwise this is
    ``await model.complete(request)``. The returned message carries the chunks' id.

    Raises:
        ModelError: the backend's stream ended without its final ``done`` event.
    """
    scope = current_scope()
    if scope is None or "messages" not in scope.loop.settings.modes:
        return await model.complete(request)
    if getattr(model, "streams_to_callbacks", False) and streams_langchain(scope.loop, scope.task):
        # A LangChain model's tokens reach the stream through LangChain's callbacks (the
        # handler the task installed), with the model's own message ids: streaming them
        # here as well would send every reply twice.
        return await model.complete(request)
    run, task = scope.loop, scope.task
    message_id = uuid.uuid4().hex
    meta = {"ls_model_name": model.name}
    completion: Completion | None = None
    async for event in model.stream(request):
        if event.kind == "done":
            completion = event.completion
        elif event.delta:
            chunk = (
                AssistantMessageChunk(content=event.delta, id=message_id)
                if event.kind == "text"
                else AssistantMessageChunk(reasoning=event.delta, id=message_id)
            )
            run.emit_message(task, chunk, meta)
    if completion is None:
        raise ModelError(
            f"model {model.name!r} ended its stream without a 'done' event carrying the "
            f"completion; a backend's stream() must end with StreamEvent(kind='done', ...)"
        )
    message = completion.message.model_copy(update={"id": message_id})
    native = completion.native
    if is_langchain_message(native):  # a LangChain model's own reply takes the id too
        native = native.model_copy(update={"id": message_id})
    return dataclasses.replace(completion, message=message, native=native)


def stream_model(model: ModelBackend, request: ChatRequest) -> Completion:
    """Sync :func:`astream_model`, for sync nodes."""
    from hone._sync import run_sync

    return run_sync(astream_model(model, request))
