"""vLLM's RL control routes on ``hone serve``: runtime LoRA loading and pause/resume.

Routes (the same paths and bodies as vLLM's, so one client and one contract suite serve both):

* ``POST /v1/load_lora_adapter {lora_name, lora_path, load_inplace}`` and ``POST
  /v1/unload_lora_adapter {lora_name}``: register or forget an adapter of the
  :class:`~hone.serve.AdapterPool`; requests pick it by ``model=<lora_name>``.
* ``POST /pause?mode=wait|keep|abort``, ``POST /resume``, ``GET /is_paused``. While paused,
  new generation requests wait until ``/resume`` (vLLM blocks them too). ``wait``: ``/pause``
  answers once the requests in flight have finished. ``abort``: requests in flight are
  cancelled and answered 503 (``code: "aborted"``). ``keep``: ``/pause`` answers at once and
  requests in flight go on; vLLM freezes them mid-generation and continues them after
  ``/resume``, but a local model cannot park a batch half-way, so here they finish on the
  weights they started with (a load runs on the compute thread after them). Either way no
  request is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any, Literal

from fastapi import Depends, FastAPI
from pydantic import BaseModel, ConfigDict

from hone.errors import ConfigError, ModelLoadError, ModelNotFoundError
from hone.serve._adapters import AdapterPool
from hone.serve._errors import APIError

__all__ = ["PauseGate", "install_control_routes"]

logger = logging.getLogger(__name__)

PauseModeName = Literal["wait", "keep", "abort"]


class _Aborted(Exception):
    """A request cancelled by ``/pause?mode=abort``."""


class PauseGate:
    """Lets generation requests through unless the server is paused; tracks those in flight."""

    def __init__(self) -> None:
        self._open = asyncio.Event()
        self._open.set()
        self._in_flight: set[asyncio.Task[Any]] = set()
        self._aborted: set[asyncio.Task[Any]] = set()
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def paused(self) -> bool:
        """Whether new requests wait."""
        return not self._open.is_set()

    @property
    def in_flight(self) -> int:
        """Requests running now."""
        return len(self._in_flight)

    @asynccontextmanager
    async def admit(self) -> AsyncIterator[None]:
        """Wait while paused, then count the calling request in flight until the block ends.

        Raises:
            APIError: 503 when ``/pause?mode=abort`` cancelled the request.
        """
        await self._open.wait()
        task = asyncio.current_task()
        if task is None:  # pragma: no cover - a request always runs in a task
            raise RuntimeError("PauseGate.admit must run inside an asyncio task")
        self._in_flight.add(task)
        self._idle.clear()
        try:
            yield
        except asyncio.CancelledError:
            if task in self._aborted and task.uncancel() == 0:
                raise APIError(
                    503,
                    "the request was aborted by POST /pause?mode=abort; send it again",
                    type_="server_error",
                    code="aborted",
                ) from None
            raise
        finally:
            self._aborted.discard(task)
            self._in_flight.discard(task)
            if not self._in_flight:
                self._idle.set()

    async def pause(self, mode: PauseModeName) -> None:
        """Stop admitting requests; treat those in flight as ``mode`` says."""
        self._open.clear()
        if mode == "abort":
            for task in list(self._in_flight):
                self._aborted.add(task)
                task.cancel()
        if mode in ("wait", "abort"):
            await self._idle.wait()

    def resume(self) -> None:
        """Admit requests again (those waiting go first)."""
        self._open.set()


class _LoadBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    lora_name: str
    lora_path: str
    load_inplace: bool = False


class _UnloadBody(BaseModel):
    model_config = ConfigDict(extra="allow")
    lora_name: str
    lora_int_id: int | None = None


def install_control_routes(
    app: FastAPI,
    gate: PauseGate,
    adapters: AdapterPool | None,
    check_key: Callable[..., None],
) -> None:
    """Add the LoRA and pause/resume routes to ``app``."""

    def pool() -> AdapterPool:
        if adapters is None:
            raise APIError(
                400,
                "this server has no LoRA support: serve a local transformers model with "
                "adapters enabled (hone serve MODEL --max-loras N)",
                type_="invalid_request_error",
                code="lora_not_enabled",
            )
        return adapters

    @app.post("/v1/load_lora_adapter", dependencies=[Depends(check_key)])
    async def load_lora_adapter(body: _LoadBody) -> dict[str, str]:
        try:
            await pool().register(
                body.lora_name, body.lora_path, replace_existing=body.load_inplace
            )
        except ConfigError as exc:
            raise APIError(400, str(exc), type_="invalid_request_error", param="lora_name") from exc
        except ModelLoadError as exc:
            raise APIError(
                400, str(exc), type_="invalid_request_error", param="lora_path", code="load_failed"
            ) from exc
        return {"status": "ok", "message": f"Success: LoRA adapter '{body.lora_name}' added."}

    @app.post("/v1/unload_lora_adapter", dependencies=[Depends(check_key)])
    async def unload_lora_adapter(body: _UnloadBody) -> dict[str, str]:
        try:
            await pool().unregister(body.lora_name)
        except ModelNotFoundError as exc:
            raise APIError(
                404, str(exc), type_="invalid_request_error", param="lora_name", code="not_found"
            ) from exc
        return {"status": "ok", "message": f"Success: LoRA adapter '{body.lora_name}' removed."}

    @app.post("/pause", dependencies=[Depends(check_key)])
    async def pause(mode: PauseModeName = "abort") -> dict[str, Any]:
        await gate.pause(mode)
        return {"status": "paused", "mode": mode}

    @app.post("/resume", dependencies=[Depends(check_key)])
    async def resume() -> dict[str, str]:
        gate.resume()
        return {"status": "resumed"}

    @app.get("/is_paused", dependencies=[Depends(check_key)])
    async def is_paused() -> dict[str, bool]:
        return {"is_paused": gate.paused}
