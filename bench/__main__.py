"""``python -m bench`` lists the benchmarks; ``python -m bench <name> [options]`` runs one."""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console
from rich.table import Table

#: Benchmark name -> module: every public module of this package is one benchmark, with
#: ``DESCRIPTION`` and ``main(argv)``; helpers are private (``_name.py``).
BENCHMARKS = {
    info.name: f"bench.{info.name}"
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda i: i.name)
    if not info.name.startswith("_")
}


def main(argv: Sequence[str]) -> int:
    """Dispatch to one benchmark, or list them."""
    console = Console()
    if not argv or argv[0] in ("-h", "--help", "list"):
        table = Table(title="benchmarks: python -m bench <name> [--quick] [--out PATH]")
        table.add_column("name")
        table.add_column("measures")
        for name, module in BENCHMARKS.items():
            table.add_row(name, importlib.import_module(module).DESCRIPTION)
        console.print(table)
        return 0
    name, rest = argv[0], argv[1:]
    if name not in BENCHMARKS:
        console.print(f"unknown benchmark {name!r}; choose one of {sorted(BENCHMARKS)}")
        return 2
    importlib.import_module(BENCHMARKS[name]).main(rest)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
