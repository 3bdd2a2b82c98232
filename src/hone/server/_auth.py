"""Who is calling: an API key (``x-api-key``, what ``langgraph-sdk`` sends, or
``Authorization: Bearer``) mapped to a user id, or a function of the request headers.

Without auth every caller is the one user :data:`ANONYMOUS`. With auth, a request without a
key, or with a key nobody has, gets a 401; threads and runs belong to the user who made them
and look missing (404) to everyone else.
"""

from __future__ import annotations

import hmac
import inspect
import os
from collections.abc import Callable, Mapping
from typing import Any

from fastapi import Request

from hone._imports import import_object
from hone.errors import ConfigError
from hone.server._config import AuthConfig
from hone.server._errors import ServerError

__all__ = ["ANONYMOUS", "Authenticator"]

#: The user of every request when the server has no auth.
ANONYMOUS = "anonymous"


def _key_of(headers: Mapping[str, str]) -> str | None:
    key = headers.get("x-api-key")
    if key:
        return key.strip()
    scheme, _, token = headers.get("authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return None


class Authenticator:
    """A FastAPI dependency: the calling user's id, or a 401."""

    def __init__(self, auth: AuthConfig | None, *, base_dir: str | os.PathLike[str]) -> None:
        self._keys = dict(auth.api_keys) if auth is not None else {}
        self._function: Callable[[Mapping[str, str]], Any] | None = None
        if auth is not None and auth.authenticate is not None:
            function = auth.authenticate
            if isinstance(function, str):
                try:
                    function = import_object(function, base_dir=base_dir)
                except ConfigError as exc:
                    raise ConfigError(f"auth.authenticate ({auth.authenticate}): {exc}") from exc
            if not callable(function):
                raise ConfigError(f"auth.authenticate must name a function, got {function!r}")
            self._function = function
        self.enabled = bool(self._keys) or self._function is not None

    async def identify(self, headers: Mapping[str, str]) -> str:
        """The user id of a request with these headers (lower-case names).

        Raises:
            ServerError: 401, no credentials or wrong ones.
        """
        if not self.enabled:
            return ANONYMOUS
        key = _key_of(headers)
        if key is not None:
            for known, user in self._keys.items():
                if hmac.compare_digest(key.encode(), known.encode()):
                    return user
        if self._function is not None:
            user = self._function(dict(headers))
            if inspect.isawaitable(user):
                user = await user
            if isinstance(user, str) and user:
                return user
            if user is not None:
                raise TypeError(f"auth.authenticate returned {user!r}; return a user id or None")
        if key is None:
            raise ServerError(
                401,
                "missing API key: send it in the x-api-key header or as "
                "'Authorization: Bearer KEY'",
                code="missing_api_key",
            )
        raise ServerError(401, "invalid API key", code="invalid_api_key")

    async def __call__(self, request: Request) -> str:
        """The calling user's id (a FastAPI dependency)."""
        return await self.identify({k.lower(): v for k, v in request.headers.items()})
