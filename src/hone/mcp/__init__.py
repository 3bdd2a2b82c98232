"""MCP both ways: MCP servers' tools as hone tools, and hone tools as an MCP server
(docs/mcp.md).

::

    from hone.mcp import MCPClient, StdioServer, create_server

    # Their tools in hone: schemas passed through, errors and timeouts as results the model
    # sees, tool lists re-read when the server says they changed.
    async with MCPClient({"math": StdioServer("python", ["math_server.py"])}) as mcp:
        tools = await mcp.atools()                # [Tool("math__add"), ...]

    # hone's tools as an MCP server: in-process, or `hone mcp serve module:tools`.
    server = create_server([add, search])

Built on the official MCP Python SDK (the ``mcp`` extra: ``pip install 'hone[mcp]'``);
servers speak stdio, streamable HTTP, or run in-process.
"""

from __future__ import annotations

try:
    import mcp  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    from hone.errors import ConfigError

    raise ConfigError("hone.mcp needs the MCP SDK: pip install 'hone[mcp]'") from exc

# The errors live in the one tree, hone.errors; they are re-exported here for convenience.
from hone.errors import (
    MCPConnectionError,
    MCPProtocolError,
    MCPServerError,
    MCPToolSchemaError,
)
from hone.mcp._client import InvalidTools, MCPClient, SkippedTool
from hone.mcp._config import HTTPServer, Protocol, ServerConfig, ServerLike, StdioServer
from hone.mcp._server import create_server, serve

__all__ = [
    "HTTPServer",
    "InvalidTools",
    "MCPClient",
    "MCPConnectionError",
    "MCPProtocolError",
    "MCPServerError",
    "MCPToolSchemaError",
    "Protocol",
    "ServerConfig",
    "ServerLike",
    "SkippedTool",
    "StdioServer",
    "create_server",
    "serve",
]
