"""OpenAI-shaped API errors, and the status each backend exception maps to."""

from __future__ import annotations

import logging

from fastapi.responses import JSONResponse

from hone.errors import (
    CapabilityError,
    ContextOverflowError,
    HoneError,
    ModelConnectionError,
)
from hone.serve._responses import error_json

__all__ = ["APIError", "bad_request", "model_error"]

logger = logging.getLogger(__name__)


class APIError(Exception):
    """An error answered as OpenAI-shaped JSON with an HTTP status."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type_: str,
        code: str | None = None,
        param: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type_
        self.code = code
        self.param = param

    def json(self) -> dict[str, object]:
        """The error body: ``{"error": {"message", "type", "param", "code"}}``."""
        return error_json(self.message, type_=self.type, code=self.code, param=self.param)

    def response(self) -> JSONResponse:
        """The JSON response for this error."""
        return JSONResponse(self.json(), status_code=self.status)


def bad_request(message: str, *, param: str | None, code: str = "invalid_request") -> APIError:
    """A 400 ``invalid_request_error`` naming the request field at fault."""
    return APIError(400, message, type_="invalid_request_error", code=code, param=param)


def model_error(exc: HoneError) -> APIError:
    """The API error a backend exception becomes."""
    if isinstance(exc, ContextOverflowError):
        return APIError(
            400, str(exc), type_="invalid_request_error", code="context_length_exceeded"
        )
    if isinstance(exc, CapabilityError):
        return APIError(400, str(exc), type_="invalid_request_error", code="unsupported_parameter")
    if isinstance(exc, ModelConnectionError):
        return APIError(502, str(exc), type_="server_error", code="upstream_unavailable")
    logger.error("model backend failed: %s", exc)
    return APIError(500, str(exc), type_="server_error", code="model_error")
