"""The one resolver of object paths: ``package.module:attr`` and ``path/to/file.py:attr``.

Everything that names Python code with a string goes through here: ``--model``, ``--tools``
and ``hone graph`` on the command line, :func:`hone.models.load_model`,
:meth:`hone.tools.ToolRegistry.from_module` and the training config. So every place accepts
the same two forms:

* ``package.module:attr`` — a module name, looked up first in ``base_dir`` (the current
  directory by default, as ``python -m`` does) and then on the Python path;
* ``path/to/file.py:attr`` — a Python file, loaded once per path with its folder on the path
  while it runs, so it can import the modules beside it.

``attr`` may be dotted (``module:Class.factory``). Failures raise
:class:`~hone.errors.ConfigError` with a message that names the path and what was wrong;
callers re-raise it as their own, more precise error type.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import importlib
import importlib.util
import os
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from hone.errors import ConfigError, HoneError

__all__ = [
    "FORMS",
    "ObjectPath",
    "get_attribute",
    "import_object",
    "load_module",
    "module_exists",
    "parse_object_path",
]

_IDENT = r"[A-Za-z_]\w*"
_DOTTED = re.compile(rf"^{_IDENT}(?:\.{_IDENT})*$")
_FILE_PREFIX = "_hone_file_"
#: How the accepted forms are spelled in error messages.
FORMS = "'package.module:name' or 'path/to/file.py:name'"


@dataclass(frozen=True, slots=True)
class ObjectPath:
    """A parsed object path."""

    #: A dotted module name, or the path of a ``.py`` file when :attr:`is_file`.
    module: str
    #: The dotted attribute after ``:``; None when only a module is named.
    attr: str | None
    is_file: bool


def _is_file_target(module: str) -> bool:
    return module.endswith(".py") or "/" in module or "\\" in module


def parse_object_path(value: str) -> ObjectPath | None:
    """``value`` split into module (or file) and attribute; None when it has neither form.

    A value without ``:`` names a whole module (or file). The last ``:`` separates the
    attribute, so Windows paths (``C:\\x\\tools.py:add``, ``C:\\x\\tools.py``) work.
    """
    text = value.strip()
    module, sep, attr = text.rpartition(":")
    if not sep or not _DOTTED.match(attr):
        if sep and not _is_file_target(text):
            return None
        module, attr = text, ""
    if not module:
        return None
    if _is_file_target(module):
        return ObjectPath(module, attr or None, is_file=True)
    if not _DOTTED.match(module):
        return None
    return ObjectPath(module, attr or None, is_file=False)


@contextlib.contextmanager
def _searching(directory: Path) -> Iterator[None]:
    """Put ``directory`` first on ``sys.path`` while importing."""
    entry = str(directory)
    added = entry not in sys.path
    if added:
        sys.path.insert(0, entry)
    try:
        yield
    finally:
        if added and entry in sys.path:
            sys.path.remove(entry)


def _base(base_dir: str | os.PathLike[str] | None) -> Path:
    return Path(base_dir).expanduser().resolve() if base_dir is not None else Path.cwd()


def module_exists(name: str, *, base_dir: str | os.PathLike[str] | None = None) -> bool:
    """Whether the top-level package of module ``name`` can be found (in ``base_dir`` or on
    the Python path), without importing it."""
    top = name.split(".")[0]
    if top in sys.modules:
        return True
    with _searching(_base(base_dir)):
        try:
            return importlib.util.find_spec(top) is not None
        except (ImportError, ValueError):
            return False


def load_module(
    target: str | os.PathLike[str], *, base_dir: str | os.PathLike[str] | None = None
) -> ModuleType:
    """The module a dotted name or a ``.py`` file path names (a relative file path is read
    from ``base_dir``, the current directory by default).

    Raises:
        ConfigError: no such module or file, or importing it failed.
    """
    base = _base(base_dir)
    text = os.fspath(target)
    if isinstance(target, os.PathLike) or _is_file_target(text):
        path = Path(text).expanduser()
        return _load_file(path if path.is_absolute() else base / path)
    if not _DOTTED.match(text):
        raise ConfigError(f"{text!r} is neither a module name nor a .py file; write {FORMS}")
    with _searching(base):
        try:
            return importlib.import_module(text)
        except HoneError:
            raise  # a mistake inside the module (a bad tool definition) says best what is wrong
        except ModuleNotFoundError as exc:
            if exc.name is not None and (text == exc.name or text.startswith(f"{exc.name}.")):
                raise ConfigError(
                    f"no module named {exc.name!r} in {base} or on the Python path; check the "
                    f"spelling, or name a file as {FORMS}"
                ) from None
            raise ConfigError(f"importing module {text!r} failed: {exc}") from exc
        except Exception as exc:  # the module's own code raised
            raise ConfigError(
                f"importing module {text!r} failed: {type(exc).__name__}: {exc}"
            ) from exc


def _load_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise ConfigError(f"no Python file at {path}")
    resolved = path.resolve()
    digest = hashlib.sha1(str(resolved).encode()).hexdigest()[:8]
    stem = re.sub(r"\W", "_", resolved.stem)
    name = f"{_FILE_PREFIX}{stem}_{digest}"
    loaded = sys.modules.get(name)
    if loaded is not None:
        return loaded
    spec = importlib.util.spec_from_file_location(name, resolved)
    if spec is None or spec.loader is None:
        raise ConfigError(f"cannot load {path} as a Python module")
    module = importlib.util.module_from_spec(spec)
    # Registered before running, so dataclasses, pydantic and typing can find it by name.
    sys.modules[name] = module
    try:
        with _searching(resolved.parent):
            spec.loader.exec_module(module)
    except HoneError:
        del sys.modules[name]
        raise
    except Exception as exc:  # the file's own code raised
        del sys.modules[name]
        raise ConfigError(f"importing {path} failed: {type(exc).__name__}: {exc}") from exc
    return module


def import_object(path: str, *, base_dir: str | os.PathLike[str] | None = None) -> Any:
    """The object ``package.module:attr`` or ``path/to/file.py:attr`` names.

    Raises:
        ConfigError: the path is malformed, the module or file cannot be imported, or it has
            no such attribute (callers put what they were loading in front of the message).
    """
    parsed = parse_object_path(path)
    if parsed is None or parsed.attr is None:
        raise ConfigError(f"{path!r} does not name an object; write {FORMS}")
    return get_attribute(load_module(parsed.module, base_dir=base_dir), parsed.attr)


def get_attribute(module: ModuleType, attr: str) -> Any:
    """``module``'s attribute ``attr`` (dotted: ``Class.factory``).

    Raises:
        ConfigError: there is no such attribute (the message suggests a close name).
    """
    obj: Any = module
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(_missing(_display(module), obj, part))
        obj = getattr(obj, part)
    return obj


def _display(module: ModuleType) -> str:
    """A module's name, or its file for one loaded from a path."""
    if module.__name__.startswith(_FILE_PREFIX) and module.__file__:
        return module.__file__
    return module.__name__


def _missing(module: str, owner: Any, part: str) -> str:
    what = f"{module!r}" if isinstance(owner, ModuleType) else repr(type(owner).__name__)
    names = [n for n in dir(owner) if not n.startswith("_")]
    close = difflib.get_close_matches(part, names, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{what} has no attribute {part!r}{hint}"
