"""What every route reaches: the server's parts (:class:`ServerState`, ``app.state.hone``),
the calling user, and lookups that answer 404 for what the user may not see."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, Request

from hone.server._auth import Authenticator
from hone.server._config import ServerConfig
from hone.server._db import Database
from hone.server._errors import not_found
from hone.server._events import EventLogs
from hone.server._graphs import GraphRegistry, assistant_id_for
from hone.server._records import AssistantRecord, RunRecord, ThreadRecord
from hone.server._runs import RunManager
from hone.store import BaseStore

__all__ = [
    "Server",
    "ServerState",
    "User",
    "own_run",
    "own_thread",
    "resolve_assistant",
    "server_state",
]


@dataclass(slots=True)
class ServerState:
    """The parts of a running agent server, at ``app.state.hone``.

    Routers mounted next to the API (a viewer, an admin page) read threads, runs and
    checkpoints through these: ``request.app.state.hone.db``, ``.checkpointer``,
    ``.graphs.graph(graph_id)``.

    Attributes:
        config: the settings the server was made with.
        db: assistants, threads and runs.
        checkpointer: the checkpoint saver every graph runs with.
        store: the long-term store every graph runs with.
        graphs: the registered graphs.
        runs: executes and tracks runs.
        logs: the event logs of recent runs.
        auth: who is calling.
    """

    config: ServerConfig
    db: Database
    checkpointer: Any
    store: BaseStore
    graphs: GraphRegistry
    runs: RunManager
    logs: EventLogs
    auth: Authenticator


def server_state(request: Request) -> ServerState:
    """The server's parts (a FastAPI dependency)."""
    state: ServerState = request.app.state.hone
    return state


async def _user(request: Request) -> str:
    state = server_state(request)
    return await state.auth(request)


Server = Annotated[ServerState, Depends(server_state)]
User = Annotated[str, Depends(_user)]


async def own_thread(state: ServerState, thread_id: str, user: str) -> ThreadRecord:
    """The user's thread.

    Raises:
        ServerError: 404, no such thread, or another user's.
    """
    thread = await state.db.get_thread(thread_id)
    if thread is None or thread.owner != user:
        raise not_found("thread", thread_id)
    return thread


async def own_run(state: ServerState, thread_id: str, run_id: str, user: str) -> RunRecord:
    """The user's run on that thread.

    Raises:
        ServerError: 404, no such run on the thread, or another user's.
    """
    run = await state.db.get_run(run_id)
    if run is None or run.thread_id != thread_id or run.owner != user or run.stateless:
        raise not_found("run", run_id)
    return run


async def resolve_assistant(state: ServerState, assistant_id: str, user: str) -> AssistantRecord:
    """The assistant an id (or a graph id, for its default assistant) names.

    Raises:
        ServerError: 404, no such assistant, or one another user created.
    """
    ident = assistant_id_for(assistant_id) if assistant_id in state.graphs else assistant_id
    record = await state.db.get_assistant(ident)
    if record is None or (record.owner is not None and record.owner != user):
        raise not_found("assistant", assistant_id)
    return record
