"""``hone graph``: print a graph as Mermaid text."""

from __future__ import annotations

import inspect
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from hone._imports import FORMS, import_object, parse_object_path
from hone.cli._app import app, console, err_console
from hone.errors import ConfigError

if TYPE_CHECKING:
    from hone.graph import CompiledGraph, GraphStructure

__all__ = ["graph", "load_graph"]

VIEW_HINT = "view it at https://mermaid.live, or in GitHub Markdown inside a ```mermaid block"


def load_graph(target: str) -> CompiledGraph | GraphStructure:
    """The graph ``module:attr`` (or ``path/to/file.py:attr``) names, compiled if needed.

    The attribute may be a compiled graph, a ``StateGraph`` (compiled here), a graph
    structure, or a function without arguments returning one of them.

    Raises:
        ConfigError: the target is malformed, cannot be imported, or names something else.
    """
    from hone.graph import CompiledGraph, GraphStructure, StateGraph

    parsed = parse_object_path(target)
    if parsed is None or parsed.attr is None:
        raise ConfigError(
            f"{target!r} does not name a graph; write {FORMS}, e.g. 'my_app.agent:graph' or "
            "'path/to/file.py:build_graph'"
        )
    try:
        obj: Any = import_object(target, base_dir=Path.cwd())
    except ConfigError as exc:
        raise ConfigError(f"cannot load the graph {target!r}: {exc}") from exc
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
    else:
        output.write_text(text, encoding="utf-8")
        console.print(f"wrote {output}", markup=False, highlight=False)
    # On stderr, so that `hone graph x:g > g.mmd` keeps the file pure Mermaid.
    err_console.print(Text(f"Mermaid flowchart: {VIEW_HINT}", style="dim"), soft_wrap=True)
