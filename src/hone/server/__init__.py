"""An agent server that LangGraph's SDK talks to (``hone server``).

It speaks the LangGraph Agent Server API — assistants, threads with their state and
history, runs (background, streamed over SSE, waited for; on a thread or stateless), the
long-term store — over hone graphs, with checkpoints in SQLite (default) or PostgreSQL, API
keys with per-user threads, and runs that survive a restart. Needs the ``serve`` extra::

    from langgraph_sdk import get_sync_client
    from hone.server import ServerConfig, running_server

    config = ServerConfig(graphs={"agent": "my_agent:graph"}, database="agents.db")
    with running_server(config) as url:
        client = get_sync_client(url=url)
        thread = client.threads.create()
        client.runs.wait(thread["thread_id"], "agent", input={"messages": [...]})

Not to be confused with :mod:`hone.serve`, which serves a *model* over the OpenAI API.
"""

from __future__ import annotations

try:
    import fastapi  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    from hone.errors import ConfigError

    raise ConfigError(
        "the agent server needs FastAPI and uvicorn: pip install 'hone[serve]'"
    ) from exc

from hone.server._app import create_app
from hone.server._config import AuthConfig, ServerConfig, load_server_config
from hone.server._context import ServerState
from hone.server._serve import running_server, serve

__all__ = [
    "AuthConfig",
    "ServerConfig",
    "ServerState",
    "create_app",
    "load_server_config",
    "running_server",
    "serve",
]
