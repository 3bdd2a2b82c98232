"""A third-party MCP server built with the official SDK's ``MCPServer``: the tests' foreign
server, in-process (``build()``) and over stdio (``python weather.py``)."""

from __future__ import annotations

import os
import sys

import anyio
from mcp.server.mcpserver import Context, Image, MCPServer
from mcp.server.mcpserver.exceptions import ToolError

#: Calls the server saw cancelled (a client-side timeout cancels the request here).
CANCELLED: list[str] = []


def _humidity(city: str) -> str:
    """The humidity in a city."""
    return f"{city}: 40%"


async def _announce_change(ctx: Context) -> None:
    # 2026-07-28 clients hear about changes on their listen stream; 2025-era clients
    # through the notification on their session.
    await ctx.notify_tools_changed()
    if ctx.request_context.protocol_version < "2026":
        await ctx.request_context.session.send_tool_list_changed()


def build(name: str = "weather") -> MCPServer:
    """A fresh server (tools added or removed by one test do not leak into another)."""
    server = MCPServer(name)

    @server.tool()
    def forecast(city: str, days: int = 1) -> str:
        """The weather forecast for a city."""
        return f"{city}: sunny for {days} day(s)"

    @server.tool()
    def fail(reason: str) -> str:
        """Always fails, saying why."""
        raise ToolError(f"cannot comply: {reason}")

    @server.tool()
    async def slow(seconds: float) -> str:
        """Sleep, then answer."""
        try:
            await anyio.sleep(seconds)
        except anyio.get_cancelled_exc_class():
            CANCELLED.append("slow")
            raise
        return "done"

    @server.tool()
    def chart() -> Image:
        """A chart of the week."""
        return Image(data=b"\x89PNG\r\n\x1a\nfake", format="png")

    @server.tool(name="stats.summary")
    def summary(values: list[float]) -> dict[str, float]:
        """Mean and maximum of some numbers."""
        return {"mean": sum(values) / len(values), "max": max(values)}

    @server.tool()
    async def grow(ctx: Context) -> str:
        """Add the humidity tool."""
        server.add_tool(_humidity, name="humidity")
        await _announce_change(ctx)
        return "added humidity"

    @server.tool()
    async def shrink(ctx: Context) -> str:
        """Remove the forecast tool."""
        server.remove_tool("forecast")
        await _announce_change(ctx)
        return "removed forecast"

    @server.tool()
    def die() -> str:
        """Exit the server process at once (a crash)."""
        sys.stderr.flush()
        os._exit(3)

    return server


if __name__ == "__main__":
    build().run()
