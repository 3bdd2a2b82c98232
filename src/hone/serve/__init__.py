"""Serve any model backend as an OpenAI-compatible API (``hone serve``).

Needs the ``serve`` extra (FastAPI and uvicorn)::

    from hone.serve import create_app, serve

    serve("some-model-spec", port=8000, api_key="secret")   # blocks; Ctrl-C to stop
    app = create_app(backend, model_name="my-model")         # or mount the ASGI app yourself
"""

from __future__ import annotations

try:
    import fastapi  # noqa: F401
    import uvicorn  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    from hone.errors import ConfigError

    raise ConfigError("serving needs FastAPI and uvicorn: pip install 'hone[serve]'") from exc

from hone.serve._app import create_app
from hone.serve._run import running_server, serve
from hone.serve._schema import ChatCompletionBody

__all__ = ["ChatCompletionBody", "create_app", "running_server", "serve"]
