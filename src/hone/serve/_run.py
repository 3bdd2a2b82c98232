"""Running the app: in the foreground (``hone serve``) or in a background thread (tests, notebooks)."""

from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from hone.errors import ConfigError
from hone.models._protocol import ModelBackend
from hone.serve._app import create_app

__all__ = ["running_server", "serve"]

logger = logging.getLogger(__name__)


def _backend(model: ModelBackend | str) -> ModelBackend:
    if not isinstance(model, str):
        return model
    from hone.models._spec import load_model

    return load_model(model)


def serve(
    model: ModelBackend | str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    api_key: str | None = None,
    name: str | None = None,
    log_level: str = "info",
) -> None:
    """Serve a model (a backend, or a spec for :func:`hone.models.load_model`) until interrupted.

    ``name`` is the model id clients ask for; it defaults to the backend's name.
    """
    backend = _backend(model)
    app = create_app(backend, model_name=name or backend.name, api_key=api_key)
    logger.info("serving %s on http://%s:%d/v1", name or backend.name, host, port)
    uvicorn.run(app, host=host, port=port, log_level=log_level)


@contextmanager
def running_server(app: Any, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run an ASGI app with uvicorn in a background thread; yield its ``/v1`` base URL.

    ``port=0`` picks a free port. The server stops when the ``with`` block ends.

    Raises:
        ConfigError: the server did not start within 10 seconds.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    bound_port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="off")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10.0
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise ConfigError(f"the server on {host}:{bound_port} did not start")
            time.sleep(0.01)
        yield f"http://{host}:{bound_port}/v1"
    finally:
        server.should_exit = True
        thread.join(timeout=10.0)
        sock.close()
