"""The root ``hone`` Typer app, its consoles, and the error handling every command shares.

Commands register themselves on :data:`app` with ``@app.command()``; a group of subcommands is
a :class:`HoneTyper` added with ``app.add_typer(group, name=...)``. Every command registered
through a :class:`HoneTyper` turns a :class:`~hone.errors.HoneError` into one red line on
stderr and exit status 1, with no traceback.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import typer
from rich.console import Console
from rich.text import Text

from hone._version import __version__
from hone.errors import HoneError

__all__ = ["HoneTyper", "app", "console", "err_console", "fail"]

F = TypeVar("F", bound=Callable[..., Any])

#: Where commands print their output.
console = Console()
#: Where errors and diagnostics go.
err_console = Console(stderr=True)


def fail(message: str) -> typer.Exit:
    """Print ``message`` as one red error line; return the exit to raise (status 1)."""
    err_console.print(Text(f"error: {message}", style="bold red"), soft_wrap=True)
    return typer.Exit(code=1)


def _friendly_errors(func: F) -> F:
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except HoneError as exc:
            raise fail(str(exc)) from None
        except KeyboardInterrupt:
            err_console.print("interrupted")
            raise typer.Exit(code=130) from None

    return wrapper  # type: ignore[return-value]


class HoneTyper(typer.Typer):
    """A :class:`typer.Typer` whose commands report :class:`~hone.errors.HoneError` as one line."""

    def command(self, *args: Any, **kwargs: Any) -> Callable[[F], F]:
        """Register a command, as :meth:`typer.Typer.command` does, with hone's error handling."""
        register = super().command(*args, **kwargs)

        def decorator(func: F) -> F:
            register(_friendly_errors(func))
            return func

        return decorator


app = HoneTyper(
    name="hone",
    help="Build LLM agents that get better with practice.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _print_version(value: bool) -> None:
    if value:
        console.print(f"hone {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_print_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    """Build LLM agents that get better with practice."""
