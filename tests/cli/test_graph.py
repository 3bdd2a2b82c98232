"""``hone graph``: print a graph as Mermaid from module:attr or file.py:attr."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hone.cli import app

runner = CliRunner()

SOURCE = """
from typing import TypedDict
from hone.graph import END, START, StateGraph


class S(TypedDict):
    n: int


def builder():
    g = StateGraph(S).add_node("step", lambda s: None)
    return g.add_edge(START, "step").add_edge("step", END)


def build_graph():
    return builder().compile(name="demo")


compiled = build_graph()
uncompiled = builder()
number = 3


def needs_args(x):
    return x
"""


@pytest.fixture
def graph_file(tmp_path: Path) -> Path:
    path = tmp_path / "my_graphs.py"
    path.write_text(textwrap.dedent(SOURCE))
    return path


@pytest.mark.parametrize("attr", ["compiled", "uncompiled", "build_graph"])
def test_prints_mermaid_from_a_file(graph_file: Path, attr: str) -> None:
    result = runner.invoke(app, ["graph", f"{graph_file}:{attr}"])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("flowchart TD")
    assert "__start__ --> step" in result.output and "step --> __end__" in result.output


def test_module_path_and_output_file(
    graph_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(graph_file.parent))
    out = tmp_path / "g.mmd"
    result = runner.invoke(app, ["graph", "my_graphs:compiled", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("flowchart TD") and "wrote" in result.output


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no_colon", "is not 'module:attribute'"),
        ("{file}:missing", "has no attribute"),
        ("{file}:number", "not a graph"),
        ("{file}:needs_args", "needs arguments"),
        ("hone_no_such_module_xyz:g", "cannot import"),
        ("nowhere/x.py:g", "no Python file"),
    ],
)
def test_errors_are_one_line(graph_file: Path, target: str, message: str) -> None:
    result = runner.invoke(app, ["graph", target.format(file=graph_file)])
    assert result.exit_code == 1
    assert message in result.output
