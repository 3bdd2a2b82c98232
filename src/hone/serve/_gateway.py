"""The gateway: production traffic recorded for training (``hone gateway``).

Each client session gets its own OpenAI-compatible base URL, ``/sessions/{id}/v1``. Every
chat completion through it is answered by the gateway's model (a local model, or any
OpenAI-compatible upstream through :class:`~hone.models.OpenAICompatibleModel`) and recorded,
with its exact token ids, logprobs and policy version, before the reply is sent. A reward that
arrives later (``POST /sessions/{id}/reward``) scores the whole session, which becomes a
training episode (see :mod:`hone.serve._gateway_store`).
"""

from __future__ import annotations

import asyncio
import hmac
import re
import time
from typing import Annotated, Any

from fastapi import APIRouter, Depends, FastAPI, Path, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from hone.errors import HoneError, SessionNotFoundError, SessionRewardedError
from hone.messages import new_id
from hone.models._protocol import ModelBackend
from hone.serve._app import install_error_handlers
from hone.serve._errors import APIError, bad_request, model_error
from hone.serve._gateway_export import SessionReward
from hone.serve._gateway_model import SessionModel, TokenIds, forces_token_ids
from hone.serve._gateway_store import GatewayStore, SessionSummary
from hone.serve._responses import completion_json
from hone.serve._schema import ChatCompletionBody, FieldError
from hone.serve._stream import stream_response

__all__ = ["RewardBody", "create_gateway_app"]

_SESSION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}")


class RewardBody(BaseModel):
    """The body of ``POST /sessions/{id}/reward``. Unknown fields are refused, so a misspelt
    field is an error rather than silently dropped."""

    model_config = ConfigDict(extra="forbid")

    reward: float = Field(allow_inf_nan=False)
    components: dict[str, Annotated[float, Field(allow_inf_nan=False)]] = Field(
        default_factory=dict
    )
    explanation: str | None = None
    task_id: str | None = None
    task: Any = None
    metadata: dict[str, Any] = Field(default_factory=dict)

    def session_reward(self) -> SessionReward:
        """The reward as the store keeps it."""
        return SessionReward(**self.model_dump())


def _session_id(session_id: Annotated[str, Path()]) -> str:
    if not _SESSION_ID.fullmatch(session_id):
        raise bad_request(
            f"invalid session id {session_id!r}: use 1 to 128 letters, digits and . _ : @ -, "
            "starting with a letter or digit",
            param="session_id",
            code="invalid_session_id",
        )
    return session_id


SessionId = Annotated[str, Depends(_session_id)]


def _not_found(exc: SessionNotFoundError) -> APIError:
    return APIError(404, str(exc), type_="invalid_request_error", code="session_not_found")


def _rewarded(exc: SessionRewardedError) -> APIError:
    return APIError(409, str(exc), type_="invalid_request_error", code="session_already_rewarded")


def _summary_json(summary: SessionSummary) -> dict[str, Any]:
    return {
        "id": summary.id,
        "object": "session",
        "calls": summary.calls,
        "created_at": summary.created_at,
        "updated_at": summary.updated_at,
        "rewarded": summary.rewarded,
        "reward": summary.reward,
    }


