"""An agent server on a free loopback port (uvicorn in a thread) with two users."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from langgraph_sdk import get_sync_client
from langgraph_sdk.client import SyncLangGraphClient

from hone.server import AuthConfig, ServerConfig, running_server

HERE = Path(__file__).resolve().parent
GRAPHS = {
    "counter": "agents.py:counter",
    "asker": "agents.py:asker",
    "slow": "agents.py:slow",
    "failing": "agents.py:failing",
    "chat": "agents.py:chat_factory",
    "nested": "agents.py:nested",
    "picky": "agents.py:picky_factory",
}
KEYS = {"alice-key": "alice", "bob-key": "bob"}


def make_config(database: str, **overrides: object) -> ServerConfig:
    """The test server's config on ``database``."""
    fields: dict[str, object] = {
        "graphs": GRAPHS,
        "database": database,
        "base_dir": HERE,
        "auth": AuthConfig(api_keys=KEYS),
        **overrides,
    }
    return ServerConfig(**fields)  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The base URL of a server with SQLite in a temporary folder."""
    database = tmp_path_factory.mktemp("server") / "server.db"
    with running_server(make_config(str(database))) as url:
        yield url


@pytest.fixture
def alice(server_url: str) -> Iterator[SyncLangGraphClient]:
    """A sync client for user alice."""
    client = get_sync_client(url=server_url, api_key="alice-key")
    yield client
    client.http.client.close()


@pytest.fixture
def bob(server_url: str) -> Iterator[SyncLangGraphClient]:
    """A sync client for user bob."""
    client = get_sync_client(url=server_url, api_key="bob-key")
    yield client
    client.http.client.close()
