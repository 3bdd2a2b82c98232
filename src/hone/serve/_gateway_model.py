"""The backend wrapper the gateway puts around its model for one session's call: it asks for
token ids and logprobs, and writes each finished call to the store before the reply goes out."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import AsyncIterator, Sequence
from typing import Literal, TypeAlias

from hone.errors import CapabilityError
from hone.interop import LangChainModel
from hone.models import OpenAICompatibleModel
from hone.models._protocol import ChatRequest, Completion, ModelBackend, StreamEvent
from hone.serve._gateway_store import GatewayStore
from hone.trajectory import EpisodeRecorder, ModelCall

__all__ = ["SessionModel", "TokenIds", "forces_token_ids"]

#: Whether the gateway asks its model for exact token ids: ``auto`` asks every backend except
#: OpenAI's own API (which rejects the field) and LangChain chat models (which have none);
#: ``always`` asks every backend; ``never`` asks none (servers that reject unknown fields).
TokenIds: TypeAlias = Literal["auto", "always", "never"]


def forces_token_ids(model: ModelBackend, mode: TokenIds) -> bool:
    """Whether calls through the gateway ask ``model`` for token ids under ``mode``."""
    if mode != "auto":
        return mode == "always"
    if isinstance(model, LangChainModel):
        return False
    return not (isinstance(model, OpenAICompatibleModel) and "api.openai.com" in model.base_url)


class SessionModel:
    """``model`` as one session sees it: every call is recorded in ``store`` under
    ``session_id`` (with ``policy_version`` when the backend reports none) before it returns.

    Only single completions are recorded; the gateway refuses ``n`` > 1, since a session is
    one trajectory.
    """

    def __init__(
        self,
        model: ModelBackend,
        store: GatewayStore,
        session_id: str,
        *,
        token_ids: bool,
        policy_version: int | str | None = None,
    ) -> None:
        self.backend = model
        self._store = store
        self._session_id = session_id
        self._token_ids = token_ids
        self._policy_version = policy_version

    @property
    def name(self) -> str:
        """The wrapped backend's name."""
        return self.backend.name

    def prepare(self, request: ChatRequest) -> ChatRequest:
        """The request as sent to the model: logprobs always, token ids when asked for."""
        options = request.options.with_(logprobs=True)
        if self._token_ids:
            options = options.with_(return_token_ids=True)
        return dataclasses.replace(request, options=options)

    async def _record(self, request: ChatRequest, completion: Completion, latency: float) -> None:
        call: ModelCall = EpisodeRecorder().record("agent", request, completion, latency)
        if call.policy_version is None:
            call.policy_version = self._policy_version
        # Off the event loop: the write is committed (and synced) before the reply is sent.
        await asyncio.to_thread(self._store.record, self._session_id, call)

    async def complete(self, request: ChatRequest) -> Completion:
        """Complete one call and record it."""
        prepared = self.prepare(request)
        start = time.perf_counter()
        completion = await self.backend.complete(prepared)
        await self._record(prepared, completion, time.perf_counter() - start)
        return completion

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """One call per request, in order (a session's calls form one trajectory)."""
        return [await self.complete(request) for request in requests]

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Stream one call; the final completion is recorded before the ``done`` event is
        passed on, so the client's last chunk follows the write."""
        prepared = self.prepare(request)
        start = time.perf_counter()
        async for event in self.backend.stream(prepared):
            if event.kind == "done":
                if event.completion is None:
                    raise CapabilityError(f"{self.name} ended a stream without its completion")
                await self._record(prepared, event.completion, time.perf_counter() - start)
            yield event
