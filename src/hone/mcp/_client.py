"""``MCPClient``: the tools of one or more MCP servers, as hone tools.

The client owns one :class:`~hone.mcp._connection.ServerConnection` per server. Its
coroutines run on the MCP loop (:mod:`hone.mcp._loop`); the public methods are thin shells
over them, async (``atools``) and sync (``tools``), usable from any event loop or thread.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Literal, Self, TypeAlias

import mcp.types as mt

from hone.errors import ConfigError, DuplicateToolError, MCPToolSchemaError
from hone.mcp import _loop
from hone.mcp._config import ServerLike, server_config
from hone.mcp._connection import ServerConnection
from hone.mcp._tools import hone_tool_name, to_hone_tool
from hone.tools import Tool

__all__ = ["InvalidTools", "MCPClient", "SkippedTool"]

logger = logging.getLogger(__name__)

#: What to do with a tool whose name or schema hone cannot use: ``"raise"`` an
#: :class:`~hone.mcp.MCPToolSchemaError` naming the server and the tool, or ``"skip"`` it
#: (logged, and listed in :attr:`MCPClient.skipped`).
InvalidTools: TypeAlias = Literal["raise", "skip"]


@dataclass(frozen=True, slots=True)
class SkippedTool:
    """A tool left out of :meth:`MCPClient.atools` because hone cannot use it."""

    #: The server's name in the client.
    server: str
    #: The tool's name on the server.
    tool: str
    #: What is wrong with it.
    problem: str


@dataclass(frozen=True, slots=True)
class _Converted:
    listing: list[mt.Tool]
    tools: list[Tool]
    skipped: list[SkippedTool]


class MCPClient:
    """The tools of one or more MCP servers, as hone tools.

    ::

        from hone.mcp import MCPClient, StdioServer

        async with MCPClient({"math": StdioServer("python", ["math_server.py"])}) as mcp:
            tools = await mcp.atools()       # [Tool("math__add"), ...]
            result = await arun_agent(model, "What is 2 + 3?", tools=tools)

    Each server's tools are named ``<server>__<tool>`` unless its :class:`ServerConfig`
    sets another ``prefix``. A tool's schema is the server's input schema, unchanged. The
    tool list is cached until the server says it changed (MCP's
    ``notifications/tools/list_changed``); ``atools()`` then lists again, so call it per
    run to pick up new tools. A tool the server has since removed answers with an error the
    model sees.

    Failures inside a run are values: a result the server marks ``isError``, a timeout
    (``ServerConfig.timeout``), a crash, a refusal, each becomes a ``ToolMessage`` with
    ``is_error=True``. A server that crashed is started (stdio) or reached (HTTP) again at
    the next call. Retry policies see :class:`~hone.mcp.MCPConnectionError` for crashes,
    so ``RetryPolicy(retry_on=MCPConnectionError)`` on an idempotent tool rides one out.

    Args:
        servers: The servers by name (the name prefixes their tools): each a
            :class:`StdioServer`, an :class:`HTTPServer`, a :class:`ServerConfig`, an SDK
            ``Server`` / ``MCPServer`` object (in-process), or a LangChain-style dict.
        invalid_tools: What to do with a tool whose name or input schema hone cannot use
            (see :data:`InvalidTools`).

    Raises:
        ConfigError: no servers, a server name that cannot prefix tool names, or a value
            that is not a server.
    """

    def __init__(
        self, servers: Mapping[str, ServerLike], *, invalid_tools: InvalidTools = "raise"
    ) -> None:
        if not isinstance(servers, Mapping) or not servers:
            raise ConfigError(
                "MCPClient needs a dict of servers by name, e.g. "
                '{"math": StdioServer("python", ["math_server.py"])}'
            )
        if invalid_tools not in ("raise", "skip"):
            raise ConfigError(f"invalid_tools must be 'raise' or 'skip', got {invalid_tools!r}")
        self.invalid_tools: InvalidTools = invalid_tools
        self._connections = {
            name: ServerConnection(name, server_config(name, value))
            for name, value in servers.items()
        }
        self._converted: dict[str, _Converted] = {}

    def __repr__(self) -> str:
        return f"MCPClient({', '.join(self._connections)})"

    @property
    def servers(self) -> list[str]:
        """The servers' names, in the order given."""
        return list(self._connections)

    @property
    def skipped(self) -> list[SkippedTool]:
        """The tools the last listings left out (``invalid_tools="skip"``)."""
        return [s for c in self._converted.values() for s in c.skipped]

    def _connection(self, server: str) -> ServerConnection:
        try:
            return self._connections[server]
        except KeyError:
            raise ConfigError(
                f"no MCP server named {server!r}; the servers are {', '.join(self._connections)}"
            ) from None

    # -- the core, run on the MCP loop -------------------------------------------------------

    async def _connect(self) -> None:
        for connection in self._connections.values():
            connection.reopen()
        results = await asyncio.gather(
            *(c.session() for c in self._connections.values()), return_exceptions=True
        )
        failures = [r for r in results if isinstance(r, BaseException)]
        if failures:
            await self._close()
            raise failures[0]

    async def _close(self) -> None:
        await asyncio.gather(*(c.close() for c in self._connections.values()))
        self._converted.clear()

    async def _call_listed(
        self, connection: ServerConnection, tool: str, arguments: Mapping[str, Any]
    ) -> mt.CallToolResult | str:
        """Call a tool handed out earlier, checking first that the server still offers it."""
        names = connection.cached_names()
        if names is None:  # the list changed (or a new session began) since it was handed out
            names = [t.name for t in await connection.list_tools()]
        if tool not in names:
            return (
                f"MCP server {connection.name!r} no longer offers tool {tool!r}; "
                "use another tool or answer without it."
            )
        return await connection.call_tool(tool, arguments)

    def _convert(self, connection: ServerConnection, listing: list[mt.Tool]) -> _Converted:
        name, config = connection.name, connection.config

        async def call(tool: str, arguments: Mapping[str, Any]) -> mt.CallToolResult | str:
            return await _loop.call(self._call_listed(connection, tool, arguments))

        tools: list[Tool] = []
        skipped: list[SkippedTool] = []
        taken: dict[str, str] = {}
        for listed in listing:
            try:
                hone_name = hone_tool_name(config.tool_prefix(name), listed.name)
                if hone_name in taken:
                    raise MCPToolSchemaError(
                        name,
                        listed.name,
                        f"would be named {hone_name!r}, as tool {taken[hone_name]!r} is; "
                        "hone tool names allow only letters, digits, '_' and '-'",
                    )
                tools.append(to_hone_tool(name, config, listed, call))
                taken[hone_name] = listed.name
            except MCPToolSchemaError as exc:
                if self.invalid_tools == "raise":
                    raise
                logger.warning("skipping a tool: %s", exc)
                skipped.append(SkippedTool(name, listed.name, exc.problem))
        return _Converted(listing, tools, skipped)

    async def _server_tools(self, connection: ServerConnection) -> list[Tool]:
        listing = await connection.list_tools()
        converted = self._converted.get(connection.name)
        if converted is None or converted.listing is not listing:
            converted = self._convert(connection, listing)
            self._converted[connection.name] = converted
        return list(converted.tools)

    async def _tools(self, server: str | None) -> list[Tool]:
        chosen = [self._connection(server)] if server is not None else self._connections.values()
        per_server = await asyncio.gather(*(self._server_tools(c) for c in chosen))
        owners: dict[str, str] = {}
        tools: list[Tool] = []
        for connection, found in zip(chosen, per_server, strict=True):
            for tool in found:
                if tool.name in owners:
                    raise DuplicateToolError(
                        f"MCP servers {owners[tool.name]!r} and {connection.name!r} both offer a "
                        f"tool named {tool.name!r}; give one of them a prefix "
                        "(ServerConfig(..., prefix=...))"
                    )
                owners[tool.name] = connection.name
                tools.append(tool)
        return tools

    # -- async shells ------------------------------------------------------------------------

    async def aconnect(self) -> Self:
        """Start or reach every server (concurrently); ``async with`` calls this.

        Raises:
            MCPConnectionError: a server cannot be started or reached (the message names it;
                the other servers are closed again).
        """
        await _loop.call(self._connect())
        return self

    async def aclose(self) -> None:
        """End every session (stdio servers' processes are stopped)."""
        await _loop.call(self._close())

    async def atools(self, server: str | None = None) -> list[Tool]:
        """The tools of every server (or of the one named), as hone tools, in server order.

        Lists a server's tools only when they may have changed since the last listing.

        Raises:
            ConfigError: no server is named ``server``.
            MCPConnectionError: a server cannot be reached.
            MCPProtocolError: a server refused to list its tools, or sent a malformed list.
            MCPToolSchemaError: a tool hone cannot use (with ``invalid_tools="raise"``).
            DuplicateToolError: two servers' tools end up with one name.
        """
        return await _loop.call(self._tools(server))

    async def acall_tool(
        self, server: str, tool: str, arguments: Mapping[str, Any] | None = None
    ) -> mt.CallToolResult:
        """Call ``tool`` (its name on the server) directly; the SDK's result as it came.

        Raises:
            ConfigError: no server is named ``server``.
            MCPConnectionError: the server cannot be reached, or hung up during the call.
            MCPProtocolError: the server refused the call, or sent a malformed result.
        """
        connection = self._connection(server)
        return await _loop.call(connection.call_tool(tool, dict(arguments or {})))

    async def __aenter__(self) -> Self:
        return await self.aconnect()

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    # -- sync shells -------------------------------------------------------------------------

    def connect(self) -> Self:
        """The synchronous :meth:`aconnect`."""
        _loop.call_sync(self._connect())
        return self

    def close(self) -> None:
        """The synchronous :meth:`aclose`."""
        _loop.call_sync(self._close())

    def tools(self, server: str | None = None) -> list[Tool]:
        """The synchronous :meth:`atools`."""
        return _loop.call_sync(self._tools(server))

    def call_tool(
        self, server: str, tool: str, arguments: Mapping[str, Any] | None = None
    ) -> mt.CallToolResult:
        """The synchronous :meth:`acall_tool`."""
        connection = self._connection(server)
        return _loop.call_sync(connection.call_tool(tool, dict(arguments or {})))

    def __enter__(self) -> Self:
        return self.connect()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
