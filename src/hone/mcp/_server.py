"""hone tools as an MCP server (``hone mcp serve``).

The server is the official SDK's low-level ``Server`` with two handlers: ``tools/list``
answers with each tool's own JSON schema (exactly what hone shows a model), and
``tools/call`` runs the call through :func:`hone.tools.aexecute_tool_call`, so arguments are
validated by hone's schemas and timeouts, retries and output limits apply as in an agent
run. What the tool does wrong (invalid arguments, an exception, a timeout) is an ``isError``
result with hone's message, for the calling model to read; only a call to a tool that does
not exist is a JSON-RPC error, as the MCP specification asks.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Sequence
from typing import Any, Literal

import anyio
import mcp.types as mt
from mcp.server import Server
from mcp.server.context import ServerRequestContext
from mcp.server.stdio import stdio_server
from mcp.shared.exceptions import MCPError

from hone._net import bind_port
from hone._version import __version__
from hone.errors import ConfigError
from hone.mcp._content import structured_value, to_mcp_content
from hone.messages import ToolCall, new_id
from hone.tools import ExecutionOptions, ToolLike, ToolRegistry, aexecute_tool_call

__all__ = ["create_server", "serve"]

logger = logging.getLogger(__name__)


def create_server(
    tools: ToolRegistry | Sequence[ToolLike],
    *,
    name: str = "hone",
    instructions: str | None = None,
    execution: ExecutionOptions | None = None,
    deps: Any = None,
) -> Server[Any]:
    """An MCP server (the SDK's ``Server``) offering ``tools``: hone tools, LangChain tools,
    or typed functions.

    Connect to it in-process (``MCPClient({"local": create_server(tools)})``, or the SDK's
    ``Client(server)``), or serve it with :func:`serve`.

    Args:
        tools: The tools to offer (a registry or a list).
        name: The server's name in the MCP handshake.
        instructions: Text the server gives clients about how to use it.
        execution: Timeout, retry and output-limit defaults for the calls.
        deps: Given to tools as ``ToolContext.deps``.

    Raises:
        ToolDefinitionError: an item cannot become a tool.
        DuplicateToolError: two tools share a name.
    """
    registry = ToolRegistry.coerce(tools)

    async def list_tools(
        ctx: ServerRequestContext[Any], params: mt.PaginatedRequestParams | None
    ) -> mt.ListToolsResult:
        return mt.ListToolsResult(
            tools=[
                mt.Tool(name=t.name, description=t.description, input_schema=dict(t.parameters))
                for t in registry
            ]
        )

    async def call_tool(
        ctx: ServerRequestContext[Any], params: mt.CallToolRequestParams
    ) -> mt.CallToolResult:
        if params.name not in registry:
            raise MCPError(
                mt.INVALID_PARAMS,
                f"Unknown tool: {params.name}. Available tools: {', '.join(registry.names())}",
            )
        call = ToolCall(id=new_id("mcp_"), name=params.name, arguments=params.arguments or {})
        result = await aexecute_tool_call(
            call,
            registry,
            deps=deps,
            metadata={"mcp_request_id": ctx.request_id},
            execution=execution,
        )
        return mt.CallToolResult(
            content=to_mcp_content(result.content),
            structured_content=None if result.is_error else structured_value(result.value),
            is_error=result.is_error,
        )

    def input_schema(tool: str) -> dict[str, Any] | None:
        found = registry.get(tool)
        return dict(found.parameters) if found is not None else None

    return Server(
        name,
        version=__version__,
        instructions=instructions,
        get_tool_input_schema=input_schema,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )


def _bind(host: str, port: int) -> socket.socket:
    sock = bind_port(host, port)
    # Listening now queues connections that arrive before uvicorn accepts, so a client that
    # read the announcement is never refused.
    sock.listen(2048)
    return sock


async def _serve_stdio(server: Server[Any]) -> None:
    async with stdio_server() as (read, write):
        await server.run(read, write, server.create_initialization_options())


def serve(
    tools: ToolRegistry | Sequence[ToolLike] | Server[Any],
    *,
    transport: Literal["stdio", "http"] = "stdio",
    host: str = "127.0.0.1",
    port: int = 8000,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve ``tools`` (or a server from :func:`create_server`) until interrupted.

    ``transport="stdio"`` speaks MCP over stdin and stdout (what a client that starts the
    process expects; nothing else may write to stdout). ``transport="http"`` serves
    streamable HTTP at ``http://HOST:PORT/mcp``; the port is bound first, so a busy port
    fails at once.

    Args:
        on_ready: Called with where the server listens (``"stdio"`` or the URL) just before
            it takes requests.

    Raises:
        ConfigError: the port is in use or cannot be bound, or an unknown transport.
    """
    server = tools if isinstance(tools, Server) else create_server(tools)
    if transport == "stdio":
        if on_ready is not None:
            on_ready("stdio")
        anyio.run(_serve_stdio, server)
        return
    if transport != "http":
        raise ConfigError(f"transport must be 'stdio' or 'http', got {transport!r}")
    import uvicorn

    sock = _bind(host, port)
    try:
        app = server.streamable_http_app(host=host)
        url = f"http://{host}:{sock.getsockname()[1]}/mcp"
        logger.info("serving MCP tools on %s", url)
        if on_ready is not None:
            on_ready(url)
        # Streams a client holds open (a 2025-era client's GET stream) would keep a graceful
        # shutdown waiting forever; after a few seconds they are cut.
        config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=5)
        uvicorn.Server(config).run(sockets=[sock])
    finally:
        sock.close()
