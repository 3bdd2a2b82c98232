"""Running the gateway in the foreground (``hone gateway``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

import uvicorn

from hone._net import bind_port
from hone.errors import ConfigError
from hone.models import BatchingModel, load_model
from hone.models._protocol import ModelBackend
from hone.serve._gateway import create_gateway_app
from hone.serve._gateway_model import TokenIds
from hone.serve._gateway_store import GatewayStore

__all__ = ["gateway_model", "serve_gateway"]

logger = logging.getLogger(__name__)


def serve_gateway(
    model: ModelBackend | str,
    *,
    db: str | Path = "gateway.db",
    host: str = "127.0.0.1",
    port: int = 8000,
    api_key: str | None = None,
    name: str | None = None,
    policy_version: int | str | None = None,
    token_ids: TokenIds = "auto",
    parser: str | None = None,
    max_batch: int | None = None,
    log_level: str = "info",
    on_ready: Callable[[str, str], None] | None = None,
) -> None:
    """Serve the gateway until interrupted (see :func:`~hone.serve.create_gateway_app`).

    The port is bound first, then the database is opened, then ``model`` (a backend, or
    anything :func:`hone.models.load_model` reads: ``tiny:``, ``hf:<dir>``,
    ``openai-compatible:<url>#<model>`` for an upstream server) is loaded; then
    ``on_ready(base_url, model_id)`` is called with the server's root URL (sessions live
    under ``<root>/sessions/<id>/v1``).

    ``parser`` names how a model loaded from a spec reads its replies (a name from
    :func:`hone.parsing.parser_names`). ``max_batch`` wraps the model in a
    :class:`~hone.models.BatchingModel`, so concurrent sessions' calls to a local model run as
    one batched generation of up to that many.

    Raises:
        ConfigError: the port is in use or cannot be bound, or ``parser`` is given with a
            backend object.
        ModelSpecError, ModelLoadError: the model cannot be loaded.
    """
    sock = bind_port(host, port)
    try:
        with GatewayStore(db) as store:
            model = gateway_model(
                model, parser=parser, policy_version=policy_version, max_batch=max_batch
            )
            served = name or model.name
            app = create_gateway_app(
                model,
                store,
                model_name=served,
                api_key=api_key,
                policy_version=policy_version,
                token_ids=token_ids,
            )
            url = f"http://{host}:{sock.getsockname()[1]}"
            logger.info("gateway for %s on %s, recording to %s", served, url, store.path)
            if on_ready is not None:
                on_ready(url, served)
            server = uvicorn.Server(uvicorn.Config(app, log_level=log_level))
            server.run(sockets=[sock])
    finally:
        sock.close()


def gateway_model(
    model: ModelBackend | str,
    *,
    parser: str | None = None,
    policy_version: int | str | None = None,
    max_batch: int | None = None,
) -> ModelBackend:
    """The backend :func:`serve_gateway` serves: ``model`` loaded when it is a spec string.

    A local model loaded from a spec records ``policy_version`` on every completion, in place
    of its own count of weight changes (which starts at 0 for any checkpoint, so it could not
    tell two checkpoints apart); other backends report their own version or none, and the
    gateway records ``policy_version`` where they report none. ``max_batch`` wraps the model
    in a :class:`~hone.models.BatchingModel`.

    Raises:
        ConfigError: ``parser`` is given with a backend object.
        ModelSpecError, ModelLoadError: the model cannot be loaded.
    """
    if isinstance(model, str):
        from hone.models._transformers import TransformersModel  # torch only for local models

        model = load_model(model) if parser is None else load_model(model, parser=parser)
        if policy_version is not None and isinstance(model, TransformersModel):
            model.set_policy_version(policy_version)
    elif parser is not None:
        raise ConfigError("parser= applies to a model given as a spec string")
    if max_batch is not None:
        # Concurrent sessions' calls go to a local model as one batched generation.
        model = BatchingModel(model, max_batch=max_batch, max_in_flight=1)
    return model
