"""Running the server: the port is bound before the model loads; a busy one is a clear error."""

from __future__ import annotations

import re
import socket
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import uvicorn

from hone.errors import ConfigError
from hone.models import ScriptedModel
from hone.serve import create_app, running_server, serve
from hone.serve._run import bind_port


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_bind_port_reports_a_busy_port(busy_port: int) -> None:
    with pytest.raises(ConfigError, match=f"port {busy_port} is in use on 127.0.0.1"):
        bind_port("127.0.0.1", busy_port)


def test_bind_port_reports_an_address_it_cannot_use() -> None:
    with pytest.raises(ConfigError, match=re.escape("cannot listen on 203.0.113.7:0")):
        bind_port("203.0.113.7", 0)  # TEST-NET-3: never a local address


def test_serve_fails_on_a_busy_port_before_loading_the_model(
    busy_port: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    loaded: list[str] = []
    monkeypatch.setattr(
        "hone.models._spec.load_model", lambda spec, **kw: loaded.append(spec) or None
    )
    ready: list[str] = []
    with pytest.raises(ConfigError, match="is in use"):
        serve("tiny:", port=busy_port, on_ready=lambda url, name: ready.append(url))
    assert loaded == [] and ready == []


def test_serve_announces_then_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[Any] = []

    def run(self: uvicorn.Server, sockets: list[socket.socket] | None = None) -> None:
        assert sockets is not None
        seen.append(("run", sockets[0].getsockname()[1]))

    monkeypatch.setattr(uvicorn.Server, "run", run)
    model = ScriptedModel(["hi"], name="s")
    serve(model, port=0, on_ready=lambda url, name: seen.append(("ready", url, name)))
    (_, url, name), (_, port) = seen
    assert name == "s" and url == f"http://127.0.0.1:{port}/v1"


def test_parser_needs_a_model_given_as_a_string() -> None:
    with pytest.raises(ConfigError, match="parser= applies when serve loads the model"):
        serve(ScriptedModel(["hi"]), port=0, parser="react")


def test_an_unknown_parser_is_refused_before_binding(busy_port: int) -> None:
    with pytest.raises(ConfigError, match="unknown parser 'nope'; choose one of hermes"):
        serve("tiny:", port=busy_port, parser="nope")


def test_running_server_serves_and_stops() -> None:
    app = create_app(ScriptedModel(["hi"], name="s"), model_name="s")
    with running_server(app) as url:
        assert httpx.get(url.removesuffix("/v1") + "/health").json()["model"] == "s"