def create_gateway_app(
    model: ModelBackend,
    store: GatewayStore,
    *,
    model_name: str,
    api_key: str | None = None,
    policy_version: int | str | None = None,
    token_ids: TokenIds = "auto",
) -> FastAPI:
    """A FastAPI app that serves ``model`` per session and records every call in ``store``.

    Routes (all but ``/health`` need ``Authorization: Bearer <api_key>`` when it is set):
    ``POST /sessions/{id}/v1/chat/completions`` (as ``hone serve``'s, plain and streamed;
    ``n`` must be 1), ``GET /sessions/{id}/v1/models[/{name}]``, ``POST
    /sessions/{id}/reward`` (:class:`RewardBody`; 404 for a session with no calls, 409 for
    one already rewarded), ``GET /sessions`` (``?rewarded=true|false&limit=N``), ``GET
    /sessions/{id}`` (its summary and conversation), ``GET /health``.

    Args:
        model: the backend that answers; a local model, or an upstream server.
        store: where calls and rewards are written.
        model_name: the model id clients ask for.
        policy_version: recorded on calls whose backend reports no version.
        token_ids: whether calls ask the model for exact token ids (see
            :data:`~hone.serve.TokenIds`); logprobs are always asked for.
    """
    app = FastAPI(title="hone gateway", summary=f"recording gateway in front of {model_name}")
    install_error_handlers(app)
    forced = forces_token_ids(model, token_ids)
    created = int(time.time())

    def check_key(request: Request) -> None:
        if api_key is None:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), api_key):
            raise APIError(
                401, "Incorrect API key provided.", type_="invalid_request_error",
                code="invalid_api_key",
            )  # fmt: skip

    def check_model(name: str) -> None:
        if name != model_name:
            raise APIError(
                404,
                f"The model '{name}' does not exist; this gateway serves '{model_name}'.",
                type_="invalid_request_error",
                code="model_not_found",
            )

    card = {"id": model_name, "object": "model", "created": created, "owned_by": "hone"}
    router = APIRouter(dependencies=[Depends(check_key)])

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "model": model_name, "mode": "gateway"}

    @router.get("/sessions/{session_id}/v1/models")
    async def list_models(session_id: SessionId) -> dict[str, Any]:
        return {"object": "list", "data": [card]}

    @router.get("/sessions/{session_id}/v1/models/{name:path}")
    async def get_model(session_id: SessionId, name: str) -> dict[str, Any]:
        check_model(name)
        return card

    @router.post("/sessions/{session_id}/v1/chat/completions", response_model=None)
    async def chat_completions(
        session_id: SessionId, body: ChatCompletionBody
    ) -> JSONResponse | StreamingResponse:
        check_model(body.model)
        if body.n != 1:
            raise bad_request(
                "the gateway records one trajectory per session, so n must be 1; make "
                "separate calls (or sessions) for several samples",
                param="n",
            )
        try:
            request = body.chat_request()
        except FieldError as exc:
            raise bad_request(str(exc), param=exc.param) from exc
        except ValueError as exc:
            raise bad_request(str(exc), param="messages", code="invalid_messages") from exc
        try:
            await asyncio.to_thread(store.check_open, session_id)
        except SessionRewardedError as exc:
            raise _rewarded(exc) from exc
        session = SessionModel(
            model, store, session_id, token_ids=forced, policy_version=policy_version
        )
        if body.stream:
            return await stream_response(session, request, body, model_name)
        try:
            completion = await session.complete(request)
        except SessionRewardedError as exc:  # a reward arrived while the call ran
            raise _rewarded(exc) from exc
        except HoneError as exc:
            raise model_error(exc) from exc
        payload = completion_json(
            [completion],
            id_=new_id("chatcmpl-"),
            created=int(time.time()),
            model=model_name,
            logprobs=body.logprobs,
            token_ids=body.return_token_ids,
            tokens_as_ids=body.return_tokens_as_token_ids,
        )
        return JSONResponse(payload)

    @router.post("/sessions/{session_id}/reward")
    async def reward(session_id: SessionId, body: RewardBody) -> dict[str, Any]:
        try:
            episode = await asyncio.to_thread(store.reward, session_id, body.session_reward())
        except SessionNotFoundError as exc:
            raise _not_found(exc) from exc
        except SessionRewardedError as exc:
            raise _rewarded(exc) from exc
        return {
            "id": session_id,
            "object": "session.reward",
            "reward": body.reward,
            "calls": len(episode.calls),
            "episode_id": episode.id,
        }

    @router.get("/sessions")
    async def sessions(
        rewarded: bool | None = None, limit: Annotated[int | None, Query(ge=1)] = None
    ) -> dict[str, Any]:
        found = await asyncio.to_thread(store.sessions, rewarded=rewarded, limit=limit)
        return {"object": "list", "data": [_summary_json(s) for s in found]}

    @router.get("/sessions/{session_id}")
    async def session(session_id: SessionId) -> dict[str, Any]:
        try:
            summary = await asyncio.to_thread(store.session, session_id)
            episode = await asyncio.to_thread(store.episode, session_id)
        except SessionNotFoundError as exc:
            raise _not_found(exc) from exc
        versions = episode.metadata.get("policy_versions", [])
        return {
            **_summary_json(summary),
            "messages": episode.messages,
            "output": episode.output,
            "policy_versions": versions,
        }

    app.include_router(router)
    return app
