"""``MCPClient`` over stdio: the foreign server and hone's own tools (``python -m hone.mcp
serve``) as subprocesses; crashes, reconnects, startup failures and malformed lists."""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from hone.mcp import (
    MCPClient,
    MCPConnectionError,
    MCPProtocolError,
    ServerConfig,
    ServerLike,
    StdioServer,
)
from hone.messages import ImagePart, TextPart, ToolCall, ToolMessage
from hone.tools import aexecute_tool_calls


async def run(tools: list[Any], *calls: tuple[str, dict[str, Any]]) -> list[ToolMessage]:
    turn = [ToolCall(id=f"c{i}", name=n, arguments=a) for i, (n, a) in enumerate(calls)]
    return await aexecute_tool_calls(turn, tools)


async def test_a_foreign_server_over_stdio(stdio_weather: StdioServer) -> None:
    async with MCPClient({"w": stdio_weather}) as client:
        tools = await client.atools()
        ok, failed = await run(
            tools, ("w__forecast", {"city": "Oslo"}), ("w__fail", {"reason": "storm"})
        )
        await run(tools, ("w__grow", {}))
        for _ in range(300):  # the change arrives on the listen stream
            names = [t.name for t in await client.atools()]
            if "w__humidity" in names:
                break
            await asyncio.sleep(0.01)
    assert ok.content == "Oslo: sunny for 1 day(s)"
    assert failed.is_error and "cannot comply: storm" in failed.text
    assert "w__humidity" in names


async def test_a_crash_fails_the_calls_in_flight_and_the_next_call_restarts_the_server(
    stdio_weather: StdioServer,
) -> None:
    async with MCPClient({"w": stdio_weather}) as client:
        tools = await client.atools()
        waiting, crashed = await run(tools, ("w__slow", {"seconds": 30}), ("w__die", {}))
        (after,) = await run(tools, ("w__forecast", {"city": "Rome"}))
    for message in (waiting, crashed):
        assert message.is_error
        assert "MCPConnectionError: MCP server 'w' closed the connection" in message.text
        assert "reconnected at the next call" in message.text
    assert not after.is_error and after.content == "Rome: sunny for 1 day(s)"


async def test_hone_tools_served_over_stdio_keep_their_schemas(
    stdio_hone_tools: Callable[..., StdioServer], servers_dir: Path
) -> None:
    from hone.tools import ToolRegistry

    local = ToolRegistry.from_module(f"{servers_dir / 'hone_tools.py'}:tools")
    async with MCPClient({"h": ServerConfig(stdio_hone_tools(), prefix="")}) as client:
        remote = {t.name: t for t in await client.atools()}
        added, profile, exploded, picture = await run(
            list(remote.values()),
            ("add", {"a": 2, "b": 3}),
            ("profile", {"name": "Ada"}),
            ("explode", {"message": "kaboom"}),
            ("picture", {}),
        )
        unchecked = await client.acall_tool("h", "add", {"a": "two"})
    assert list(remote) == local.names()
    for tool in local:
        assert dict(remote[tool.name].parameters) == dict(tool.parameters)
        assert remote[tool.name].description == tool.description
    assert added.content == "5"
    assert json.loads(profile.text) == {"name": "Ada", "length": 3}
    assert exploded.is_error and "raised RuntimeError: kaboom" in exploded.text
    assert isinstance(picture.content, list)
    assert picture.content[0] == TextPart(text="a red dot")
    assert isinstance(picture.content[1], ImagePart)
    assert picture.content[1].image_url.url == "data:image/png;base64,iVBORw0KGgo="
    # The server validates with hone's schemas too, for clients that do not.
    assert unchecked.is_error and "invalid arguments for 'add'" in unchecked.content[0].text  # type: ignore[union-attr]


async def test_the_served_timeout_is_an_error_result(
    stdio_hone_tools: Callable[..., StdioServer],
) -> None:
    async with MCPClient({"h": stdio_hone_tools("--timeout", "0.2")}) as client:
        (late,) = await run(await client.atools(), ("h__nap", {"seconds": 10}))
    assert late.is_error and "tool 'nap' timed out after 0.2s" in late.text


@pytest.mark.parametrize(
    ("server", "expected"),
    [
        (StdioServer("/nonexistent/mcp-server"), "cannot start MCP server 'x' .*FileNotFoundError"),
        (
            StdioServer(sys.executable, ["-c", "import sys; sys.exit(1)"]),
            "MCP server 'x' .* exited or closed its output before the handshake finished",
        ),
        (
            StdioServer(sys.executable, ["-m", "hone.mcp", "serve", "no_such_module:tools"]),
            "exited or closed its output before the handshake",
        ),
    ],
)
async def test_a_server_that_cannot_start_is_a_precise_error(
    server: StdioServer, expected: str
) -> None:
    client = MCPClient({"x": server})
    with pytest.raises(MCPConnectionError, match=expected) as info:
        await client.aconnect()
    assert info.value.server == "x"


