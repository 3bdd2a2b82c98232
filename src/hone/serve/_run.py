"""Running the app: in the foreground (``hone serve``) or in a background thread (tests, notebooks).

Both bind their port before anything else, so a port that is taken is reported at once, as
an error naming the port, before a model is loaded or a "serving" line is printed.
"""

from __future__ import annotations

import errno
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from hone.errors import ConfigError
from hone.models._protocol import ModelBackend
from hone.serve._app import create_app

__all__ = ["bind_port", "running_server", "serve"]

logger = logging.getLogger(__name__)


def bind_port(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (``port=0``: a free one), ready for uvicorn.

    Raises:
        ConfigError: the port is in use, or the address cannot be bound (the message says
            which and why).
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    # As uvicorn does: a port left in TIME_WAIT by a stopped server can be bound again at
    # once; one another process listens on still cannot.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise ConfigError(
                f"port {port} is in use on {host}; stop what listens there or choose "
                "another port (hone serve --port N)"
            ) from exc
        reason = exc.strerror or str(exc)
        raise ConfigError(f"cannot listen on {host}:{port}: {reason}") from exc
    return sock


def _backend(model: ModelBackend | str, parser: str | None) -> ModelBackend:
    if not isinstance(model, str):
        if parser is not None:
            raise ConfigError(
                "parser= applies when serve loads the model from a spec; give the backend "
                "its parser when you make it"
            )
        return model
    from hone.models._spec import load_model

    return load_model(model) if parser is None else load_model(model, parser=parser)


def serve(
    model: ModelBackend | str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    api_key: str | None = None,
    name: str | None = None,
    parser: str | None = None,
    log_level: str = "info",
    on_ready: Callable[[str, str], None] | None = None,
) -> None:
    """Serve a model until interrupted.

    The port is bound first; then ``model`` (a backend, or anything
    :func:`hone.models.load_model` reads) is loaded; then ``on_ready(base_url, model_id)``
    is called, just before requests are taken.

    Args:
        model: a model backend, or a model spec / object path.
        name: the model id clients ask for; defaults to the backend's name.
        parser: how the loaded model's replies are parsed, a name from
            :func:`hone.parsing.parser_names` (default: the backend's own choice). Only for a
            model given as a string.
        on_ready: called with the ``/v1`` base URL and the served model id.

    Raises:
        ConfigError: the port is in use or cannot be bound, or ``parser`` is not a known name
            (the message lists them).
        ModelSpecError, ModelLoadError: the model cannot be loaded.
    """
    if parser is not None:
        from hone.parsing import parser_names

        if parser not in parser_names():
            raise ConfigError(
                f"unknown parser {parser!r}; choose one of {', '.join(parser_names())}"
            )
    sock = bind_port(host, port)
    try:
        backend = _backend(model, parser)
        served = name or backend.name
        app = create_app(backend, model_name=served, api_key=api_key)
        bound_port = sock.getsockname()[1]
        url = f"http://{host}:{bound_port}/v1"
        logger.info("serving %s on %s", served, url)
        if on_ready is not None:
            on_ready(url, served)
        server = uvicorn.Server(uvicorn.Config(app, log_level=log_level))
        server.run(sockets=[sock])
    finally:
        sock.close()


@contextmanager
def running_server(app: Any, *, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run an ASGI app with uvicorn in a background thread; yield its ``/v1`` base URL.

    ``port=0`` picks a free port. The server stops when the ``with`` block ends.

    Raises:
        ConfigError: the port is in use, or the server did not start within 10 seconds.
    """
    sock = bind_port(host, port)
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
