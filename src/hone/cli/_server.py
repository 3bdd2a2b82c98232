"""``hone server``: run the agent server (the LangGraph Agent Server API) over the graphs a
config file names. Not ``hone serve``, which serves one *model* over the OpenAI API."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Annotated

import typer

from hone.cli._app import app, console
from hone.errors import ConfigError

__all__ = ["server"]


def _keys(values: list[str]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for value in values:
        key, sep, user = value.partition("=")
        if not key.strip() or (sep and not user.strip()):
            raise ConfigError(f"--api-key takes KEY or KEY=USER, got {value!r}")
        keys[key.strip()] = user.strip() if sep else "default"
    return keys


@app.command()
def server(
    config: Annotated[
        Path,
        typer.Option(
            "--config",
            "-c",
            help="The server config: hone.json or a LangGraph langgraph.json (graphs, "
            "database, auth, env, store).",
        ),
    ] = Path("hone.json"),
    host: Annotated[str, typer.Option("--host", help="Interface to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=0, max=65535, help="Port.")] = 2024,
    database: Annotated[
        str | None,
        typer.Option(
            "--database",
            envvar="HONE_SERVER_DATABASE",
            show_envvar=True,
            help="A SQLite file or a postgresql:// URL (overrides the config's).",
        ),
    ] = None,
    api_key: Annotated[
        list[str] | None,
        typer.Option(
            "--api-key",
            help="Require this key (x-api-key or 'Authorization: Bearer'); KEY=USER names "
            "its user. Repeat for several users. Adds to the config's auth.api_keys.",
        ),
    ] = None,
    log_level: Annotated[str, typer.Option("--log-level", help="uvicorn's log level.")] = "info",
) -> None:
    """Serve the config's graphs to LangGraph SDK clients until interrupted.

    Runs that were going when the server last stopped resume from their last checkpoint.
    """
    from hone.server import AuthConfig, load_server_config
    from hone.server import serve as run_server

    overrides: dict[str, object] = {}
    if database is not None:
        overrides["database"] = database
    settings = load_server_config(config, **overrides)
    if api_key:
        current = settings.auth or AuthConfig()
        merged = AuthConfig(
            api_keys={**current.api_keys, **_keys(api_key)}, authenticate=current.authenticate
        )
        settings = dataclasses.replace(settings, auth=merged)

    def announce(url: str) -> None:
        auth = " (API key required)" if settings.auth and settings.auth.enabled else ""
        graphs = ", ".join(settings.graphs)
        console.print(f"agent server on [bold]{url}[/bold]{auth}: {graphs}")

    run_server(settings, host=host, port=port, log_level=log_level, on_ready=announce)
