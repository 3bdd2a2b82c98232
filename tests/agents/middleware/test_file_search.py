"""``FilesystemFileSearchMiddleware``: glob and grep over a root folder, in Python and with
ripgrep, never reaching outside the root; driven through ``create_agent`` too."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from hone.agents import create_agent
from hone.agents.middleware import FilesystemFileSearchMiddleware
from hone.agents.middleware._file_search import (
    _expand_include_patterns,
    _is_valid_include_pattern,
    _match_include_pattern,
)
from hone.messages import AssistantMessage, ToolCall, ToolMessage
from hone.models import ScriptedModel


@pytest.fixture
def root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "src" / "pkg").mkdir(parents=True)
    (root / "src" / "a.py").write_text("def hello():\n    return 'hello'\n", encoding="utf-8")
    (root / "src" / "pkg" / "b.pyi").write_text("HELLO: int\n", encoding="utf-8")
    (root / "notes.txt").write_text("hello world\nbye\n", encoding="utf-8")
    (tmp_path / "secret.txt").write_text("hello secret\n", encoding="utf-8")
    os.utime(root / "notes.txt", (1_000_000, 1_000_000))
    return root


def _search(root: Path, **options: Any) -> FilesystemFileSearchMiddleware:
    return FilesystemFileSearchMiddleware(root_path=str(root), **options)


def test_glob_lists_virtual_paths_newest_first(root: Path) -> None:
    glob = _search(root).glob_search
    assert glob.invoke({"pattern": "**/*.*"}).splitlines()[-1] == "/notes.txt"
    assert glob.invoke({"pattern": "*.py", "path": "/src"}) == "/src/a.py"
    assert glob.invoke({"pattern": "*.md"}) == "No files found"


@pytest.mark.parametrize(
    ("pattern", "path"),
    [("../secret.txt", "/"), ("*.txt", "/../"), ("*.txt", "~/"), ("/etc/passwd", "/")],
)
def test_glob_never_leaves_the_root(root: Path, pattern: str, path: str) -> None:
    assert _search(root).glob_search.invoke({"pattern": pattern, "path": path}) == "No files found"


def test_symlinks_out_of_the_root_are_ignored(root: Path) -> None:
    (root / "link.txt").symlink_to(root.parent / "secret.txt")
    (root / "up").symlink_to(root.parent)
    search = _search(root, use_ripgrep=False)
    assert "/link.txt" not in search.glob_search.invoke({"pattern": "*.txt"})
    assert search.glob_search.invoke({"pattern": "*.txt", "path": "/up"}) == "No files found"
    assert search.grep_search.invoke({"pattern": "secret"}) == "No matches found"


def test_grep_output_modes_and_include(root: Path) -> None:
    grep = _search(root, use_ripgrep=False).grep_search
    assert grep.invoke({"pattern": "hello"}) == "/notes.txt\n/src/a.py"
    assert grep.invoke({"pattern": "hello", "output_mode": "content", "include": "*.py"}) == (
        "/src/a.py:1:def hello():\n/src/a.py:2:    return 'hello'"
    )
    assert grep.invoke({"pattern": "(?i)hello", "output_mode": "count"}) == (
        "/notes.txt:1\n/src/a.py:2\n/src/pkg/b.pyi:1"
    )
    assert grep.invoke({"pattern": "HELLO", "include": "*.{py,pyi}"}) == "/src/pkg/b.pyi"


def test_grep_reports_bad_input(root: Path) -> None:
    grep = _search(root, use_ripgrep=False).grep_search
    assert grep.invoke({"pattern": "[bad"}).startswith("Invalid regex pattern:")
    assert grep.invoke({"pattern": "x", "include": "*.{py"}) == "Invalid include pattern"
    assert grep.invoke({"pattern": "hello", "path": "/../"}) == "No matches found"


def test_grep_skips_large_files(root: Path) -> None:
    (root / "big.txt").write_text("hello\n" * 200_000, encoding="utf-8")
    grep = _search(root, use_ripgrep=False, max_file_size_mb=1).grep_search
    assert "/big.txt" not in grep.invoke({"pattern": "hello"})


def test_ripgrep_output_is_parsed_and_the_pattern_comes_after_dashes(
    root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[str]] = []
    inside, outside = root / "src" / "a.py", root.parent / "secret.txt"
    lines = [
        '{"type":"begin","data":{}}',
        f'{{"type":"match","data":{{"path":{{"text":"{inside}"}},"line_number":1,'
        '"lines":{"text":"def hello():\\n"}}}',
        f'{{"type":"match","data":{{"path":{{"text":"{outside}"}},"line_number":1,'
        '"lines":{"text":"hello secret\\n"}}}',
        "not json",
    ]

    def fake_run(command: list[str], **kwargs: Any) -> Any:
        seen.append(command)
        return subprocess.CompletedProcess(command, 0, stdout="\n".join(lines), stderr="")

    monkeypatch.setattr(subprocess, "run", fake_run)
    grep = _search(root).grep_search
    assert grep.invoke({"pattern": "-e", "output_mode": "content"}) == "/src/a.py:1:def hello():"
    assert seen[0][:2] == ["rg", "--json"]
    assert seen[0][seen[0].index("--") + 1] == "-e"


def test_missing_ripgrep_falls_back_to_python(root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def missing(*args: Any, **kwargs: Any) -> Any:
        raise FileNotFoundError("rg")

    monkeypatch.setattr(subprocess, "run", missing)
    assert _search(root).grep_search.invoke({"pattern": "bye"}) == "/notes.txt"


def test_include_pattern_helpers() -> None:
    assert _expand_include_patterns("t.{a,b}.{c,d}") == ["t.a.c", "t.a.d", "t.b.c", "t.b.d"]
    for bad in ("*.py}", "*.{}", "*.{py"):
        assert _expand_include_patterns(bad) is None
    for bad in ("", "*.py\x00", "*.py\n"):
        assert not _is_valid_include_pattern(bad)
    assert _match_include_pattern("x.txt", "*.{py,txt}")
    assert not _match_include_pattern("x.md", "*.{py,txt}")


def test_agent_uses_both_tools(root: Path) -> None:
    turn = AssistantMessage(
        tool_calls=(
            ToolCall(id="g", name="glob_search", arguments={"pattern": "**/*.pyi"}),
            ToolCall(id="r", name="grep_search", arguments={"pattern": "bye"}),
        )
    )
    model = ScriptedModel([turn, "done"])
    middleware = _search(root, use_ripgrep=False)
    out = create_agent(model, middleware=[middleware]).invoke({"messages": [("user", "find")]})
    answers = [m.text for m in out["messages"] if isinstance(m, ToolMessage)]
    assert answers == ["/src/pkg/b.pyi", "/notes.txt"]
    names = [t["function"]["name"] for t in model.requests[0].tools]
    assert names == ["glob_search", "grep_search"]
