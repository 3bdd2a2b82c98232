"""``hone serve``: options reach the server, a busy port fails before "serving", ``--parser``
picks a registered parser, and a folder that is not a checkpoint names what it lacks."""

from __future__ import annotations

import socket
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from typer.testing import CliRunner

from hone.cli import app
from hone.parsing import parser_names

runner = CliRunner()

MODELS = """
from hone.models import ScriptedModel


def agent(parser="hermes"):
    return ScriptedModel(["hi"], name="scripted", parser=parser)


ready = ScriptedModel(["hi"], name="ready")
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "serve_models.py").write_text(textwrap.dedent(MODELS))
    monkeypatch.chdir(tmp_path)
    monkeypatch.delitem(sys.modules, "serve_models", raising=False)
    return tmp_path


@pytest.fixture
def no_uvicorn(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[Any]]:
    """uvicorn returns at once; the backends given to the app are recorded."""
    import hone.serve._run as run_module

    served: list[Any] = []
    create_app = run_module.create_app

    def recording_create_app(model: Any, **kwargs: Any) -> Any:
        served.append(model)
        return create_app(model, **kwargs)

    def run(self: uvicorn.Server, sockets: list[socket.socket] | None = None) -> None:
        assert sockets and sockets[0].getsockname()[1] > 0

    monkeypatch.setattr(run_module, "create_app", recording_create_app)
    monkeypatch.setattr(uvicorn.Server, "run", run)
    yield served


@pytest.fixture
def busy_port() -> Iterator[int]:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


def test_options_reach_the_server(project: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[dict[str, Any]] = []

    def fake_serve(model: Any, **kwargs: Any) -> None:
        kwargs.pop("on_ready")
        calls.append({"model": model, **kwargs})

    monkeypatch.setattr("hone.serve.serve", fake_serve)
    monkeypatch.setenv("HONE_API_KEY", "from-env")
    args = ["serve", "serve_models:agent", "--port", "9123", "--name", "mine", "--parser", "react"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert calls == [
        {
            "model": "serve_models:agent",
            "host": "127.0.0.1",
            "port": 9123,
            "api_key": "from-env",
            "name": "mine",
            "parser": "react",
            "max_loras": None,
            "lora_modules": {},
        }
    ]


def test_serving_line_names_the_model_and_url(project: Path, no_uvicorn: list[Any]) -> None:
    result = runner.invoke(app, ["serve", "serve_models:ready", "--port", "0", "--api-key", "k"])
    assert result.exit_code == 0, result.output
    assert "serving ready on http://127.0.0.1:" in result.stdout
    assert "(API key required)" in result.stdout
    assert len(no_uvicorn) == 1


def test_a_busy_port_fails_before_serving(project: Path, busy_port: int) -> None:
    result = runner.invoke(app, ["serve", "serve_models:ready", "--port", str(busy_port)])
    assert result.exit_code == 1
    assert f"port {busy_port} is in use" in result.output
    assert "serving" not in result.output
    assert "Traceback" not in result.output


def test_parser_reaches_the_loaded_backend(project: Path, no_uvicorn: list[Any]) -> None:
    result = runner.invoke(
        app, ["serve", "serve_models:agent", "--port", "0", "--parser", "json_action"]
    )
    assert result.exit_code == 0, result.output
    (backend,) = no_uvicorn
    assert backend.parser_name == "json_action"
    assert "serving scripted" in result.stdout


def test_an_unknown_parser_lists_the_names(project: Path) -> None:
    result = runner.invoke(app, ["serve", "serve_models:agent", "--parser", "nope"])
    assert result.exit_code == 1
    assert "unknown parser 'nope'" in result.output
    assert all(name in result.output for name in parser_names())


def test_a_parser_for_a_ready_made_model_is_refused(project: Path, no_uvicorn: list[Any]) -> None:
    result = runner.invoke(app, ["serve", "serve_models:ready", "--port", "0", "--parser", "react"])
    assert result.exit_code == 1
    assert "ready-made model" in result.output and "serving" not in result.output


@pytest.mark.parametrize(
    ("files", "missing"),
    [
        ((), ("config.json", "tokenizer files", "weights")),
        (("config.json",), ("tokenizer files", "weights")),
        (("config.json", "tokenizer.json"), ("weights",)),
    ],
)
def test_a_folder_that_is_not_a_checkpoint_names_what_it_lacks(
    tmp_path: Path, files: tuple[str, ...], missing: tuple[str, ...], no_uvicorn: list[Any]
) -> None:
    folder = tmp_path / "ckpt"
    folder.mkdir()
    for name in files:
        (folder / name).write_text("{}")
    result = runner.invoke(app, ["serve", f"hf:{folder}", "--port", "0"])
    assert result.exit_code == 1
    assert "is not a Hugging Face checkpoint" in result.output
    assert all(f"no {what}" in result.output for what in missing)
    assert "sentencepiece" not in result.output.lower() and "serving" not in result.output
