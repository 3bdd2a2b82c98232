"""``hone serve``: serve a model as an OpenAI-compatible API."""

from __future__ import annotations

from typing import Annotated

import typer

from hone.cli._app import app, console
from hone.cli._resolve import prepare_model
from hone.parsing import parser_names

__all__ = ["serve"]


@app.command()
def serve(
    model: Annotated[
        str,
        typer.Argument(
            help="A model spec (tiny:, hf:DIR, openai:NAME, ...), or 'module:name' / "
            "'file.py:name' naming a model backend or a function returning one."
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
    parser: Annotated[
        str | None,
        typer.Option(
            "--parser",
            help=f"How the model's replies are parsed: {', '.join(parser_names())} "
            "(default: the backend's choice).",
        ),
    ] = None,
    max_loras: Annotated[
        int | None,
        typer.Option(
            "--max-loras",
            min=1,
            help="Serve LoRA adapters over MODEL (a local transformers model), this many in "
            "memory at once; load more at runtime with POST /v1/load_lora_adapter.",
        ),
    ] = None,
    lora: Annotated[
        list[str] | None,
        typer.Option("--lora", help="NAME=PATH: an adapter to register at start (repeatable)."),
    ] = None,
) -> None:
    """Serve MODEL under the OpenAI chat-completions and Responses APIs until interrupted.

    The port is checked before the model loads: a busy port fails at once.
    """
    from hone.serve import serve as run_server

    def announce(url: str, served: str) -> None:
        key = " (API key required)" if api_key else ""
        console.print(f"serving [bold]{served}[/bold] on {url}{key}")

    modules: dict[str, str] = {}
    for item in lora or []:
        adapter, sep, path = item.partition("=")
        if not sep or not adapter or not path:
            raise typer.BadParameter(f"--lora wants NAME=PATH, got {item!r}")
        modules[adapter] = path
    prepare_model(model)
    run_server(
        model,
        host=host,
        port=port,
        api_key=api_key,
        name=name,
        parser=parser,
        on_ready=announce,
        max_loras=max_loras if max_loras is not None else (8 if modules else None),
        lora_modules=modules,
    )
