"""``--model`` and ``--tools`` read the same forms as ``hone graph`` (``module:name`` found in
the current folder, ``file.py:name``); the built-in tiny model says it is untrained and shows
its first build."""

from __future__ import annotations

import io
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from rich.console import Console
from typer.testing import CliRunner

import hone.cli._resolve as resolve
from hone.cli import app
from hone.models._tiny_corpus import default_corpus

runner = CliRunner()

MODELS = """
from hone.models import ScriptedModel

CALL = '<tool_call>{"name": "add", "arguments": {"a": 2, "b": 3}}</tool_call>'


def agent():
    return ScriptedModel([CALL, "The sum is 5."], name="scripted")
"""

TOOLS = '''
from hone.tools import tool


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b
'''


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[str, str]:
    """The current folder holds a models module and a tools module (not on sys.path)."""
    suffix = uuid.uuid4().hex[:8]
    models, tools = f"my_model_{suffix}", f"my_tools_{suffix}"
    (tmp_path / f"{models}.py").write_text(textwrap.dedent(MODELS))
    (tmp_path / f"{tools}.py").write_text(textwrap.dedent(TOOLS))
    monkeypatch.chdir(tmp_path)
    assert str(tmp_path) not in sys.path
    return models, tools


@pytest.mark.parametrize(
    ("model_form", "tools_form"),
    [
        ("{models}:agent", "{tools}"),
        ("{models}.py:agent", "{tools}.py"),
        ("./{models}.py:agent", "{tools}:add"),
        ("{models}:agent", "{tools}.py:add"),
    ],
)
def test_model_and_tools_from_the_current_folder(
    folder: tuple[str, str], model_form: str, tools_form: str
) -> None:
    models, tools = folder
    model = model_form.format(models=models)
    tool_target = tools_form.format(tools=tools)
    result = runner.invoke(app, ["run", "2+3?", "--model", model, "--tools", tool_target])
    assert result.exit_code == 0, result.output
    assert "← 5" in result.stdout and "The sum is 5." in result.stdout


def test_a_missing_module_is_named_never_an_unknown_kind(folder: tuple[str, str]) -> None:
    result = runner.invoke(app, ["run", "hi", "--model", "my_model:backend"])
    assert result.exit_code == 1
    assert "no module named 'my_model'" in result.output
    assert "unknown kind" not in result.output and "not a model kind" not in result.output
    assert "file.py:name" in result.output  # says how to name a file instead


def test_a_misspelt_attribute_gets_a_suggestion(folder: tuple[str, str]) -> None:
    models, _ = folder
    result = runner.invoke(app, ["run", "hi", "--model", f"{models}:agnet"])
    assert result.exit_code == 1
    assert "has no attribute 'agnet'; did you mean 'agent'?" in result.output


SMALL = dict(
    hidden_size=32, layers=1, heads=2, kv_heads=1, intermediate=64, max_position=128, vocab_size=512
)


@pytest.fixture
def small_tiny(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The built-in model, made small and fast to build, under a fresh HONE_HOME."""
    import hone.models.tiny as tiny

    config = tiny.TinyConfig(**SMALL)  # type: ignore[arg-type]
    monkeypatch.setattr(tiny, "TinyConfig", lambda: config)
    monkeypatch.setattr(tiny, "default_corpus", lambda seed: default_corpus(300, seed=seed))
    monkeypatch.setenv("HONE_HOME", str(tmp_path / "home"))
    return tmp_path / "home" / "tiny"


def test_builtin_tiny_says_it_is_untrained_and_shows_its_first_build(
    small_tiny: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from hone.models import TransformersModel

    model = resolve.load_cli_model("tiny:")
    assert isinstance(model, TransformersModel)
    first = capsys.readouterr().err
    assert "the built-in tiny model is untrained" in first and "hone demo" in first
    stages = ["building the built-in tiny model", "training the tokenizer", "initialising"]
    positions = [first.index(stage) for stage in [*stages, "saving", "built the tiny model in"]]
    assert positions == sorted(positions)
    assert (small_tiny / "config.json").is_file()

    resolve.load_cli_model("tiny:")
    second = capsys.readouterr().err
    assert "untrained" in second
    assert "building" not in second and "training the tokenizer" not in second


def test_a_trained_tiny_directory_gets_no_note(tmp_path: Path) -> None:
    with pytest.raises(Exception, match="no model directory"):
        resolve.load_cli_model(f"tiny:{tmp_path / 'mine'}")


def test_stage_reporter_on_a_terminal_shows_a_spinner(monkeypatch: pytest.MonkeyPatch) -> None:
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=100)
    monkeypatch.setattr(resolve, "err_console", console)
    with resolve.stage_reporter("done") as report:
        report("first stage")
        report("second stage")
    text = out.getvalue()
    assert "first stage" in text and "second stage" in text and "done in" in text


def test_stage_reporter_is_silent_when_nothing_happens(capsys: pytest.CaptureFixture[str]) -> None:
    with resolve.stage_reporter("done"):
        pass
    assert capsys.readouterr().err == ""
