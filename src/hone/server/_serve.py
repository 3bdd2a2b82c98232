"""Running the agent server: in the foreground (``hone server``) or in a background thread
(tests, notebooks, docs). Both bind the port first, so a busy port fails at once."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import uvicorn
from fastapi import FastAPI

from hone._net import bind_port
from hone.errors import ConfigError
from hone.server._app import create_app
from hone.server._config import ServerConfig

__all__ = ["running_server", "serve"]

logger = logging.getLogger(__name__)


def serve(
    config: ServerConfig,
    *,
    host: str = "127.0.0.1",
    port: int = 2024,
    log_level: str = "info",
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the agent server until interrupted (Ctrl-C drains running runs, which resume
    at the next start).

    ``on_ready(base_url)`` is called once the port is bound and the graphs are loaded.

    Raises:
        ConfigError: the port is in use, a graph cannot be loaded, or a setting is invalid.
    """
    sock = bind_port(host, port)
    try:
        app = create_app(config)
        url = f"http://{host}:{sock.getsockname()[1]}"
        logger.info("agent server on %s", url)
        if on_ready is not None:
            on_ready(url)
        server = uvicorn.Server(uvicorn.Config(app, log_level=log_level, lifespan="on"))
        server.run(sockets=[sock])
    finally:
        sock.close()


@contextmanager
def running_server(
    app_or_config: FastAPI | ServerConfig, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[str]:
    """Run the agent server in a background thread; yield its base URL (for
    ``langgraph_sdk.get_client(url=...)``). ``port=0`` picks a free port. The server drains
    and stops when the ``with`` block ends.

    Raises:
        ConfigError: the port is in use, or the server did not start within 30 seconds.
    """
    app = app_or_config if isinstance(app_or_config, FastAPI) else create_app(app_or_config)
    sock = bind_port(host, port)
    bound = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 30.0
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(f"the agent server on {host}:{bound} did not start")
            time.sleep(0.01)
        yield f"http://{host}:{bound}"
    finally:
        server.should_exit = True
        thread.join(timeout=30.0)
        sock.close()
