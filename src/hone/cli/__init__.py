"""The ``hone`` command line.

The root app lives in :mod:`hone.cli._app`; each command lives in its own module and registers
itself on import with ``@app.command()`` (or, for a group of subcommands, a
:class:`~hone.cli._app.HoneTyper` added with ``app.add_typer(...)``). To add a command, write
``hone/cli/_<name>.py`` and add one import line below. Commands import heavy dependencies
(torch, FastAPI) inside their function bodies, so ``hone --version`` stays fast.
"""

from hone.cli import _demo, _gateway, _graph, _mcp, _run, _serve, _server, _train, _traj, _view  # noqa: F401  (importing registers the commands)
from hone.cli._app import app

__all__ = ["app"]
