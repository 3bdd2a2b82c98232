"""Running the app: in the foreground (``hone serve``) or in a background thread (tests, notebooks).

Both bind their port before anything else, so a port that is taken is reported at once, as
an error naming the port, before a model is loaded or a "serving" line is printed.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import uvicorn

from hone._net import bind_port
from hone.errors import ConfigError
from hone.models._protocol import ModelBackend
from hone.serve._adapters import AdapterPool
from hone.serve._app import create_app

__all__ = ["bind_port", "running_server", "serve"]

logger = logging.getLogger(__name__)


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
    max_loras: int | None = None,
    lora_modules: Mapping[str, str] | None = None,
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
        max_loras: serve LoRA adapters over the model (a local transformers model), at most
            this many in memory at once (:class:`AdapterPool`); None: no adapters.
        lora_modules: adapters to register at start, name -> folder (vLLM's
            ``--lora-modules``); needs ``max_loras``.

    Raises:
        ConfigError: the port is in use or cannot be bound, or ``parser`` is not a known name
            (the message lists them).
        ModelSpecError, ModelLoadError: the model cannot be loaded, or an adapter of
            ``lora_modules`` cannot.
    """
    if lora_modules and max_loras is None:
        raise ConfigError("lora_modules need max_loras (hone serve --max-loras N)")
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
        adapters = _adapter_pool(backend, max_loras, lora_modules or {})
        app = create_app(backend, model_name=served, api_key=api_key, adapters=adapters)
        bound_port = sock.getsockname()[1]
        url = f"http://{host}:{bound_port}/v1"
        logger.info("serving %s on %s", served, url)
        if on_ready is not None:
            on_ready(url, served)
        server = uvicorn.Server(uvicorn.Config(app, log_level=log_level))
        server.run(sockets=[sock])
    finally:
        sock.close()


def _adapter_pool(
    backend: ModelBackend, max_loras: int | None, modules: Mapping[str, str]
) -> AdapterPool | None:
    if max_loras is None:
        return None
    from hone.models._transformers import TransformersModel

    if not isinstance(backend, TransformersModel):
        raise ConfigError(
            f"LoRA adapters are served over a local transformers model (tiny:, hf:DIR); "
            f"{backend.name!r} is a {type(backend).__name__}"
        )
    pool = AdapterPool(backend, max_loaded=max_loras)

    async def register() -> None:
        for adapter, path in modules.items():
            await pool.register(adapter, path)

    asyncio.run(register())
    return pool


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
