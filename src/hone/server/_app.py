"""The agent server's FastAPI app: its parts built from a :class:`ServerConfig`, the API's
routers, auth, errors, body limits, and a lifespan that recovers unfinished runs at start
and drains running ones at shutdown."""

from __future__ import annotations

import logging
import os
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

from fastapi import APIRouter, Depends, FastAPI

from hone._version import __version__
from hone.checkpoint import Serializer
from hone.server import _api_assistants, _api_protocol, _api_runs, _api_store, _api_threads
from hone.server._auth import Authenticator
from hone.server._backends import is_postgres
from hone.server._config import ServerConfig
from hone.server._context import ServerState, server_state
from hone.server._db import open_database
from hone.server._errors import BodyLimit, RefuseNul, install_error_handlers
from hone.server._events import EventLogs
from hone.server._graphs import GraphRegistry, assistant_id_for
from hone.server._records import AssistantRecord
from hone.server._runs import RunManager

__all__ = ["build_state", "create_app"]

logger = logging.getLogger(__name__)


def _savers(config: ServerConfig) -> tuple[Any, Any]:
    location = config.database_location()
    # Checkpoints are encrypted when HONE_AES_KEY is set, as LangGraph's server does with
    # LANGGRAPH_AES_KEY.
    serde = Serializer.from_env()
    index = dict(config.store_index) if config.store_index else None
    ttl = dict(config.store_ttl) if config.store_ttl else None
    if is_postgres(location):
        from hone.checkpoint import PostgresSaver
        from hone.store import PostgresStore

        saver = PostgresSaver(location, schema=config.postgres_schema, serde=serde)
        saver.setup()
        store = PostgresStore(location, schema=config.postgres_schema, index=index, ttl=ttl)  # type: ignore[arg-type]
        store.setup()
        return saver, store
    from hone.checkpoint import SqliteSaver
    from hone.store import SqliteStore

    return SqliteSaver(location, serde=serde), SqliteStore(location, index=index, ttl=ttl)  # type: ignore[arg-type]


def build_state(config: ServerConfig) -> ServerState:
    """The server's parts: databases opened, graphs imported and bound.

    Raises:
        ConfigError: a graph cannot be imported or is not a hone graph, or a setting is
            invalid.
    """
    for key, value in config.env.items():
        os.environ[key] = value
    checkpointer, store = _savers(config)
    db = open_database(config.database_location(), postgres_schema=config.postgres_schema)
    db.setup_sync()
    graphs = GraphRegistry(
        config.graphs, base_dir=config.folder, checkpointer=checkpointer, store=store
    )
    logs = EventLogs()
    runs = RunManager(
        db=db,
        graphs=graphs,
        checkpointer=checkpointer,
        logs=logs,
        max_concurrent=config.max_concurrent_runs,
    )
    auth = Authenticator(config.auth, base_dir=config.folder)
    return ServerState(config, db, checkpointer, store, graphs, runs, logs, auth)


async def _start(state: ServerState) -> None:
    for graph_id in state.graphs.ids:
        ident = assistant_id_for(graph_id)
        existing = await state.db.get_assistant(ident)
        if existing is None:
            await state.db.put_assistant(
                AssistantRecord(
                    assistant_id=ident,
                    graph_id=graph_id,
                    name=graph_id,
                    metadata={"created_by": "system"},
                )
            )
    recovered = await state.runs.recover()
    if recovered:
        logger.info("resumed or restarted %d runs left unfinished by the last server", recovered)


async def _stop(state: ServerState) -> None:
    await state.runs.shutdown()
    for part in (state.db, state.checkpointer, state.store):
        close = getattr(part, "close", None)
        if close is not None:
            try:
                close()
            except Exception:
                logger.exception("closing %r failed", part)


def _system_routes(app: FastAPI, state: ServerState) -> None:
    """``/ok`` and ``/info``, which need no credentials."""

    @app.get("/ok", tags=["system"], summary="Health check")
    async def ok() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/info", tags=["system"], summary="Server information")
    async def info() -> dict[str, Any]:
        return {
            "version": __version__,
            "server": "hone",
            "graphs": state.graphs.ids,
            "flags": {
                "assistants": True,
                "crons": False,
                "langsmith": False,
                "store": True,
                "strict_resume": True,
            },
        }


def create_app(config: ServerConfig, *, routers: Sequence[APIRouter] = ()) -> FastAPI:
    """The agent server as an ASGI app, speaking the LangGraph Agent Server API.

    Serve it with uvicorn (or :func:`hone.server.serve` / :func:`hone.server.running_server`).
    Its parts are at ``app.state.hone`` (:class:`ServerState`) from the moment it is made;
    the lifespan recovers unfinished runs at start and drains runs at shutdown.

    Args:
        config: the server's settings.
        routers: more routes served beside the API (a viewer, an admin page), each
            ``include_router``-ed as given, behind the same auth; they reach the server's
            parts through ``request.app.state.hone``.

    Raises:
        ConfigError: a graph cannot be imported or is not a hone graph, or a setting is
            invalid.
    """
    state = build_state(config)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await _start(state)
        try:
            yield
        finally:
            await _stop(state)

    app = FastAPI(
        title="hone agent server",
        summary="The LangGraph Agent Server API over hone graphs",
        version=__version__,
        lifespan=lifespan,
    )
    app.state.hone = state
    install_error_handlers(app)
    app.add_middleware(BodyLimit, max_bytes=config.max_body_bytes)
    app.add_middleware(RefuseNul)

    _system_routes(app, state)
    secured = [Depends(server_state)]
    for module in (_api_assistants, _api_threads, _api_runs, _api_store, _api_protocol):
        app.include_router(module.router, dependencies=secured)
    # A WebSocket authenticates itself (FastAPI's request dependencies do not apply to it).
    app.add_api_websocket_route(
        "/threads/{thread_id}/stream/events", _api_protocol.thread_websocket
    )
    for router in routers:
        app.include_router(router, dependencies=[Depends(state.auth)])
    return app
