"""A named set of tools: what an agent may call."""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterable, Iterator
from types import ModuleType
from typing import Any

from hone._imports import FORMS, ObjectPath, get_attribute, load_module, parse_object_path
from hone.errors import ConfigError, DuplicateToolError, ToolDefinitionError
from hone.tools._convert import as_tool, is_langchain_tool, langchain_source
from hone.tools._tool import Tool

__all__ = ["ToolLike", "ToolRegistry"]

logger = logging.getLogger(__name__)

#: A tool, a LangChain tool, or a typed and documented function that ``@tool`` can wrap.
ToolLike = Tool | Callable[..., Any]


class ToolRegistry:
    """Tools by name, in the order they were added (a toolset).

    Plain functions are wrapped with ``@tool`` and LangChain tools (``BaseTool``,
    ``@langchain_core.tools.tool``) are adapted on the way in. Two tools with one name raise
    :class:`~hone.errors.DuplicateToolError`; adding the very same tool twice is a no-op.
    """

    def __init__(self, tools: Iterable[ToolLike] = ()) -> None:
        self._tools: dict[str, Tool] = {}
        for item in tools:
            self.add(item)

    def add(self, item: ToolLike) -> Tool:
        """Add a tool (or a function, wrapped with ``@tool``); returns the tool.

        Usable as a decorator: ``@registry.add`` on a function registers and returns its tool.

        Raises:
            DuplicateToolError: another tool already has this name.
            ToolDefinitionError: a function that cannot become a tool.
        """
        existing = self._tools.get(getattr(item, "name", ""))
        if existing is not None and is_langchain_tool(item) and langchain_source(existing) is item:
            return existing
        new = as_tool(item)
        existing = self._tools.get(new.name)
        if existing is not None and existing is not new:
            raise DuplicateToolError(
                f"two tools are named {new.name!r}; rename one with @tool(name=...) or "
                "tool.with_(name=...)"
            )
        self._tools[new.name] = new
        return new

    def extend(self, tools: Iterable[ToolLike]) -> None:
        """Add several tools.

        Raises:
            DuplicateToolError: a name is taken.
        """
        for item in tools:
            self.add(item)

    def get(self, name: str) -> Tool | None:
        """The tool named ``name``, or None."""
        return self._tools.get(name)

    def __getitem__(self, name: str) -> Tool:
        try:
            return self._tools[name]
        except KeyError:
            raise KeyError(f"no tool named {name!r}; available: {', '.join(self._tools)}") from None

    def __contains__(self, name: object) -> bool:
        return name in self._tools

    def __iter__(self) -> Iterator[Tool]:
        return iter(list(self._tools.values()))

    def __len__(self) -> int:
        return len(self._tools)

    def __repr__(self) -> str:
        return f"ToolRegistry([{', '.join(self._tools)}])"

    def names(self) -> list[str]:
        """Tool names, in the order they were added."""
        return list(self._tools)

    def specs(self) -> list[dict[str, Any]]:
        """Every tool's OpenAI function spec, for a :class:`~hone.models.ChatRequest`."""
        return [t.spec() for t in self._tools.values()]

    def select(self, names: Iterable[str]) -> ToolRegistry:
        """A new registry with only the named tools.

        Raises:
            KeyError: a name that is not registered.
        """
        return ToolRegistry(self[name] for name in names)

    @classmethod
    def coerce(cls, tools: ToolRegistry | Iterable[ToolLike]) -> ToolRegistry:
        """``tools`` itself when it is a registry, else a registry built from it."""
        return tools if isinstance(tools, ToolRegistry) else cls(tools)

    @classmethod
    def from_module(
        cls,
        module: ModuleType | str | os.PathLike[str],
        *,
        base_dir: str | os.PathLike[str] | None = None,
    ) -> ToolRegistry:
        """Collect the tools a Python module defines (``hone run --tools mymodule``).

        ``module`` is a module object, a dotted import name (``"myapp.tools"``), or the path
        of a ``.py`` file. Every :class:`Tool` the module holds at top level is collected (only
        the names in ``__all__`` when it defines one), in definition order. Add ``:name``
        (``"myapp.tools:toolset"``, ``"tools.py:toolset"``) to take one attribute instead: a
        registry, a tool, or a list of tools and functions. Names and relative paths are
        looked up in ``base_dir`` (default: the current directory) first, as ``--model`` and
        ``hone graph`` do.

        Raises:
            ConfigError: the module cannot be imported or defines no tools.
            DuplicateToolError: two of its tools share a name.
        """
        if isinstance(module, ModuleType):
            return _from_loaded(cls, module, module.__name__)
        target = os.fspath(module)
        parsed = ObjectPath(target, None, True) if isinstance(module, os.PathLike) else None
        parsed = parsed or parse_object_path(target)
        if parsed is None:
            raise ConfigError(
                f"cannot load tools from {target!r}: name a module, a .py file, or {FORMS}"
            )
        try:
            loaded = load_module(parsed.module, base_dir=base_dir)
            if parsed.attr is None:
                return _from_loaded(cls, loaded, target)
            return _from_attribute(loaded, parsed.attr)
        except (DuplicateToolError, ToolDefinitionError):
            raise
        except ConfigError as exc:
            raise ConfigError(f"cannot load tools from {target!r}: {exc}") from exc


def _from_loaded(cls: type[ToolRegistry], loaded: ModuleType, label: str) -> ToolRegistry:
    names = getattr(loaded, "__all__", None) or list(vars(loaded))
    found: list[Tool] = []
    for name in names:
        value = getattr(loaded, name, None)
        if isinstance(value, Tool) and all(value is not t for t in found):
            found.append(value)
    if not found:
        raise ConfigError(
            f"{label!r} defines no tools; decorate its functions with "
            "@hone.tools.tool, or name a registry or list as 'module:attribute'"
        )
    logger.debug("collected %d tools from %s", len(found), label)
    return cls(found)


def _from_attribute(module: ModuleType, attribute: str) -> ToolRegistry:
    value = get_attribute(module, attribute)
    if isinstance(value, ToolRegistry):
        return value
    if isinstance(value, Tool) or is_langchain_tool(value) or callable(value):
        return ToolRegistry([value])
    if isinstance(value, Iterable):
        return ToolRegistry(value)
    raise ConfigError(
        f"{attribute!r} is a {type(value).__name__}; expected a ToolRegistry, a tool, or a "
        "list of tools"
    )
