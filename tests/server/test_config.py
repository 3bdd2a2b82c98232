"""The server's config file (``hone.json`` or LangGraph's ``langgraph.json``), graphs that
cannot be served, and ``hone server``'s command line."""

from __future__ import annotations

import json
import os
import socket
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hone.cli import app
from hone.cli._server import _keys
from hone.errors import ConfigError
from hone.server import AuthConfig, ServerConfig, create_app, load_server_config

runner = CliRunner()

GRAPH = """
from hone.graph import END, START, StateGraph
from typing import TypedDict


class S(TypedDict):
    n: int


def bump(state: S) -> S:
    return {"n": state["n"] + 1}


builder = StateGraph(S)
builder.add_node("bump", bump)
builder.add_edge(START, "bump")
builder.add_edge("bump", END)
graph = builder.compile()
not_a_graph = 42


def make_graph():
    return builder.compile()
"""


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "my_agent.py").write_text(textwrap.dedent(GRAPH))
    (tmp_path / ".env").write_text("# settings\nexport HONE_TEST_SETTING='on'\nHONE_TEST_OTHER=2\n")
    return tmp_path


def _write(folder: Path, data: object, name: str = "langgraph.json") -> Path:
    path = folder / name
    path.write_text(json.dumps(data))
    return path


def test_a_langgraph_json_is_read(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = _write(
        folder,
        {
            "$schema": "https://langgra.ph/schema.json",
            "dependencies": ["."],
            "python_version": "3.11",
            "graphs": {"agent": "./my_agent.py:graph", "made": "my_agent.py:make_graph"},
            "env": ".env",
            "store": {"index": {"dims": 64, "embed": "hashing"}},
        },
    )
    config = load_server_config(path, database=":memory:")
    assert dict(config.graphs) == {"agent": "./my_agent.py:graph", "made": "my_agent.py:make_graph"}
    assert config.env == {"HONE_TEST_SETTING": "on", "HONE_TEST_OTHER": "2"}
    assert config.folder == folder.resolve()
    assert config.store_index == {"dims": 64, "embed": "hashing"}
    for name in config.env:  # create_app sets them: undone after the test
        monkeypatch.setenv(name, "")
    app_ = create_app(config)
    assert os.environ["HONE_TEST_SETTING"] == "on"
    assert app_.state.hone.graphs.ids == ["agent", "made"]
    paths = app_.openapi()["paths"]
    assert {"/threads/{thread_id}/runs/stream", "/runs/wait", "/store/items"} <= set(paths)


def test_hone_json_settings(folder: Path) -> None:
    path = _write(
        folder,
        {
            "graphs": {"agent": "my_agent:graph"},
            "database": "data/agents.db",
            "auth": {"api_keys": {"k1": "alice"}},
            "limits": {"max_body_bytes": 4096, "max_concurrent_runs": 2},
        },
        "hone.json",
    )
    config = load_server_config(path)
    assert config.database_location() == str(folder.resolve() / "data" / "agents.db")
    assert config.auth == AuthConfig(api_keys={"k1": "alice"})
    assert (config.max_body_bytes, config.max_concurrent_runs) == (4096, 2)


def test_hone_aes_key_encrypts_the_servers_checkpoints(
    folder: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import base64

    from hone.checkpoint import AesGcmCipher

    path = _write(folder, {"graphs": {"agent": "my_agent:graph"}}, "hone.json")
    config = load_server_config(path, database=str(folder / "plain.db"))
    monkeypatch.delenv("HONE_AES_KEY", raising=False)
    assert create_app(config).state.hone.checkpointer.serde.cipher is None
    monkeypatch.setenv("HONE_AES_KEY", base64.b64encode(bytes(32)).decode())
    config = load_server_config(path, database=str(folder / "sealed.db"))
    saver = create_app(config).state.hone.checkpointer
    assert isinstance(saver.serde.cipher, AesGcmCipher)
    monkeypatch.setenv("HONE_AES_KEY", "not a key")
    with pytest.raises(ConfigError, match=r"HONE_AES_KEY or HONE_AES_KEY_PREVIOUS: .*base64"):
        create_app(load_server_config(path, database=str(folder / "bad.db")))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"graphs": {}}, "names no graphs"),
        ({"graphs": ["agent"]}, "must map graph ids"),
        ({"graphs": {"a": "my_agent:graph"}, "databse": "x.db"}, r"unknown settings \['databse'\]"),
        ({"graphs": {"a": "my_agent:graph"}, "http": {"app": "x:app"}}, "custom http apps"),
        ({"graphs": {"a": "my_agent:graph"}, "auth": {"path": "auth.py:auth"}}, "LangGraph Auth"),
        ({"graphs": {"a": "my_agent:graph"}, "auth": {"api_keys": {"k": ""}}}, "non-empty"),
        ({"graphs": {"a": "my_agent:graph"}, "env": "missing.env"}, "not a file"),
        ({"graphs": {"a": "my_agent:graph"}, "limits": {"max_body_bytes": 10}}, "at least 1024"),
        ({"graphs": {"a": "my_agent:graph"}, "limits": {"timeout": 10}}, '"limits" takes'),
    ],
)
def test_bad_config_files_name_the_problem(folder: Path, data: object, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_server_config(_write(folder, data))


def test_a_file_that_is_not_json(folder: Path) -> None:
    path = folder / "hone.json"
    path.write_text("{graphs: nope")
    with pytest.raises(ConfigError, match="not valid JSON"):
        load_server_config(path)
    with pytest.raises(ConfigError, match="no server config file"):
        load_server_config(folder / "absent.json")


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("my_agent:not_a_graph", "is a int; expected a compiled hone graph"),
        ("my_agent:missing", "missing"),
        ("no_such_module:graph", "no_such_module"),
    ],
)
def test_graphs_that_cannot_be_served(folder: Path, spec: str, message: str) -> None:
    config = ServerConfig(graphs={"g": spec}, database=":memory:", base_dir=folder)
    with pytest.raises(ConfigError, match=message) as caught:
        create_app(config)
    assert "graph 'g'" in str(caught.value)


