"""``hone graph``: print a graph as Mermaid from module:attr or file.py:attr, each edge once,
with a hint where to view it on stderr."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hone.cli import app

runner = CliRunner()

SOURCE = """
from typing import Literal, TypedDict
from hone.graph import END, START, Command, StateGraph


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


def supervisor(state: S) -> Command[Literal["researcher", "coder", "__end__"]]:
    return Command(goto=END)


def researcher(state: S) -> Command[Literal["supervisor"]]:
    return Command(goto="supervisor")


def team():
    g = StateGraph(S)
    g.add_node("supervisor", supervisor).add_node("researcher", researcher)
    g.add_node("coder", lambda s: None)
    g.add_edge(START, "supervisor")
    # Workers report back with a plain edge, and researcher's Command says so too.
    g.add_edge("researcher", "supervisor").add_edge("coder", "supervisor")
    return g.compile()
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


def test_module_in_the_current_folder_and_output_file(
    graph_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(graph_file.parent)  # not on sys.path: found because it is the cwd
    out = tmp_path / "g.mmd"
    result = runner.invoke(app, ["graph", "my_graphs:compiled", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().startswith("flowchart TD") and "wrote" in result.stdout


def test_relative_file_path(graph_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(graph_file.parent)
    result = runner.invoke(app, ["graph", "my_graphs.py:compiled"])
    assert result.exit_code == 0, result.output
    assert "__start__ --> step" in result.stdout


def test_each_edge_is_drawn_once_under_hones_header(graph_file: Path) -> None:
    result = runner.invoke(app, ["graph", f"{graph_file}:team"])
    assert result.exit_code == 0, result.output
    text = result.stdout
    edges = [line.strip() for line in text.splitlines() if "->" in line]
    pairs = [(line.split()[0], line.split()[-1]) for line in edges]
    assert len(pairs) == len(set(pairs)), edges
    assert "researcher --> supervisor" in edges and "coder --> supervisor" in edges
    assert {"supervisor -.-> researcher", "supervisor -.-> coder"} <= set(edges)
    assert "LangGraph" not in text
    assert text.splitlines()[1].strip() == "%% graph drawn by hone"


def test_named_graph_header(graph_file: Path) -> None:
    result = runner.invoke(app, ["graph", f"{graph_file}:compiled"])
    assert "%% graph 'demo' drawn by hone" in result.stdout


def test_viewing_hint_goes_to_stderr(graph_file: Path) -> None:
    result = runner.invoke(app, ["graph", f"{graph_file}:compiled"])
    assert "mermaid.live" in result.stderr and "GitHub Markdown" in result.stderr
    assert "mermaid.live" not in result.stdout  # the output stays pure Mermaid


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("no_colon", "does not name a graph"),
        ("{file}:missing", "has no attribute"),
        ("{file}:number", "not a graph"),
        ("{file}:needs_args", "needs arguments"),
        ("hone_no_such_module_xyz:g", "no module named 'hone_no_such_module_xyz'"),
        ("nowhere/x.py:g", "no Python file"),
    ],
)
def test_errors_are_one_line(graph_file: Path, target: str, message: str) -> None:
    result = runner.invoke(app, ["graph", target.format(file=graph_file)])
    assert result.exit_code == 1
    assert message in result.output