async def test_a_server_that_never_answers_times_out() -> None:
    silent = StdioServer(sys.executable, ["-c", "import time; time.sleep(60)"])
    client = MCPClient({"x": ServerConfig(silent, connect_timeout=0.5)})
    with pytest.raises(MCPConnectionError, match=r"did not finish connecting within 0\.5s"):
        await client.aconnect()


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        ("missing", "tool 'broken' \\(tools.1.inputSchema: Field required\\)"),
        ("string", "tools.1.inputSchema.type: Input should be 'object'"),
    ],
)
async def test_a_malformed_tool_list_names_the_server_and_the_entry(
    servers_dir: Path, kind: str, expected: str
) -> None:
    raw = StdioServer(sys.executable, [str(servers_dir / "raw.py"), kind])
    async with MCPClient({"raw": ServerConfig(raw, protocol="legacy")}) as client:
        with pytest.raises(
            MCPProtocolError, match=f"MCP server 'raw' answered tools/list .*{expected}"
        ):
            await client.atools()


async def test_the_agent_goes_on_after_the_server_crashes(stdio_weather: StdioServer) -> None:
    from hone.agent import arun_agent
    from hone.models import ScriptedModel

    model = ScriptedModel(
        [
            '<tool_call>{"name": "w__die", "arguments": {}}</tool_call>',
            '<tool_call>{"name": "w__forecast", "arguments": {"city": "Oslo"}}</tool_call>',
            "Sunny in Oslo, after one failure.",
        ]
    )
    async with MCPClient({"w": stdio_weather}) as client:
        history = await arun_agent(model, await client.atools(), "Weather in Oslo?")
    crashed, answered = [m for m in history if isinstance(m, ToolMessage)]
    assert crashed.is_error and "MCP server 'w' closed the connection" in crashed.text
    assert not answered.is_error and answered.content == "Oslo: sunny for 1 day(s)"
    assert history[-1].content == "Sunny in Oslo, after one failure."
    # The model saw the failure before it tried again.
    assert "closed the connection" in str(model.requests[1].messages[-1].content)


async def test_a_malformed_server_leaves_the_other_servers_usable(
    servers_dir: Path, stdio_weather: StdioServer
) -> None:
    from hone.agent import arun_agent
    from hone.models import ScriptedModel

    raw = StdioServer(sys.executable, [str(servers_dir / "raw.py"), "string"])
    servers: dict[str, ServerLike] = {
        "raw": ServerConfig(raw, protocol="legacy"),
        "w": stdio_weather,
    }
    model = ScriptedModel(
        [
            '<tool_call>{"name": "w__forecast", "arguments": {"city": "Oslo"}}</tool_call>',
            "Sunny in Oslo.",
        ]
    )
    async with MCPClient(servers) as client:
        # The SDK rejects the whole list (an entry that is not a tool): a precise error.
        with pytest.raises(MCPProtocolError, match=r"'raw' answered tools/list .*inputSchema"):
            await client.atools()
        # The other server's tools still work, in an agent run too.
        history = await arun_agent(model, await client.atools("w"), "Weather in Oslo?")
    (answered,) = [m for m in history if isinstance(m, ToolMessage)]
    assert answered.content == "Oslo: sunny for 1 day(s)"
    assert history[-1].content == "Sunny in Oslo."


async def test_a_replaced_stderr_without_a_descriptor_still_starts_servers(
    stdio_weather: StdioServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    # A notebook's or a test runner's sys.stderr has no file descriptor to hand a subprocess.
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    async with MCPClient({"w": stdio_weather}) as client:
        (ok,) = await run(await client.atools(), ("w__forecast", {"city": "Lima"}))
    assert ok.content == "Lima: sunny for 1 day(s)"


FLAKY = '''
import os
import sys
from pathlib import Path

from mcp.server.mcpserver import MCPServer

server = MCPServer("flaky")
MARK = Path(sys.argv[1])


@server.tool()
def ping() -> str:
    """Crash the first time, answer afterwards."""
    if not MARK.exists():
        MARK.write_text("crashed once")
        os._exit(4)
    return "pong"


server.run()
'''


async def test_a_retry_policy_rides_out_a_crash(tmp_path: Path) -> None:
    from hone.tools import RetryPolicy

    script = tmp_path / "flaky.py"
    script.write_text(FLAKY)
    flaky = StdioServer(sys.executable, [str(script), str(tmp_path / "mark")])
    retry = RetryPolicy(retry_on=MCPConnectionError, initial_interval=0, jitter=False)
    async with MCPClient({"f": flaky}) as client:
        (ping,) = await client.atools()
        (once,) = await run([ping], ("f__ping", {}))  # no retry: the crash is the result
        (tmp_path / "mark").unlink()
        (again,) = await run([ping.with_(retry=retry)], ("f__ping", {}))
    assert once.is_error and "MCPConnectionError" in once.text
    assert not again.is_error and again.content == "pong"
