"""The ``hone`` command line: --version, run (with a scripted model), serve, error exits."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hone import __version__
from hone.cli import app

runner = CliRunner()

MODELS = """
from hone.models._scripted import ScriptedModel

CALL = '<tool_call>{"name": "add", "arguments": {"a": 2, "b": 3}}</tool_call>'


def agent():
    return ScriptedModel(["<think>use the tool</think>" + CALL, "The sum is 5."], name="scripted")


not_a_model = 42
"""

TOOLS = '''
from hone.tools import tool


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b
'''


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A directory on sys.path with a scripted-model module and a tools file."""
    (tmp_path / "cli_models.py").write_text(textwrap.dedent(MODELS))
    (tmp_path / "cli_tools.py").write_text(textwrap.dedent(TOOLS))
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "cli_models", raising=False)
    return tmp_path


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.output.strip() == f"hone {__version__}"


def test_no_arguments_shows_help() -> None:
    result = runner.invoke(app, [])
    assert "run" in result.output and "serve" in result.output


def test_run_prints_tool_calls_results_and_answer(project: Path) -> None:
    tools_file = str(project / "cli_tools.py")
    result = runner.invoke(
        app, ["run", "what is 2+3?", "--model", "cli_models:agent", "--tools", tools_file]
    )
    assert result.exit_code == 0, result.output
    out = result.output
    assert "use the tool" in out
    assert 'add({"a": 2, "b": 3})' in out
    assert "← 5" in out
    assert "The sum is 5." in out
    assert out.index("add(") < out.index("← 5") < out.index("The sum is 5.")


@pytest.mark.parametrize(
    ("spec", "needle"),
    [
        ("nonsense", "cannot understand the model spec"),
        ("cli_models:not_a_model", "names a value of type int, not a model"),
        ("cli_models:missing", "has no attribute 'missing'"),
    ],
)
def test_bad_model_spec_is_one_red_line(project: Path, spec: str, needle: str) -> None:
    result = runner.invoke(app, ["run", "hi", "--model", spec])
    assert result.exit_code == 1
    assert needle in result.output
    assert "Traceback" not in result.output
    assert result.output.startswith("error: ")


def test_missing_tools_module_is_an_error(project: Path) -> None:
    result = runner.invoke(app, ["run", "hi", "--model", "cli_models:agent", "--tools", "nope_mod"])
    assert result.exit_code == 1
    assert "nope_mod" in result.output


def test_run_against_a_served_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI → OpenAICompatibleModel → hone serve → ScriptedModel, end to end."""
    from hone.models._scripted import ScriptedModel
    from hone.serve import create_app, running_server

    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    model = ScriptedModel(["Served answer."], name="remote")
    with running_server(create_app(model, model_name="remote")) as url:
        result = runner.invoke(app, ["run", "hi", "--model", f"openai-compatible:{url}#remote"])
    assert result.exit_code == 0, result.output
    assert "Served answer." in result.output
    assert model.requests[0].messages[-1].text == "hi"


def test_public_surface() -> None:
    import hone.cli

    assert hone.cli.__all__ == ["app"]
