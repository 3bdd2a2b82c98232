"""``hone mcp serve``: hone tools as an MCP server, over stdio or streamable HTTP."""

from __future__ import annotations

from typing import Annotated

import typer

from hone.cli._app import HoneTyper, app, err_console

__all__ = ["mcp", "serve"]

mcp = HoneTyper(
    name="mcp",
    help="Model Context Protocol: serve hone tools to MCP clients.",
    no_args_is_help=True,
)
app.add_typer(mcp, name="mcp")


@mcp.command()
def serve(
    tools: Annotated[
        list[str],
        typer.Argument(
            help="Where the tools are: 'module:name' or 'file.py:name' (a registry, a list or "
            "one tool), or a module / .py file whose top-level tools are all served. Several "
            "are merged.",
            show_default=False,
        ),
    ],
    http: Annotated[
        int | None,
        typer.Option(
            "--http",
            min=0,
            max=65535,
            metavar="PORT",
            help="Serve streamable HTTP at http://HOST:PORT/mcp instead of stdio.",
        ),
    ] = None,
    host: Annotated[
        str, typer.Option("--host", help="Interface to listen on (with --http).")
    ] = "127.0.0.1",
    name: Annotated[
        str, typer.Option("--name", help="The server's name in the MCP handshake.")
    ] = "hone",
    timeout: Annotated[
        float | None,
        typer.Option(
            "--timeout", min=0.001, help="Seconds one tool call may take (default: no limit)."
        ),
    ] = None,
) -> None:
    """Serve TOOLS (hone @tools, LangChain tools, typed functions) to MCP clients.

    Over stdio by default, for an MCP client that starts the process ('hone mcp serve
    tools.py:tools' as its command): stdout carries the protocol, messages go to stderr.
    With --http PORT it serves streamable HTTP until interrupted.
    """
    from hone.cli._resolve import load_tools
    from hone.mcp import create_server
    from hone.mcp import serve as run_server
    from hone.tools import ExecutionOptions

    registry = load_tools(tools)
    execution = ExecutionOptions(timeout=timeout) if timeout is not None else None
    server = create_server(registry, name=name, execution=execution)
    names = ", ".join(registry.names())

    def announce(where: str) -> None:
        count = f"{len(registry)} tool" + ("s" if len(registry) != 1 else "")
        err_console.print(f"serving {count} over MCP ({where}): {names}")

    run_server(
        server,
        transport="http" if http is not None else "stdio",
        host=host,
        port=http if http is not None else 0,
        on_ready=announce,
    )