def test_a_langgraph_graph_is_refused_with_the_fix(folder: Path) -> None:
    pytest.importorskip("langgraph.graph")
    (folder / "lg_agent.py").write_text(
        textwrap.dedent(
            """
            from typing import TypedDict
            from langgraph.graph import StateGraph, START, END

            class S(TypedDict):
                n: int

            b = StateGraph(S)
            b.add_node("x", lambda s: s)
            b.add_edge(START, "x")
            b.add_edge("x", END)
            graph = b.compile()
            """
        )
    )
    config = ServerConfig(graphs={"g": "lg_agent:graph"}, database=":memory:", base_dir=folder)
    with pytest.raises(ConfigError, match=r"import StateGraph from hone\.graph"):
        create_app(config)


def test_api_key_options() -> None:
    assert _keys(["k1=alice", "k2"]) == {"k1": "alice", "k2": "default"}
    with pytest.raises(ConfigError, match="KEY=USER"):
        _keys(["=alice"])
    with pytest.raises(ConfigError, match="KEY=USER"):
        _keys(["k1="])


def test_cli_reports_config_problems_in_one_line(folder: Path) -> None:
    result = runner.invoke(app, ["server", "--config", str(folder / "absent.json")])
    assert result.exit_code == 1
    assert "no server config file" in result.output
    assert "Traceback" not in result.output
    path = _write(folder, {"graphs": {"agent": "my_agent:graph"}}, "hone.json")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = runner.invoke(
            app, ["server", "--config", str(path), "--port", str(port), "--database", ":memory:"]
        )
    assert result.exit_code == 1 and "in use" in result.output


def test_cli_options_reach_the_server(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import hone.server

    seen: dict[str, object] = {}

    def fake_serve(config: ServerConfig, **options: object) -> None:
        seen.update(config=config, **options)

    monkeypatch.setattr(hone.server, "serve", fake_serve)
    path = _write(
        folder,
        {"graphs": {"agent": "my_agent:graph"}, "auth": {"api_keys": {"k0": "zoe"}}},
        "hone.json",
    )
    options = ["--port", "9", "--database", "other.db", "--api-key", "k1=alice", "--api-key", "k2"]
    result = runner.invoke(app, ["server", "-c", str(path), *options])
    assert result.exit_code == 0, result.output
    config = seen["config"]
    assert isinstance(config, ServerConfig)
    assert config.auth is not None
    assert dict(config.auth.api_keys) == {"k0": "zoe", "k1": "alice", "k2": "default"}
    assert config.database == "other.db" and seen["port"] == 9 and seen["host"] == "127.0.0.1"
