"""Serve any model backend as an OpenAI-compatible API (``hone serve``).

Needs the ``serve`` extra (FastAPI and uvicorn)::

    from hone.serve import create_app, serve

    serve("some-model-spec", port=8000, api_key="secret")   # blocks; Ctrl-C to stop
    app = create_app(backend, model_name="my-model")         # or mount the ASGI app yourself

The gateway (``hone gateway``, docs/gateway.md) serves a model per session and records every
call for training::

    serve_gateway("tiny:", db="gateway.db", port=8000)   # clients use /sessions/<id>/v1
"""

from __future__ import annotations

try:
    import fastapi  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    from hone.errors import ConfigError

    raise ConfigError("serving needs FastAPI and uvicorn: pip install 'hone[serve]'") from exc

from hone.serve._adapters import AdapterPool, AdapterStats
from hone.serve._app import create_app
from hone.serve._gateway import RewardBody, create_gateway_app
from hone.serve._gateway_export import SessionReward
from hone.serve._gateway_model import TokenIds
from hone.serve._gateway_run import serve_gateway
from hone.serve._gateway_store import GatewayStore, SessionSummary
from hone.serve._run import running_server, serve
from hone.serve._schema import ChatCompletionBody

__all__ = [
    "AdapterPool",
    "AdapterStats",
    "ChatCompletionBody",
    "GatewayStore",
    "RewardBody",
    "SessionReward",
    "SessionSummary",
    "TokenIds",
    "create_app",
    "create_gateway_app",
    "running_server",
    "serve",
    "serve_gateway",
]
