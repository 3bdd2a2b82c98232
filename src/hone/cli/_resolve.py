"""Turning command-line strings into models and tools, through the library's one resolver.

A ``--model`` value (and ``hone serve``'s MODEL) is anything :func:`hone.models.load_model`
reads: a model spec (``tiny:``, ``openai:gpt-4.1``, ...) or an object path,
``package.module:name`` or ``path/to/file.py:name``, naming a model backend or a function
returning one. A ``--tools`` value is anything :meth:`hone.tools.ToolRegistry.from_module`
reads: a module or ``.py`` file (all its tools), or ``module:name`` / ``file.py:name``.
``hone graph`` reads the same two object-path forms. Module names are looked up in the
current directory first, as ``python -m`` does.

The built-in tiny model is untrained, so choosing it says so on stderr; its first build
(a few seconds) shows its stages as it goes.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.status import Status
from rich.text import Text

from hone.cli._app import err_console
from hone.models._protocol import ModelBackend

if TYPE_CHECKING:
    from hone.tools import ToolRegistry

__all__ = ["load_cli_model", "load_tools", "prepare_model", "stage_reporter"]


def load_cli_model(spec: str, **kwargs: Any) -> ModelBackend:
    """The model a ``--model`` value names (``kwargs`` go to :func:`hone.models.load_model`).

    Raises:
        ModelSpecError: the value names no model.
        ModelLoadError: a local checkpoint is missing files or cannot be loaded.
    """
    from hone.models import load_model

    prepare_model(spec)
    return load_model(spec, base_dir=Path.cwd(), **kwargs)


def prepare_model(spec: str) -> None:
    """For the built-in tiny model: say on stderr that it is untrained, and build it on
    first use, showing the build's stages. Nothing for any other model."""
    from hone.models._spec import is_builtin_tiny

    if not is_builtin_tiny(spec):
        return
    from hone.models.tiny import UNTRAINED_NOTE, ensure_tiny_model

    err_console.print(Text(f"note: {UNTRAINED_NOTE}", style="yellow"), soft_wrap=True)
    with stage_reporter("built the tiny model") as report:
        ensure_tiny_model(progress=report)


@contextlib.contextmanager
def stage_reporter(done: str) -> Iterator[Callable[[str], None]]:
    """A function that shows one stage of a long step per call, on stderr: a spinner with
    the stages printed above it on a terminal, plain lines otherwise (CI logs, files). When
    any stage was shown, ``done`` and the time taken end it."""
    started = time.perf_counter()
    status: Status | None = None
    shown = False

    def report(line: str) -> None:
        nonlocal status, shown
        shown = True
        err_console.print(Text(line, style="dim"), soft_wrap=True)
        if err_console.is_terminal:
            if status is None:
                status = err_console.status(line)
                status.start()
            else:
                status.update(line)

    try:
        yield report
    finally:
        if status is not None:
            status.stop()
    if shown:
        err_console.print(Text(f"{done} in {time.perf_counter() - started:.1f}s", style="dim"))


def load_tools(targets: Sequence[str]) -> ToolRegistry:
    """One registry with the tools of every module, ``.py`` file or ``module:name``.

    Raises:
        ConfigError: a target cannot be imported or defines no tools.
        DuplicateToolError: two tools share a name.
    """
    from hone.tools import ToolRegistry

    registry = ToolRegistry()
    for target in targets:
        registry.extend(ToolRegistry.from_module(target, base_dir=Path.cwd()))
    return registry
