"""The viewer as an ASGI app (Starlette), for ``hone view --serve`` and for mounting in
another app (``hone server``)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hone.errors import ConfigError
from hone.view._page import page_json, render_page
from hone.view._sources import ViewerData

__all__ = ["ViewerSource", "viewer_app"]

#: The page's data, or a function that builds it afresh for every request (so a reload
#: shows episodes and curves written since).
ViewerSource = ViewerData | Callable[[], ViewerData]


def viewer_app(source: ViewerSource) -> Any:
    """An ASGI app serving the viewer: ``GET /`` is the page, ``GET /data.json`` its data.

    Mount it under a prefix with Starlette's or FastAPI's ``app.mount("/view", viewer_app(...))``.

    Raises:
        ConfigError: Starlette is not installed (``pip install 'hone[serve]'``).
    """
    try:
        from starlette.applications import Starlette
        from starlette.concurrency import run_in_threadpool
        from starlette.requests import Request
        from starlette.responses import HTMLResponse, Response
        from starlette.routing import Route
    except ImportError as exc:  # the `serve` extra
        raise ConfigError("serving the viewer needs Starlette: pip install 'hone[serve]'") from exc

    async def current() -> ViewerData:
        # Reading files and drawing is blocking work: keep it off the event loop.
        return await run_in_threadpool(source) if callable(source) else source

    async def page(request: Request) -> Response:
        return HTMLResponse(render_page(await current()))

    async def data(request: Request) -> Response:
        return Response(page_json(await current()), media_type="application/json")

    return Starlette(routes=[Route("/", page), Route("/data.json", data)])
