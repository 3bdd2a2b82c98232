"""The FastAPI app that serves any :class:`~hone.models.ModelBackend` as an OpenAI-compatible API."""

from __future__ import annotations

import hmac
import logging
import time
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from hone.errors import HoneError
from hone.messages import new_id
from hone.models._protocol import ChatRequest, Completion, ModelBackend
from hone.serve._adapters import AdapterPool
from hone.serve._control import PauseGate, install_control_routes
from hone.serve._errors import APIError, bad_request, model_error
from hone.serve._responses import completion_json
from hone.serve._responses_api import (
    OutputIds,
    ResponsesBody,
    ResponseStore,
    output_items,
    response_json,
)
from hone.serve._responses_stream import ResponseEvents
from hone.serve._schema import ChatCompletionBody, FieldError
from hone.serve._stream import stream_response

__all__ = ["create_app", "install_error_handlers"]

logger = logging.getLogger(__name__)


def create_app(
    model: ModelBackend,
    *,
    model_name: str,
    api_key: str | None = None,
    adapters: AdapterPool | None = None,
) -> FastAPI:
    """A FastAPI app serving ``model`` under the OpenAI API as ``model_name``.

    Routes: ``POST /v1/chat/completions`` (plain and streamed, ``n`` ≥ 1, tools with
    ``tool_choice`` and ``parallel_tool_calls``, ``response_format``, logprobs with
    ``top_logprobs``, and vLLM's ``return_token_ids``, ``top_k``, ``chat_template_kwargs``,
    ``thinking_token_budget``), ``POST /v1/responses`` (the Responses API, plain and
    streamed, with ``previous_response_id`` over the last 1,024 stored responses, in memory),
    ``GET /v1/models``, ``GET /v1/models/{id}``, ``GET /health``. With ``api_key`` set, every
    ``/v1`` route needs ``Authorization: Bearer <api_key>``. Errors are OpenAI-shaped:
    ``{"error": {"message", "type", "param", "code"}}``, ``param`` naming the field at fault.

    vLLM's RL routes too (``hone.serve._control``): ``/v1/load_lora_adapter``,
    ``/v1/unload_lora_adapter`` (with ``adapters``, an :class:`AdapterPool` over ``model``:
    requests pick an adapter by ``model=<lora_name>``), ``/pause``, ``/resume``,
    ``/is_paused``.
    """
    app = FastAPI(title="hone", summary=f"OpenAI-compatible API serving {model_name}")
    created = int(time.time())
    store = ResponseStore()
    gate = PauseGate()
    app.state.pause_gate = gate

    def check_key(request: Request) -> None:
        if api_key is None:
            return
        header = request.headers.get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip(), api_key):
            raise APIError(
                401,
                "Incorrect API key provided.",
                type_="invalid_request_error",
                code="invalid_api_key",
            )

    def check_model(name: str) -> ModelBackend:
        """The backend that serves ``name`` (the model, or one of its LoRA adapters)."""
        if adapters is not None and (name == model_name or name in adapters.names()):
            return adapters.backend(None if name == model_name else name)
        if name != model_name:
            served = ", ".join([model_name, *(adapters.names() if adapters else [])])
            raise APIError(
                404,
                f"The model '{name}' does not exist; this server serves '{served}'.",
                type_="invalid_request_error",
                code="model_not_found",
            )
        return model

    _install_error_handlers(app)
    install_control_routes(app, gate, adapters, check_key)

    @app.get("/health")
    async def health() -> dict[str, str]:
        return {"status": "ok", "model": model_name}

    @app.get("/v1/models", dependencies=[Depends(check_key)])
    async def list_models() -> dict[str, Any]:
        cards = [_model_card(model_name, created)]
        for name in adapters.names() if adapters is not None else ():
            cards.append({**_model_card(name, created), "parent": model_name})
        return {"object": "list", "data": cards}

    @app.get("/v1/models/{name:path}", dependencies=[Depends(check_key)])
    async def get_model(name: str) -> dict[str, Any]:
        check_model(name)
        if name != model_name:  # a LoRA adapter over the model
            return {**_model_card(name, created), "parent": model_name}
        return _model_card(model_name, created)

    @app.post("/v1/chat/completions", dependencies=[Depends(check_key)], response_model=None)
    async def chat_completions(body: ChatCompletionBody) -> JSONResponse | StreamingResponse:
        served = check_model(body.model)
        try:
            request = body.chat_request()
        except FieldError as exc:
            raise bad_request(str(exc), param=exc.param) from exc
        except ValueError as exc:
            raise bad_request(str(exc), param="messages", code="invalid_messages") from exc
        async with gate.admit():  # waits while paused; a stream counts until it starts
            if body.stream:
                return await stream_response(served, request, body, body.model)
            return await _completion_response(served, request, body, body.model)

    @app.post("/v1/responses", dependencies=[Depends(check_key)], response_model=None)
    async def responses(body: ResponsesBody) -> JSONResponse | StreamingResponse:
        served = check_model(body.model)
        try:
            request = body.chat_request(store.history(body.previous_response_id))
        except FieldError as exc:
            raise bad_request(str(exc), param=exc.param) from exc
        ids = OutputIds.new()

        def remember(completion: Completion) -> None:
            if body.store:
                store.put(ids.response, body, request, completion.message)

        if body.stream:
            events = aiter(served.stream(request))
            try:  # the first event before answering, so early failures get a status code
                first = await anext(events)
            except HoneError as exc:
                raise model_error(exc) from exc
            writer = ResponseEvents(body, ids, model=model_name, on_done=remember)
            return StreamingResponse(writer.lines(first, events), media_type="text/event-stream")
        try:
            completion = await served.complete(request)
        except HoneError as exc:
            raise model_error(exc) from exc
        remember(completion)
        output = output_items(completion, ids, logprobs=body.wants_logprobs)
        payload = response_json(
            body,
            ids,
            model=model_name,
            created=int(time.time()),
            output=output,
            completion=completion,
        )
        return JSONResponse(payload)

    return app


def _model_card(name: str, created: int) -> dict[str, Any]:
    return {"id": name, "object": "model", "created": created, "owned_by": "hone"}


async def _completion_response(
    model: ModelBackend, request: ChatRequest, body: ChatCompletionBody, model_name: str
) -> JSONResponse:
    try:
        if body.n == 1:
            completions = [await model.complete(request)]
        else:
            completions = await model.complete_batch([request] * body.n)
    except HoneError as exc:
        raise model_error(exc) from exc
    payload = completion_json(
        completions,
        id_=new_id("chatcmpl-"),
        created=int(time.time()),
        model=model_name,
        logprobs=body.logprobs,
        token_ids=body.return_token_ids,
        tokens_as_ids=body.return_tokens_as_token_ids,
    )
    return JSONResponse(payload)


def install_error_handlers(app: FastAPI) -> None:
    """Answer errors on ``app`` as OpenAI-shaped JSON (shared by the gateway's app)."""
    _install_error_handlers(app)


def _install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(APIError)
    async def api_error(request: Request, exc: APIError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def invalid_body(request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err.get('loc', ()) if p != 'body')}: {err.get('msg')}"
            for err in exc.errors()
        )
        first = exc.errors()[0].get("loc", ()) if exc.errors() else ()
        param = ".".join(str(p) for p in first if p != "body") or None
        return bad_request(f"invalid request: {problems}", param=param).response()

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        kind = "invalid_request_error" if exc.status_code < 500 else "server_error"
        return APIError(exc.status_code, str(exc.detail), type_=kind).response()

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error serving %s", request.url.path)
        return APIError(500, f"internal error: {exc}", type_="server_error").response()
