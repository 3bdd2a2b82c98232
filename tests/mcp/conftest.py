"""Shared pieces of the MCP tests: the foreign server (built with the official SDK's
``MCPServer``) in-process and over stdio, and hone tools served by ``python -m hone.mcp``."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from hone.mcp import StdioServer

SERVERS = Path(__file__).resolve().parent / "servers"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"mcp_test_{name}", SERVERS / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


_weather = _load("weather")


@pytest.fixture
def weather() -> ModuleType:
    """The weather module: ``build()`` and ``CANCELLED`` (cleared for each test)."""
    _weather.CANCELLED.clear()
    return _weather


@pytest.fixture
def weather_server(weather: ModuleType) -> Any:
    """A fresh in-process ``MCPServer`` with the weather tools."""
    return weather.build()


@pytest.fixture
def servers_dir() -> Path:
    """The folder of the test servers."""
    return SERVERS


@pytest.fixture
def stdio_weather() -> StdioServer:
    """The weather server as a subprocess."""
    return StdioServer(sys.executable, [str(SERVERS / "weather.py")])


@pytest.fixture
def stdio_hone_tools() -> Callable[..., StdioServer]:
    """hone's test tools served by ``python -m hone.mcp serve`` over stdio (extra CLI
    arguments as parameters)."""

    def make(*extra: str) -> StdioServer:
        target = f"{SERVERS / 'hone_tools.py'}:tools"
        return StdioServer(sys.executable, ["-m", "hone.mcp", "serve", target, *extra])

    return make


@pytest.fixture
def stdio_raw() -> StdioServer:
    """The hand-written server whose tool list is malformed."""
    return StdioServer(sys.executable, [str(SERVERS / "raw.py")])
