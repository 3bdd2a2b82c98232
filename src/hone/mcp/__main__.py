"""``python -m hone.mcp serve module:tools``: the same command as ``hone mcp serve``, for an
environment whose ``hone`` script is not on ``PATH`` (an MCP client starting hone's tools
as a stdio server can always use the interpreter: ``sys.executable -m hone.mcp``)."""

from __future__ import annotations

import sys

from hone.cli import app


def main() -> None:
    """Run ``hone mcp`` with this process's arguments."""
    app(["mcp", *sys.argv[1:]], prog_name="python -m hone.mcp")


if __name__ == "__main__":
    main()
