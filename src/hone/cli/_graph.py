"""``hone graph``: print a graph as Mermaid text."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hone.cli._app import app, console
from hone.errors import ConfigError

if TYPE_CHECKING:
    from hone.graph import CompiledGraph, GraphStructure

__all__ = ["graph", "load_graph"]


def _module(name: str) -> ModuleType:
    if name.endswith(".py") or "/" in name or "\\" in name:
        path = Path(name)
        if not path.is_file():
            raise ConfigError(f"no Python file at {name!r}")
        spec = importlib.util.spec_from_file_location(f"_hone_graph_{path.stem}", path)
        if spec is None or spec.loader is None:
            raise ConfigError(f"cannot load {name!r} as a Python module")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # dataclasses and typing look modules up by name
        spec.loader.exec_module(module)
        return module
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise ConfigError(f"cannot import module {name!r}: {exc}") from exc


def load_graph(target: str) -> CompiledGraph | GraphStructure:
    """The graph ``module:attr`` (or ``path/to/file.py:attr``) names, compiled if needed.

    The attribute may be a compiled graph, a ``StateGraph`` (compiled here), a graph
    structure, or a function without arguments returning one of them.

    Raises:
        ConfigError: the target is malformed, cannot be imported, or names something else.
    """
    from hone.graph import CompiledGraph, GraphStructure, StateGraph

    module_name, sep, attr = target.rpartition(":")
    if not sep or not module_name or not attr:
        raise ConfigError(
            f"{target!r} is not 'module:attribute'; write e.g. 'my_app.agent:graph' or "
            "'path/to/file.py:build_graph'"
        )
    obj: Any = _module(module_name)
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise ConfigError(f"{module_name!r} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if callable(obj) and not isinstance(obj, CompiledGraph | StateGraph | type):
        if any(
            p.default is p.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
            for p in inspect.signature(obj).parameters.values()
        ):
            raise ConfigError(f"{target!r} is a function that needs arguments; name a graph")
        obj = obj()
    if isinstance(obj, StateGraph):
        obj = obj.compile()
    if not isinstance(obj, CompiledGraph | GraphStructure):
        raise ConfigError(
            f"{target!r} names a {type(obj).__name__}, not a graph (a compiled graph, a "
            "StateGraph, or a function returning one)"
        )
    return obj


@app.command("graph")
def graph(
    target: Annotated[
        str,
        typer.Argument(
            help="The graph: 'package.module:attr' or 'file.py:attr' naming a compiled graph, "
            "a StateGraph, or a function without arguments that returns one."
        ),
    ],
    output: Annotated[
        Path | None,
        typer.Option("--output", "-o", help="Write the Mermaid text to this file (.mmd)."),
    ] = None,
    expand: Annotated[
        bool,
        typer.Option("--expand/--no-expand", help="Draw subgraphs' insides as nested blocks."),
    ] = True,
) -> None:
    """Print TARGET's graph as a Mermaid flowchart."""
    from hone.graph import draw_mermaid

    text = draw_mermaid(load_graph(target), expand_subgraphs=expand)
    if output is None:
        console.print(text, markup=False, highlight=False, soft_wrap=True, end="")
        return
    output.write_text(text, encoding="utf-8")
    console.print(f"wrote {output}", markup=False, highlight=False)
