"""MCP both ways, offline: a third-party MCP server's tools used by a hone agent, and hone's
own tools served over MCP (``hone mcp serve``) to the same client, over stdio.

A scripted model stands in for a real one, so the tool calls are fixed; what comes back from
the servers is real. The third-party server is built with the official SDK's ``MCPServer``
and runs in-process; this file's ``tools`` are served by a subprocess running
``python -m hone.mcp serve tools_both_ways.py:tools`` (the same as ``hone mcp serve``).

    python examples/mcp/tools_both_ways.py
"""

from __future__ import annotations

import sys

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ToolError

from hone.agent import run_agent
from hone.mcp import MCPClient, ServerConfig, ServerLike, StdioServer
from hone.messages import ToolMessage
from hone.models import ScriptedModel
from hone.tools import tool

CAPITALS = {"France": "Paris", "Japan": "Tokyo", "Kenya": "Nairobi"}


@tool
def capital(country: str) -> str:
    """The capital city of a country.

    Args:
        country: The country's English name.
    """
    if country not in CAPITALS:
        raise KeyError(f"no capital known for {country!r}; try one of {sorted(CAPITALS)}")
    return CAPITALS[country]


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


#: What ``hone mcp serve tools_both_ways.py:tools`` serves.
tools = [capital, add]


def third_party_server() -> MCPServer:
    """An MCP server written without hone, as a third party would (the official SDK)."""
    server = MCPServer("units")

    @server.tool()
    def km_to_miles(km: float) -> str:
        """Convert kilometres to miles."""
        if km < 0:
            raise ToolError("a distance cannot be negative")
        return f"{km * 0.621371:.1f} mi"

    return server


def call(name: str, arguments: str) -> str:
    """A scripted reply that calls one tool (Hermes format, as the tiny model writes)."""
    return f'<tool_call>{{"name": "{name}", "arguments": {arguments}}}</tool_call>'


def show(history: list[object]) -> None:
    for message in history:
        if isinstance(message, ToolMessage):
            mark = "error" if message.is_error else "ok"
            print(f"  tool [{mark}]: {message.text.splitlines()[0]}")
    print(f"  answer: {getattr(history[-1], 'content', '')}")


def main() -> None:
    served = StdioServer(sys.executable, ["-m", "hone.mcp", "serve", f"{__file__}:tools"])
    servers: dict[str, ServerLike] = {
        "units": third_party_server(),  # in-process: tools named units__km_to_miles
        "geo": ServerConfig(served, prefix="", timeout=10),  # over stdio, names kept as they are
    }
    with MCPClient(servers) as client:
        found = client.tools()
        print("tools the model sees:", ", ".join(t.name for t in found))

        # The server marks a bad distance isError: the model reads why and tries again.
        model = ScriptedModel(
            [
                call("units__km_to_miles", '{"km": -5}'),
                call("units__km_to_miles", '{"km": 42.2}'),
                "A marathon is about 26.2 miles.",
            ]
        )
        print("\nHow long is a marathon in miles?")
        show(run_agent(model, found, "How long is a marathon (42.2 km) in miles?"))

        # hone's own tools, reached through MCP: an exception in the tool is an error result.
        model = ScriptedModel(
            [
                call("capital", '{"country": "Atlantis"}'),
                call("capital", '{"country": "Kenya"}'),
                "The capital of Kenya is Nairobi.",
            ]
        )
        print("\nWhat is the capital of Kenya?")
        show(run_agent(model, found, "What is the capital of Kenya?"))


if __name__ == "__main__":
    main()
