"""Turning command-line strings into models and tools.

A ``--model`` value is either a model spec for :func:`hone.models.load_model` (``tiny:``,
``openai:gpt-4.1``, ...), or an object path ``package.module:name`` naming a model backend in
importable Python code, or a function that takes no arguments and returns one. Model specs
win: an object path is tried only when the value is not a valid spec. This lets tests and
examples run the CLI against a :class:`~hone.models.ScriptedModel`.

A ``--tools`` value is anything :meth:`hone.tools.ToolRegistry.from_module` reads: a dotted
module name, a ``.py`` file, or ``module:attribute``.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from hone.errors import ModelSpecError
from hone.models._protocol import ModelBackend

if TYPE_CHECKING:
    from hone.tools import ToolRegistry

__all__ = ["load_backend", "load_tools"]

_IDENT = r"[A-Za-z_]\w*"
_OBJECT_PATH = re.compile(
    rf"^(?P<module>{_IDENT}(?:\.{_IDENT})*):(?P<attr>{_IDENT}(?:\.{_IDENT})*)$"
)


def _resolve_object(spec: str) -> Any | None:
    """The object ``module:attr`` names, or None when ``spec`` does not name one."""
    match = _OBJECT_PATH.match(spec)
    if match is None or importlib.util.find_spec(match["module"].split(".")[0]) is None:
        return None
    try:
        obj: Any = importlib.import_module(match["module"])
    except ImportError:
        return None
    for part in match["attr"].split("."):
        if not hasattr(obj, part):
            return None
        obj = getattr(obj, part)
    return obj


def load_backend(spec: str) -> ModelBackend:
    """The model backend a ``--model`` value names.

    Raises:
        ModelSpecError: neither a model spec nor an object path naming a model backend.
        ModelLoadError: a local checkpoint cannot be loaded.
    """
    from hone.models._spec import load_model, parse_spec

    try:
        parse_spec(spec)
    except ModelSpecError as exc:
        obj = _resolve_object(spec)
        if obj is None:
            raise ModelSpecError(
                f"{exc}; or name a model backend in Python code as 'package.module:name'"
            ) from None
        return _as_backend(spec, obj)
    return load_model(spec)


def _as_backend(spec: str, obj: Any) -> ModelBackend:
    if inspect.isfunction(obj):
        obj = obj()
    if not isinstance(obj, ModelBackend):
        raise ModelSpecError(
            f"{spec!r} names a {type(obj).__name__}, not a model backend "
            "(an object with name, complete, complete_batch and stream)"
        )
    return obj


def load_tools(targets: Sequence[str]) -> ToolRegistry:
    """One registry with the tools of every module, ``.py`` file or ``module:attribute``.

    Raises:
        ConfigError: a target cannot be imported or defines no tools.
        DuplicateToolError: two tools share a name.
    """
    from hone.tools import ToolRegistry

    registry = ToolRegistry()
    for target in targets:
        registry.extend(ToolRegistry.from_module(target))
    return registry
