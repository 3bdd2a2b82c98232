"""HTTP errors as the Agent Server API answers them: a status and a JSON body.

Every error body is ``{"detail": <message>, "code": <machine-readable kind>}`` (validation
errors add ``"errors"``, the individual problems). ``detail`` is what the ``langgraph-sdk``
client shows in its exceptions. Nothing a client sends makes a 500: bad input is a 4xx
naming the problem, and a failure inside a graph is the *run's* error, not the request's.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

__all__ = [
    "BodyLimit",
    "RefuseNul",
    "ServerError",
    "bad_request",
    "conflict",
    "install_error_handlers",
    "not_found",
]

logger = logging.getLogger(__name__)

_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid_request",
}


class ServerError(Exception):
    """An error answered with ``status`` and ``{"detail": message, "code": code}``."""

    def __init__(self, status: int, message: str, *, code: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code or _CODES.get(status, "error")

    def response(self) -> JSONResponse:
        """The JSON response for this error."""
        return JSONResponse({"detail": self.message, "code": self.code}, status_code=self.status)


def not_found(what: str, ident: str) -> ServerError:
    """A 404 for an unknown (or someone else's) ``what`` (``"thread"``, ``"run"``, ...)."""
    return ServerError(404, f"{what} {ident!r} not found", code=f"{what}_not_found")


def conflict(message: str, *, code: str) -> ServerError:
    """A 409: the request fits the API but not the resource's current state."""
    return ServerError(409, message, code=code)


def bad_request(message: str, *, code: str = "invalid_request") -> ServerError:
    """A 422 for a request the API cannot accept (FastAPI's status for invalid bodies)."""
    return ServerError(422, message, code=code)


def _problem(err: Any) -> str:
    loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "path"))
    return f"{loc}: {err.get('msg')}" if loc else str(err.get("msg"))


def install_error_handlers(app: FastAPI) -> None:
    """Answer every error with the JSON shape above (validation problems as 422)."""

    @app.exception_handler(ServerError)
    async def server_error(request: Request, exc: ServerError) -> JSONResponse:
        return exc.response()

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg"))}
            for e in exc.errors()
        ]
        message = "invalid request: " + "; ".join(_problem(e) for e in exc.errors())
        body = {"detail": message, "code": "invalid_request", "errors": errors}
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _CODES.get(exc.status_code, "error")
        return JSONResponse(
            {"detail": str(exc.detail), "code": code},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unexpected error serving %s %s", request.method, request.url.path)
        body = {"detail": f"internal error: {type(exc).__name__}", "code": "internal_error"}
        return JSONResponse(body, status_code=500)


ASGIApp = Callable[
    [MutableMapping[str, Any], Callable[[], Awaitable[Any]], Callable[[Any], Awaitable[None]]],
    Awaitable[None],
]


class BodyLimit:
    """ASGI middleware: a request body over ``max_bytes`` gets a 413 with a JSON body.

    A declared ``Content-Length`` over the limit is refused before reading; a body sent
    without one (chunked) is read first, and refused as soon as it passes the limit.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared: int | None = None
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await self._refuse(send, 400, "Content-Length is not a number", "bad_request")
                    return
        if declared is not None:
            if declared > self.max_bytes:
                await self._too_large(send)
                return
            await self.app(scope, receive, send)
            return
        # No declared length (chunked): read the body first, refusing it past the limit,
        # then hand the app what was read.
        buffered: list[Any] = []
        seen = 0
        while True:
            message = await receive()
            buffered.append(message)
            if message.get("type") != "http.request":
                break
            seen += len(message.get("body", b""))
            if seen > self.max_bytes:
                await self._too_large(send)
                return
            if not message.get("more_body", False):
                break

        async def replay() -> Any:
            return buffered.pop(0) if buffered else await receive()

        await self.app(scope, replay, send)

    async def _too_large(self, send: Callable[[Any], Awaitable[None]]) -> None:
        await self._refuse(
            send,
            413,
            f"request body is larger than the server's limit of {self.max_bytes} bytes",
            "payload_too_large",
        )

    @staticmethod
    async def _refuse(
        send: Callable[[Any], Awaitable[None]], status: int, message: str, code: str
    ) -> None:
        response = JSONResponse({"detail": message, "code": code}, status_code=status)
        await send(
            {"type": "http.response.start", "status": status, "headers": response.raw_headers}
        )
        await send({"type": "http.response.body", "body": response.body})


class RefuseNul:
    """ASGI middleware: a URL with a NUL character (``%00``) in its path or query gets a 422.

    Ids and parameters become SQL parameters, and PostgreSQL refuses text with NUL in it;
    refusing them here gives one precise error on every database.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(
        self,
        scope: MutableMapping[str, Any],
        receive: Callable[[], Awaitable[Any]],
        send: Callable[[Any], Awaitable[None]],
    ) -> None:
        if scope["type"] == "http" and (
            "\x00" in scope.get("path", "")
            or b"%00" in scope.get("query_string", b"")
            or b"\x00" in scope.get("query_string", b"")
        ):
            await BodyLimit._refuse(
                send,
                422,
                "the URL contains a NUL character (%00), which no id or parameter may hold",
                "invalid_request",
            )
            return
        await self.app(scope, receive, send)
