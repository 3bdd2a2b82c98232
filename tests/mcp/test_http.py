"""``MCPClient`` over streamable HTTP on loopback: headers reach the server, and a server that
goes away and comes back is an error result, then reached again."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from hone.mcp import HTTPServer, MCPClient, ServerConfig, create_server
from hone.messages import ToolCall, ToolMessage
from hone.tools import aexecute_tool_calls, tool


@tool
def echo(text: str) -> str:
    """Say it back.

    Args:
        text: What to say.
    """
    return text


class RecordHeaders:
    """ASGI middleware that keeps the headers of every HTTP request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen: list[dict[str, str]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen.append({k.decode(): v.decode() for k, v in scope["headers"]})
        await self.app(scope, receive, send)


@contextmanager
def running(app: Any, port: int = 0) -> Iterator[int]:
    """Serve ``app`` (lifespan on: the MCP session manager needs it) on loopback."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    # A legacy client keeps a GET stream open; a short grace period ends it, as a crash would.
    config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=1)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            assert thread.is_alive() and time.monotonic() < deadline, "server did not start"
            time.sleep(0.01)
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()


async def echo_once(tools: list[Any], text: str) -> ToolMessage:
    call = ToolCall(id="c", name="web__echo", arguments={"text": text})
    (message,) = await aexecute_tool_calls([call], tools)
    return message


async def test_headers_reach_the_server_and_a_restarted_server_is_reached_again() -> None:
    app = RecordHeaders(create_server([echo]).streamable_http_app())
    with running(app) as port:
        url = f"http://127.0.0.1:{port}/mcp"
        client = MCPClient({"web": HTTPServer(url, headers={"Authorization": "Bearer s3cret"})})
        await client.aconnect()
        tools = await client.atools()
        first = await echo_once(tools, "one")
    assert first.content == "one"
    assert app.seen and all(h.get("authorization") == "Bearer s3cret" for h in app.seen)

    down = await echo_once(tools, "two")
    assert down.is_error and "MCPConnectionError" in down.text and "'web'" in down.text

    # A fresh app: a new server process would not know the old session either.
    with running(create_server([echo]).streamable_http_app(), port=port):
        back = await echo_once(tools, "three")
    await client.aclose()
    assert not back.is_error and back.content == "three"


async def test_a_session_the_restarted_server_forgot_is_started_again() -> None:
    # 2025-era streamable HTTP keeps a session id; a restarted server answers 404 for it,
    # and the specification asks the client to start a new session and send again.
    with running(create_server([echo]).streamable_http_app()) as port:
        config = ServerConfig(HTTPServer(f"http://127.0.0.1:{port}/mcp"), protocol="legacy")
        client = MCPClient({"web": config})
        await client.aconnect()
        tools = await client.atools()
        assert (await echo_once(tools, "before")).content == "before"
    with running(create_server([echo]).streamable_http_app(), port=port):
        after = await echo_once(tools, "after")
        listed = [t.name for t in await client.atools()]
    await client.aclose()
    assert not after.is_error and after.content == "after"
    assert listed == ["web__echo"]
