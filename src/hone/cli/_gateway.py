"""``hone gateway``: serve a model per session and record every call for training."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

import typer

from hone.cli._app import app, console
from hone.cli._resolve import prepare_model
from hone.parsing import parser_names

__all__ = ["gateway"]


@app.command()
def gateway(
    model: Annotated[
        str,
        typer.Argument(
            help="The model that answers: a local model (tiny:, hf:DIR), an upstream server "
            "(openai-compatible:URL#MODEL, e.g. a vLLM server), or 'module:name' / "
            "'file.py:name' naming a backend."
        ),
    ],
    db: Annotated[
        Path, typer.Option("--db", help="The SQLite file every call and reward is written to.")
    ] = Path("gateway.db"),
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port.")] = 8000,
    api_key: Annotated[
        str | None,
        typer.Option(
            "--api-key",
            envvar="HONE_API_KEY",
            help="Require 'Authorization: Bearer KEY' on every route but /health.",
            show_envvar=True,
        ),
    ] = None,
    name: Annotated[
        str | None,
        typer.Option("--name", help="The model id clients ask for (default: the backend's name)."),
    ] = None,
    policy_version: Annotated[
        str | None,
        typer.Option(
            "--policy-version",
            help="The served policy's version (e.g. the checkpoint's step): recorded on every "
            "call to a local model, and on each call an upstream reports no version for.",
        ),
    ] = None,
    token_ids: Annotated[
        Literal["auto", "always", "never"],
        typer.Option(
            "--token-ids",
            help="Ask the model for exact token ids: auto (every backend but OpenAI's own "
            "API), always, never.",
        ),
    ] = "auto",
    max_batch: Annotated[
        int | None,
        typer.Option(
            "--max-batch",
            min=1,
            help="Batch concurrent calls to a local model into one generation of up to N.",
        ),
    ] = None,
    parser: Annotated[
        str | None,
        typer.Option(
            "--parser",
            help=f"How the model's replies are parsed: {', '.join(parser_names())}.",
        ),
    ] = None,
) -> None:
    """Serve MODEL at /sessions/<id>/v1 and record every call (token ids, logprobs, policy
    version) in DB; POST /sessions/<id>/reward scores a session later.

    Scored sessions are episodes in DB: `hone traj show DB`, `hone traj export DB out.jsonl`,
    or train on them with `sft.trajectories: DB` (docs/gateway.md).
    """
    from hone.serve import serve_gateway

    if parser is not None and parser not in parser_names():
        raise typer.BadParameter(
            f"unknown parser {parser!r}; choose one of {', '.join(parser_names())}",
            param_hint="--parser",
        )

    def announce(url: str, served: str) -> None:
        key = " (API key required)" if api_key else ""
        console.print(
            f"gateway for [bold]{served}[/bold] on {url}/sessions/<id>/v1{key}, recording to {db}"
        )

    prepare_model(model)
    version: int | str | None = policy_version
    if policy_version is not None and policy_version.isdigit():
        version = int(policy_version)
    serve_gateway(
        model,
        db=db,
        host=host,
        port=port,
        api_key=api_key,
        name=name,
        policy_version=version,
        token_ids=token_ids,
        parser=parser,
        max_batch=max_batch,
        on_ready=announce,
    )
