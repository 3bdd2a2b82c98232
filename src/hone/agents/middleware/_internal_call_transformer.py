"""Middleware's own model calls, kept out of ``run.messages``.

A middleware that calls a model for itself (a summary, a tool choice, an emulated tool)
passes ``config={"metadata": internal_call_metadata()}`` to that call and declares
``transformers = (InternalCallTransformer,)``: in event streaming the call's events are then
dropped, so ``run.messages`` and the event log show only the agent's replies. The mark holds a
random per-process token, so user metadata cannot hide a real call. (hone's own middleware
call their side models without streaming them at all, which has the same effect.)
"""

from __future__ import annotations

import secrets
from typing import Any, ClassVar

from hone.graph.streaming import ProtocolEvent, StreamTransformer

__all__ = ["INTERNAL_CALL_METADATA_KEY", "InternalCallTransformer", "internal_call_metadata"]

INTERNAL_CALL_METADATA_KEY = "lc_internal_call"
"""The metadata key that marks a model call as a middleware's own."""

_TOKEN = secrets.token_hex(16)


def internal_call_metadata() -> dict[str, Any]:
    """Metadata to merge into a model call's ``config["metadata"]`` to mark it internal."""
    return {INTERNAL_CALL_METADATA_KEY: _TOKEN}


class InternalCallTransformer(StreamTransformer):
    """Drops the ``messages`` events of marked calls at its scope, before ``run.messages``
    sees them: a streamed call's ``message-start`` is re-labelled as a tool message (which
    the messages projection skips, with the rest of that call), a whole reply is blanked."""

    before_builtins: ClassVar[bool] = True
    required_stream_modes: ClassVar[tuple[str, ...]] = ("messages",)

    def __init__(self, scope: tuple[str, ...] = ()) -> None:
        super().__init__(scope)
        self._scope_list = list(scope)

    def init(self) -> dict[str, Any]:
        return {}

    def process(self, event: ProtocolEvent) -> bool:
        params = event["params"]
        if event["method"] != "messages" or params["namespace"] != self._scope_list:
            return True
        payload, metadata = params["data"]
        if not metadata or metadata.get(INTERNAL_CALL_METADATA_KEY) != _TOKEN:
            return True
        if isinstance(payload, dict):
            if payload.get("event") == "message-start":
                payload["role"] = "tool"
        else:
            params["data"] = (None, metadata)
        return False
