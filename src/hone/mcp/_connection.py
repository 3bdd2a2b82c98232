"""One MCP server as a client sees it: a session opened on demand and opened again after a
crash, the server's tool list cached until the server says it changed, and tool calls.

Everything here runs on the MCP loop (:mod:`hone.mcp._loop`). The SDK's ``Client`` is an
async context manager whose task groups must be entered and left by one task, so each
session has an *owner* task that enters it, hands it out, and waits until it is told to
stop (the client closes, or a call found the connection closed). Calls run in their own
tasks on the same session.

Tool-list changes arrive two ways, by protocol era: on a 2025-era connection as
``notifications/tools/list_changed`` through the message handler; on a 2026-07-28
connection only on a ``subscriptions/listen`` stream, which the owner keeps open while the
server says it sends them. Either bumps :attr:`ServerConnection.version`, and the next
listing asks the server again.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import sys
from collections.abc import AsyncIterator, Mapping
from typing import Any, TextIO

import anyio
import httpx2
import mcp.types as mt
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.client.subscriptions import ListenNotSupportedError, SubscriptionLost
from mcp.shared.exceptions import MCPError
from mcp.types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import ValidationError

from hone.errors import MCPConnectionError, MCPProtocolError
from hone.mcp._config import HTTPServer, ServerConfig, StdioServer

__all__ = ["ServerConnection"]

logger = logging.getLogger(__name__)

# A paginating server that never stops cannot hang a listing.
_MAX_PAGES = 100
# A dropped listen stream is opened again this many times in a row before hone relies on
# the next reconnect instead.
_MAX_RELISTENS = 3


def _first_problem(exc: ValidationError) -> str:
    """The first problem pydantic found, with the tool's name when it is a tool list's."""
    errors = exc.errors()
    if not errors:
        return str(exc)
    first = errors[0]
    loc = tuple(first.get("loc", ()))
    where = ".".join(str(p) for p in loc)
    message = f"{where}: {first.get('msg', '')}" if where else str(first.get("msg", ""))
    value = first.get("input")
    if loc[:1] == ("tools",) and len(loc) == 3 and isinstance(value, dict) and "name" in value:
        message = f"tool {value['name']!r} ({message})"
    return message


@contextlib.asynccontextmanager
async def _http(url: str, headers: Mapping[str, str]) -> AsyncIterator[Any]:
    """Streamable HTTP with headers on every request: the SDK takes them on the HTTP client
    it is given, which this transport opens and closes (with the SDK's default timeouts:
    30 s, and 300 s to read a response stream)."""
    timeout = httpx2.Timeout(30.0, read=300.0)
    async with (
        httpx2.AsyncClient(headers=dict(headers), timeout=timeout) as http,
        streamable_http_client(url, http_client=http) as streams,
    ):
        yield streams


_devnull: TextIO | None = None


def _has_fd(stream: TextIO) -> bool:
    try:
        return stream.fileno() >= 0
    except (AttributeError, OSError, ValueError):  # io.UnsupportedOperation is both
        return False


def _errlog() -> TextIO:
    """Where a stdio server's stderr goes: hone's own stderr when it is a real file. A
    subprocess needs a file descriptor, which a replaced ``sys.stderr`` (a notebook's, a
    test runner's capture) may lack; then the process's original stderr, else nowhere."""
    global _devnull
    for stream in (sys.stderr, sys.__stderr__):
        if stream is not None and _has_fd(stream):
            return stream
    if _devnull is None:
        _devnull = open(os.devnull, "w")  # noqa: SIM115  (kept open for every later server)
    return _devnull


def _leaf(exc: BaseException) -> BaseException:
    """The first exception inside (nested) exception groups: the one that says what failed."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    return exc


def _text(exc: BaseException) -> str:
    leaf = _leaf(exc)
    if isinstance(leaf, MCPError):
        return leaf.message
    text = str(leaf)
    return f"{type(leaf).__name__}: {text}" if text else type(leaf).__name__


def _expired(exc: BaseException) -> bool:
    """Whether ``exc`` says the server does not know the session (streamable HTTP's 404 for
    a session id: the server restarted, or dropped an idle session). The request did not
    run, so it is safe to send again on a new session."""
    leaf = _leaf(exc)
    return (
        isinstance(leaf, MCPError)
        and leaf.code == mt.INVALID_REQUEST
        and re.search(r"session (not found|terminated|expired)", leaf.message, re.I) is not None
    )


def _closed(exc: BaseException) -> bool:
    """Whether ``exc`` says the connection is gone (the server exited or hung up)."""
    leaf = _leaf(exc)
    if isinstance(leaf, MCPError):
        return leaf.code == mt.CONNECTION_CLOSED
    return isinstance(
        leaf, ConnectionError | EOFError | anyio.ClosedResourceError | anyio.BrokenResourceError
    )


class ServerConnection:
    """One server's session, tool list and calls; every method runs on the MCP loop."""

    def __init__(self, name: str, config: ServerConfig) -> None:
        self.name = name
        self.config = config
        #: Bumped whenever the cached tool list may be out of date (a change notification,
        #: a new session).
        self.version = 0
        self._ready: asyncio.Future[Client] | None = None
        self._stop: asyncio.Event | None = None
        self._owner: asyncio.Task[None] | None = None
        self._closed = False
        self._tools: list[mt.Tool] | None = None
        self._tools_version = -1
        self._list_lock: asyncio.Lock | None = None

    # -- the session -----------------------------------------------------------------------

    def _sdk_client(self) -> Client:
        server = self.config.server
        target: Any
        if isinstance(server, StdioServer):
            params = StdioServerParameters(
                command=server.command,
                args=list(server.args),
                env=dict(server.env) if server.env is not None else None,
                cwd=os.fspath(server.cwd) if server.cwd is not None else None,
            )
            target = stdio_client(params, errlog=_errlog())
        elif isinstance(server, HTTPServer):
            target = _http(server.url, server.headers) if server.headers else server.url
        else:
            target = server
        return Client(target, message_handler=self._on_message, mode=self.config.protocol)

    async def _on_message(self, message: mt.ServerNotification | Exception) -> None:
        if isinstance(message, mt.ToolListChangedNotification):
            logger.debug("MCP server %s: tool list changed", self.name)
            self.version += 1

    def _alive(self) -> bool:
        return (
            self._owner is not None
            and not self._owner.done()
            and self._stop is not None
            and not self._stop.is_set()
        )

    async def session(self) -> Client:
        """The open session, opened (again) if there is none.

        Raises:
            MCPConnectionError: the client was closed, or the server cannot be started or
                reached within ``connect_timeout``.
        """
        if self._closed:
            raise MCPConnectionError(
                self.name, f"the MCP client is closed; server {self.name!r} is not connected"
            )
        ready = self._ready if self._ready is not None and self._alive() else self._start()
        try:
            return await asyncio.wait_for(asyncio.shield(ready), self.config.connect_timeout)
        except TimeoutError:
            self._discard()
            raise MCPConnectionError(
                self.name,
                f"MCP server {self.name!r} ({self.config.describe()}) did not finish "
                f"connecting within {self.config.connect_timeout:g}s",
            ) from None

    def _start(self) -> asyncio.Future[Client]:
        loop = asyncio.get_running_loop()
        ready: asyncio.Future[Client] = loop.create_future()
        # A failure nobody waits for any more (a caller gave up) is not an unhandled error.
        ready.add_done_callback(lambda f: f.cancelled() or f.exception())
        stop = asyncio.Event()
        self._ready, self._stop = ready, stop
        self._owner = loop.create_task(self._own(ready, stop), name=f"hone-mcp:{self.name}")
        self.version += 1  # a new session: list the tools again
        return ready

    def _discard(self) -> None:
        """Stop the current session (it exits in the background)."""
        if self._stop is not None:
            self._stop.set()
        if self._owner is not None and self._ready is not None and not self._ready.done():
            self._owner.cancel()

    async def _own(self, ready: asyncio.Future[Client], stop: asyncio.Event) -> None:
        listener: asyncio.Task[None] | None = None
        try:
            async with self._sdk_client() as client:
                if ready.done():  # given up on while connecting
                    return
                ready.set_result(client)
                if self._sends_changes(client):
                    listener = asyncio.create_task(self._listen(client, stop))
                await stop.wait()
                if listener is not None:
                    listener.cancel()
                    await asyncio.gather(listener, return_exceptions=True)
        except asyncio.CancelledError:
            if not ready.done():
                ready.set_exception(self._connect_error(None))
            raise
        except Exception as exc:
            if not ready.done():
                ready.set_exception(self._connect_error(exc))
            else:
                logger.info("MCP server %s: session ended: %s", self.name, _text(exc))
        finally:
            if listener is not None and not listener.done():
                listener.cancel()
            stop.set()

    def _connect_error(self, exc: BaseException | None) -> MCPConnectionError:
        where = f"MCP server {self.name!r} ({self.config.describe()})"
        if exc is None:
            message = f"{where}: connecting was cancelled"
        elif _closed(exc) and isinstance(self.config.server, StdioServer):
            message = (
                f"{where} exited or closed its output before the handshake finished "
                f"({_text(exc)}); its stderr says why"
            )
        elif isinstance(self.config.server, HTTPServer):
            message = f"cannot reach {where}: {_text(exc)}"
        else:
            message = f"cannot start {where}: {_text(exc)}"
        error = MCPConnectionError(self.name, message)
        error.__cause__ = exc
        return error

    def _sends_changes(self, client: Client) -> bool:
        """Whether the server sends tool-list changes on a listen stream (2026-07-28)."""
        tools = client.server_capabilities.tools
        return (
            client.protocol_version in MODERN_PROTOCOL_VERSIONS
            and tools is not None
            and bool(tools.list_changed)
        )

    async def _listen(self, client: Client, stop: asyncio.Event) -> None:
        failures = 0
        while not stop.is_set() and failures < _MAX_RELISTENS:
            try:
                async with client.listen(tools_list_changed=True) as subscription:
                    failures = 0
                    async for _event in subscription:
                        self.version += 1
                return  # the server closed the stream on purpose
            except (ListenNotSupportedError, MCPError) as exc:
                if _closed(exc):
                    stop.set()  # the server is gone; the next call opens a new session
                logger.info("MCP server %s: no tool-change stream: %s", self.name, _text(exc))
                return
            except SubscriptionLost:
                # Changes may have been missed: list again, and listen again.
                self.version += 1
                failures += 1
                await asyncio.sleep(0.1 * failures)

    async def close(self) -> None:
        """End the session and wait for it (a stdio server's process is stopped)."""
        self._closed = True
        owner = self._owner
        self._discard()
        if owner is not None:
            await asyncio.gather(owner, return_exceptions=True)
        self._owner = self._ready = self._stop = None
        self._tools = None

    def reopen(self) -> None:
        """Allow a closed connection to connect again."""
        self._closed = False

    def lost(self) -> None:
        """The connection is gone: end this session; the next call opens a new one."""
        if self._stop is not None:
            self._stop.set()

    # -- tools -----------------------------------------------------------------------------

    async def list_tools(self) -> list[mt.Tool]:
        """The server's tools, from the cache unless the list may have changed since.

        Raises:
            MCPConnectionError: the server cannot be reached, or hung up.
            MCPProtocolError: the server refused, or sent a list that is not a tool list.
        """
        if self._list_lock is None:
            self._list_lock = asyncio.Lock()
        async with self._list_lock:
            client = await self.session()
            if self._tools is not None and self._tools_version == self.version:
                return self._tools
            seen = self.version
            try:
                async with asyncio.timeout(self.config.connect_timeout):
                    try:
                        tools = await self._fetch(client)
                    except Exception as exc:
                        if not _expired(exc):
                            raise
                        self.lost()  # a restarted server: list on a new session
                        client = await self.session()
                        seen = self.version
                        tools = await self._fetch(client)
            except TimeoutError:
                raise MCPConnectionError(
                    self.name,
                    f"MCP server {self.name!r} did not list its tools within "
                    f"{self.config.connect_timeout:g}s",
                ) from None
            except Exception as exc:
                raise self._call_error(exc, "tools/list") from exc
            self._tools, self._tools_version = tools, seen
            return tools

    async def _fetch(self, client: Client) -> list[mt.Tool]:
        tools: list[mt.Tool] = []
        cursor: str | None = None
        for _ in range(_MAX_PAGES):
            # Bypass the SDK's own response cache: this cache is kept here, by version.
            page = await client.list_tools(cursor=cursor, cache_mode="bypass")
            tools.extend(page.tools)
            cursor = page.next_cursor
            if cursor is None:
                return tools
        raise MCPProtocolError(
            self.name, f"MCP server {self.name!r} listed more than {_MAX_PAGES} pages of tools"
        )

    def cached_names(self) -> list[str] | None:
        """The tool names of the last listing, if it is still current."""
        if self._tools is None or self._tools_version != self.version:
            return None
        return [t.name for t in self._tools]

    async def call_tool(self, tool: str, arguments: Mapping[str, Any]) -> mt.CallToolResult:
        """Call ``tool`` on the server; its own failures come back as ``is_error`` results.

        Raises:
            MCPConnectionError: the server cannot be reached, or hung up during the call
                (the next call reconnects).
            MCPProtocolError: the server refused the call or sent a malformed result.
        """
        client = await self.session()
        try:
            return await client.call_tool(tool, dict(arguments))
        except Exception as exc:
            if not _expired(exc):
                raise self._call_error(exc, f"the call to {tool!r}") from exc
        # The server no longer knows the session (it restarted) and did not run the call:
        # as the specification asks, start a new session and send the call once more.
        self.lost()
        client = await self.session()
        try:
            return await client.call_tool(tool, dict(arguments))
        except Exception as exc:
            raise self._call_error(exc, f"the call to {tool!r}") from exc

    def _call_error(self, exc: BaseException, what: str) -> MCPConnectionError | MCPProtocolError:
        if _closed(exc):
            self.lost()
            return MCPConnectionError(
                self.name,
                f"MCP server {self.name!r} closed the connection during {what} "
                f"({_text(exc)}); it is reconnected at the next call",
            )
        leaf = _leaf(exc)
        if isinstance(leaf, MCPError):
            return MCPProtocolError(
                self.name,
                f"MCP server {self.name!r} refused {what}: {leaf.message} "
                f"(JSON-RPC error {leaf.code})",
            )
        if isinstance(leaf, ValidationError):
            return MCPProtocolError(
                self.name,
                f"MCP server {self.name!r} answered {what} with a malformed reply: "
                f"{_first_problem(leaf)}",
            )
        return MCPProtocolError(self.name, f"MCP server {self.name!r}: {what} failed: {_text(exc)}")
