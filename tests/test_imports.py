"""The one object-path resolver: ``package.module:attr`` and ``path/to/file.py:attr``."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from hone._imports import (
    ObjectPath,
    import_object,
    load_module,
    module_exists,
    parse_object_path,
)
from hone.errors import ConfigError, ToolDefinitionError


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("pkg.mod:attr", ObjectPath("pkg.mod", "attr", is_file=False)),
        ("mod:Class.factory", ObjectPath("mod", "Class.factory", is_file=False)),
        ("mod", ObjectPath("mod", None, is_file=False)),
        ("tools.py", ObjectPath("tools.py", None, is_file=True)),
        ("dir/tools.py:add", ObjectPath("dir/tools.py", "add", is_file=True)),
        ("C:\\x\\tools.py:add", ObjectPath("C:\\x\\tools.py", "add", is_file=True)),
        ("C:\\x\\tools.py", ObjectPath("C:\\x\\tools.py", None, is_file=True)),
        ("openai:gpt-4.1", None),
        ("a:b-c", None),
        ("bad-name:x", None),
        (":x", None),
    ],
)
def test_parse_object_path(value: str, expected: ObjectPath | None) -> None:
    assert parse_object_path(value) == expected


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    (tmp_path / "helper_mod_x1.py").write_text("VALUE = 41\n")
    (tmp_path / "main_file_x1.py").write_text(
        "import helper_mod_x1\n\nclass C:\n    answer = helper_mod_x1.VALUE + 1\n"
    )
    return tmp_path


def test_a_file_is_loaded_once_and_imports_its_neighbours(folder: Path) -> None:
    assert import_object(f"{folder}/main_file_x1.py:C.answer") == 42
    first = load_module(folder / "main_file_x1.py")
    assert load_module(str(folder / "main_file_x1.py")) is first
    assert str(folder) not in sys.path


def test_relative_names_and_files_use_base_dir(folder: Path) -> None:
    assert import_object("main_file_x1.py:C.answer", base_dir=folder) == 42
    assert import_object("helper_mod_x1:VALUE", base_dir=folder) == 41
    assert module_exists("helper_mod_x1", base_dir=folder)
    assert not module_exists("helper_mod_x1_absent", base_dir=folder)


def test_errors_say_what_is_wrong(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="does not name an object"):
        import_object("just_a_module")
    with pytest.raises(ConfigError, match="no module named 'absent_mod_x1' in"):
        import_object("absent_mod_x1:x", base_dir=tmp_path)
    with pytest.raises(ConfigError, match="no Python file at"):
        import_object("nowhere/x.py:y", base_dir=tmp_path)
    (tmp_path / "needs_dep_x1.py").write_text("import absent_dep_x1\n")
    with pytest.raises(ConfigError, match="importing module 'needs_dep_x1' failed"):
        import_object("needs_dep_x1:x", base_dir=tmp_path)
    (tmp_path / "raises_x1.py").write_text("1 / 0\n")
    with pytest.raises(ConfigError, match="ZeroDivisionError"):
        import_object(f"{tmp_path}/raises_x1.py:x")
    with pytest.raises(ConfigError, match="has no attribute 'VALUEE'; did you mean 'VALUE'"):
        (tmp_path / "has_value_x1.py").write_text("VALUE = 1\n")
        import_object("has_value_x1:VALUEE", base_dir=tmp_path)


def test_hone_errors_inside_the_module_pass_through(tmp_path: Path) -> None:
    (tmp_path / "bad_tool_x1.py").write_text(
        "from hone.tools import tool\n\n@tool\ndef f(x):\n    '''Doc.'''\n"
    )
    with pytest.raises(ToolDefinitionError):
        import_object(f"{tmp_path}/bad_tool_x1.py:f")
