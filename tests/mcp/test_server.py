"""``create_server``: hone tools offered to the official SDK's ``Client``, in-process, in both
protocol eras: schemas as hone makes them, hone's validation, errors as ``isError``."""

from __future__ import annotations

import socket
from typing import Any

import mcp.types as mt
import pytest
from mcp import Client, MCPError

from hone.errors import ConfigError
from hone.mcp import create_server, serve
from hone.messages import ImagePart, ImageUrl, TextPart
from hone.tools import ExecutionOptions, ToolContext, tool


@tool
def add(a: int, b: int = 1) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


@tool
def whoami(ctx: ToolContext) -> dict[str, Any]:
    """Say what the call knows about itself."""
    return {
        "tool": ctx.tool_name,
        "deps": ctx.deps,
        "has_request_id": "mcp_request_id" in ctx.metadata,
    }


@tool
def broken(x: str) -> str:
    """Raise.

    Args:
        x: Anything.
    """
    raise ValueError(f"bad {x}")


@tool
async def sleepy() -> str:
    """Take too long."""
    import asyncio

    await asyncio.sleep(10)
    return "late"


@tool
def drawing() -> list[TextPart | ImagePart]:
    """Two images, one inline and one by URL."""
    return [
        ImagePart(image_url=ImageUrl(url="data:image/png;base64,AAAA")),
        ImagePart(image_url=ImageUrl(url="https://example.com/a.png")),
    ]


def text(result: mt.CallToolResult) -> str:
    return "\n".join(b.text for b in result.content if isinstance(b, mt.TextContent))


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_the_sdk_client_sees_hone_schemas_and_results(mode: str) -> None:
    server = create_server([add, whoami, broken, drawing], deps="db", name="calc")
    async with Client(server, mode=mode) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        ok = await client.call_tool("add", {"a": 2})
        me = await client.call_tool("whoami", {})
        bad_args = await client.call_tool("add", {"a": "x", "c": 1})
        raised = await client.call_tool("broken", {"x": "y"})
        images = await client.call_tool("drawing", {})
        with pytest.raises(MCPError, match=r"Unknown tool: nope\. Available tools: add, whoami"):
            await client.call_tool("nope", {})
        assert client.server_info is not None and client.server_info.name == "calc"
    assert list(listed) == ["add", "whoami", "broken", "drawing"]
    assert listed["add"].input_schema == dict(add.parameters)
    assert listed["add"].description == add.description
    assert "ctx" not in str(listed["whoami"].input_schema)
    assert (ok.is_error, text(ok), ok.structured_content) == (False, "3", None)
    assert me.structured_content == {"tool": "whoami", "deps": "db", "has_request_id": True}
    assert bad_args.is_error and "invalid arguments for 'add'" in text(bad_args)
    assert "a: expected integer" in text(bad_args) or "a: Input should be" in text(bad_args)
    assert raised.is_error and "raised ValueError: bad y" in text(raised)
    inline, linked = images.content
    assert isinstance(inline, mt.ImageContent) and (inline.data, inline.mime_type) == (
        "AAAA",
        "image/png",
    )
    assert isinstance(linked, mt.ResourceLink) and linked.uri == "https://example.com/a.png"


async def test_execution_options_apply_to_served_calls() -> None:
    server = create_server([sleepy], execution=ExecutionOptions(timeout=0.1))
    async with Client(server) as client:
        late = await client.call_tool("sleepy", {})
    assert late.is_error and "timed out after 0.1s" in text(late)


async def test_langchain_tools_and_plain_functions_are_served() -> None:
    from langchain_core.tools import tool as lc_tool

    @lc_tool
    def shout(word: str) -> str:
        """Shout a word."""
        return word.upper()

    def double(n: int) -> int:
        """Double a number.

        Args:
            n: The number.
        """
        return 2 * n

    # ToolLike does not name LangChain tools, though the registry accepts them.
    async with Client(create_server([shout, double])) as client:  # type: ignore[list-item]
        names = [t.name for t in (await client.list_tools()).tools]
        loud = await client.call_tool("shout", {"word": "hi"})
        twice = await client.call_tool("double", {"n": 4})
    assert names == ["shout", "double"]
    assert (text(loud), text(twice)) == ("HI", "8")


def test_a_busy_port_fails_before_serving() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ready: list[str] = []
        with pytest.raises(ConfigError, match=f"port {port} is in use"):
            serve([add], transport="http", port=port, on_ready=ready.append)
    assert ready == []
    with pytest.raises(ConfigError, match="transport must be 'stdio' or 'http'"):
        serve([add], transport="sse")  # type: ignore[arg-type]
