"""``hone mcp serve``: hone tools reached by the official MCP SDK's client over stdio and
over streamable HTTP on loopback; bad targets and busy ports are one-line errors."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import mcp.types as mt
import pytest
from mcp import Client, StdioServerParameters
from typer.testing import CliRunner

from hone.cli import app
from hone.mcp import HTTPServer, MCPClient
from hone.messages import ToolCall
from hone.tools import aexecute_tool_calls

runner = CliRunner()

TOOLS = '''
from langchain_core.tools import tool as lc_tool

from hone.tools import tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


@lc_tool
def shout(word: str) -> str:
    """Shout a word."""
    return word.upper()


tools = [add, shout]
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "cli_tools.py").write_text(textwrap.dedent(TOOLS))
    monkeypatch.chdir(tmp_path)
    return tmp_path


def hone_command() -> list[str]:
    """The installed ``hone`` script beside this interpreter, else ``python -m hone.mcp``."""
    script = Path(sys.executable).with_name("hone")
    return [str(script), "mcp"] if script.exists() else [sys.executable, "-m", "hone.mcp"]


def text(result: mt.CallToolResult) -> str:
    return "".join(b.text for b in result.content if isinstance(b, mt.TextContent))


async def test_stdio_serves_the_official_client(project: Path) -> None:
    command, *args = hone_command()
    params = StdioServerParameters(
        command=command, args=[*args, "serve", "cli_tools.py:tools"], cwd=project
    )
    async with Client(params) as client:
        listed = (await client.list_tools()).tools
        added = await client.call_tool("add", {"a": 20, "b": 22})
        shouted = await client.call_tool("shout", {"word": "mcp"})
        wrong = await client.call_tool("add", {"a": 1})
    assert [t.name for t in listed] == ["add", "shout"]
    assert listed[0].input_schema["required"] == ["a", "b"]
    assert (text(added), text(shouted)) == ("42", "MCP")
    assert wrong.is_error and "b: required field is missing" in text(wrong)


@pytest.fixture
def http_server(project: Path) -> Iterator[str]:
    """``hone mcp serve --http 0`` in a subprocess; yields its URL from the announcement."""
    process = subprocess.Popen(
        [*hone_command(), "serve", "cli_tools.py:tools", "--http", "0"],
        cwd=project,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        found = re.search(r"\((http://127\.0\.0\.1:\d+/mcp)\)", line)
        assert found, f"no URL announced: {line!r}"
        yield found.group(1)
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def test_http_serves_the_official_client_and_hone_client(http_server: str) -> None:
    async with Client(http_server) as client:
        added = await client.call_tool("add", {"a": 1, "b": 2})
    assert text(added) == "3"
    async with MCPClient({"remote": HTTPServer(http_server)}) as mcp:
        tools = await mcp.atools()
        (message,) = await aexecute_tool_calls(
            [ToolCall(id="c", name="remote__shout", arguments={"word": "loopback"})], tools
        )
    assert [t.name for t in tools] == ["remote__add", "remote__shout"]
    assert message.content == "LOOPBACK"


def test_a_bad_target_is_one_line(project: Path) -> None:
    result = runner.invoke(app, ["mcp", "serve", "nowhere:tools"])
    assert result.exit_code == 1
    assert "cannot load tools from 'nowhere:tools'" in result.output
    assert "Traceback" not in result.output


def test_a_busy_port_is_one_line(project: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = runner.invoke(app, ["mcp", "serve", "cli_tools.py:tools", "--http", str(port)])
    assert result.exit_code == 1
    assert f"port {port} is in use" in result.output
    assert "serving" not in result.output
