"""What every benchmark shares: the command line, timing, the machine note, tables, results.

A benchmark module defines ``NAME``, ``DESCRIPTION`` and ``run(options) -> dict``; its ``main``
is ``bench_main(NAME, DESCRIPTION, run)``. The dict it returns is written as JSON to
``bench/results/<name>.json`` (or ``--out``) together with a note about the machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

RESULTS_DIR = Path(__file__).resolve().parent / "results"
# Wide enough for the tables when the output is not a terminal (rich would use 80).
console = Console(width=None if sys.stdout.isatty() else 140)


@dataclass(frozen=True, slots=True)
class Options:
    """Command-line options common to all benchmarks."""

    #: Run at a tiny size (for the smoke test): same code paths, meaningless figures.
    quick: bool
    #: Where to write the results JSON.
    out: Path
    #: Folder for database files.
    workdir: Path
    #: Whether the folder is a temporary one, removed after the run.
    temporary: bool


def parse(name: str, description: str, argv: Sequence[str] | None) -> Options:
    """Parse ``--quick``, ``--out`` and ``--workdir``."""
    parser = argparse.ArgumentParser(prog=f"python -m bench {name}", description=description)
    parser.add_argument("--quick", action="store_true", help="tiny sizes, for a smoke test")
    parser.add_argument("--out", type=Path, help="results JSON path")
    parser.add_argument("--workdir", type=Path, help="folder for database files (default: temp)")
    args = parser.parse_args(argv)
    out = args.out or RESULTS_DIR / (f"{name}.quick.json" if args.quick else f"{name}.json")
    if args.workdir is None:
        return Options(args.quick, out, Path(tempfile.mkdtemp(prefix="hone-bench-")), True)
    return Options(quick=args.quick, out=out, workdir=args.workdir, temporary=False)


def bench_main(
    name: str,
    description: str,
    run: Callable[[Options], dict[str, Any]],
    argv: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Run one benchmark from the command line and write its results."""
    options = parse(name, description, argv)
    options.workdir.mkdir(parents=True, exist_ok=True)
    console.print(f"[bold]{name}[/bold]: {description}")
    started = time.perf_counter()
    try:
        results = run(options)
    finally:
        if options.temporary:
            shutil.rmtree(options.workdir, ignore_errors=True)
    report = {
        "benchmark": name,
        "quick": options.quick,
        "machine": machine(),
        "seconds": round(time.perf_counter() - started, 1),
        **results,
    }
    options.out.parent.mkdir(parents=True, exist_ok=True)
    options.out.write_text(json.dumps(report, indent=2) + "\n")
    console.print(f"results written to {options.out}")
    return report


def machine() -> dict[str, Any]:
    """Where and when the figures were measured."""
    return {
        "date": dt.date.today().isoformat(),
        "cpu_cores": os.cpu_count(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "hone": _version("hone"),
        "langgraph": _version("langgraph"),
        "langgraph_checkpoint_sqlite": _version("langgraph-checkpoint-sqlite"),
    }


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def median_time(fn: Callable[[], Any], repeats: int) -> float:
    """The median wall time of ``fn()`` in seconds over ``repeats`` calls."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def ratio(a: float, b: float) -> float | None:
    """a / b, or None when b is not positive."""
    return round(a / b, 3) if b > 0 else None


def fmt(value: Any) -> str:
    """A table cell: numbers to 3 significant figures (ratios get an ×)."""
    if value is None:
        return "—"
    if isinstance(value, float):
        return f"{value:.3g}"
    return str(value)


def print_table(title: str, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    """Print a rich table."""
    table = Table(title=title)
    for i, column in enumerate(columns):
        table.add_column(column, justify="left" if i == 0 else "right")
    for row in rows:
        table.add_row(*(fmt(cell) for cell in row))
    console.print(table)
