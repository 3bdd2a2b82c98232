"""ToolRegistry: adding, lookup, specs, and collecting tools from modules."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from hone.errors import ConfigError, DuplicateToolError, ToolDefinitionError
from hone.tools import Tool, ToolRegistry, tool


def echo(text: str) -> str:
    """Echo the text."""
    return text


@tool
def shout(text: str) -> str:
    """Shout the text."""
    return text.upper()


def test_functions_are_wrapped_and_order_is_kept() -> None:
    registry = ToolRegistry([shout, echo])
    assert registry.names() == ["shout", "echo"]
    assert isinstance(registry["echo"], Tool)
    assert [t.name for t in registry] == ["shout", "echo"]
    assert len(registry) == 2
    assert "echo" in registry
    assert registry.get("missing") is None
    assert [s["function"]["name"] for s in registry.specs()] == ["shout", "echo"]


def test_duplicate_names_raise_but_the_same_tool_twice_is_fine() -> None:
    registry = ToolRegistry([shout, shout])
    assert registry.names() == ["shout"]
    with pytest.raises(DuplicateToolError, match="two tools are named 'shout'"):
        registry.add(shout.with_(description="Another."))


def test_add_works_as_a_decorator() -> None:
    registry = ToolRegistry()

    @registry.add
    def ping() -> str:
        """Answer pong."""
        return "pong"

    assert isinstance(ping, Tool)
    assert registry["ping"] is ping


def test_unknown_name_lists_what_exists() -> None:
    with pytest.raises(KeyError, match="available: shout"):
        ToolRegistry([shout])["nope"]


def test_select_and_coerce() -> None:
    registry = ToolRegistry([shout, echo])
    assert registry.select(["echo"]).names() == ["echo"]
    assert ToolRegistry.coerce(registry) is registry
    assert ToolRegistry.coerce([echo]).names() == ["echo"]


_MODULE = '''
from hone.tools import ToolRegistry, tool


def helper(x: int) -> int:
    """Not a tool: never decorated."""
    return x


@tool
def first(x: int) -> int:
    """The first tool."""
    return x


@tool
def second(y: str) -> str:
    """The second tool."""
    return y


alias = first
toolset = ToolRegistry([second])
'''


def _write(tmp_path: Path, name: str, source: str) -> Path:
    path = tmp_path / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return path


def test_from_module_by_file_path(tmp_path: Path) -> None:
    path = _write(tmp_path, "mytools", _MODULE)
    assert ToolRegistry.from_module(path).names() == ["first", "second"]
    assert ToolRegistry.from_module(str(path)).names() == ["first", "second"]


def test_from_module_by_dotted_name_and_attribute(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write(tmp_path, "hone_test_tools_mod", _MODULE)
    monkeypatch.syspath_prepend(str(tmp_path))
    assert ToolRegistry.from_module("hone_test_tools_mod").names() == ["first", "second"]
    assert ToolRegistry.from_module("hone_test_tools_mod:toolset").names() == ["second"]
    assert ToolRegistry.from_module("hone_test_tools_mod:first").names() == ["first"]
    with pytest.raises(ConfigError, match="no attribute 'nope'"):
        ToolRegistry.from_module("hone_test_tools_mod:nope")


def test_from_module_looks_in_base_dir_first(tmp_path: Path) -> None:
    _write(tmp_path, "hone_test_tools_here", _MODULE)
    assert ToolRegistry.from_module("hone_test_tools_here", base_dir=tmp_path).names() == [
        "first",
        "second",
    ]
    assert ToolRegistry.from_module("hone_test_tools_here.py:first", base_dir=tmp_path).names() == [
        "first"
    ]


def test_from_module_suggests_a_close_attribute(tmp_path: Path) -> None:
    path = _write(tmp_path, "close_names", _MODULE)
    with pytest.raises(ConfigError, match="did you mean 'toolset'"):
        ToolRegistry.from_module(f"{path}:toolsets")


def test_from_module_respects_dunder_all(tmp_path: Path) -> None:
    path = _write(tmp_path, "only_second", _MODULE + '\n__all__ = ["second"]\n')
    assert ToolRegistry.from_module(path).names() == ["second"]


def test_from_module_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="defines no tools"):
        ToolRegistry.from_module(_write(tmp_path, "empty", "X = 1\n"))
    with pytest.raises(ConfigError, match="no module named 'hone_no_such_module_anywhere'"):
        ToolRegistry.from_module("hone_no_such_module_anywhere")
    with pytest.raises(ConfigError, match="no Python file at"):
        ToolRegistry.from_module(tmp_path / "missing.py")
    with pytest.raises(ConfigError, match=r"importing .*broken.py failed: ZeroDivisionError"):
        ToolRegistry.from_module(_write(tmp_path, "broken", "1 / 0\n"))
    with pytest.raises(ConfigError, match="cannot load tools from 'a:b-c'"):
        ToolRegistry.from_module("a:b-c")
    bad_tool = "from hone.tools import tool\n\n@tool\ndef f(x):\n    '''Doc.'''\n"
    with pytest.raises(ToolDefinitionError, match="parameter 'x'"):
        ToolRegistry.from_module(_write(tmp_path, "bad_tool", bad_tool))
