"""``hone serve``: serve a model as an OpenAI-compatible API."""

from __future__ import annotations

from typing import Annotated

import typer

from hone.cli._app import app, console
from hone.cli._resolve import load_backend

__all__ = ["serve"]


@app.command()
def serve(
    model: Annotated[
        str,
        typer.Argument(
            help="A model spec, or an object path 'package.module:name' naming a model backend."
        ),
    ],
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port.")] = 8000,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="HONE_API_KEY",
            help="Require 'Authorization: Bearer KEY' on /v1 routes.",
            show_envvar=True,
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="The model id clients ask for (default: the backend's name)."),
    ] = None,
) -> None:
    """Serve MODEL under the OpenAI chat-completions API until interrupted."""
    from hone.serve import serve as run_server

    backend = load_backend(model)
    served = name or backend.name
    console.print(
        f"serving [bold]{served}[/bold] on http://{host}:{port}/v1"
        + (" (API key required)" if api_key else "")
    )
    run_server(backend, host=host, port=port, api_key=api_key, name=served)
