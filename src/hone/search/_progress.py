"""A progress view for long searches: a rich bar on a terminal, plain lines otherwise.

Only shown when asked for (``progress=True``); it writes to stderr, never to stdout.
"""

from __future__ import annotations

import sys
import time
from typing import Any, Protocol, TextIO

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from hone.search._state import SearchState

__all__ = ["ProgressView", "make_progress"]


class ProgressView(Protocol):
    """What a search reports to as it goes."""

    def update(self, state: SearchState[Any], calls: int) -> None:
        """After each finished trial."""
        ...

    def close(self) -> None:
        """When the search stops."""
        ...


def _summary(state: SearchState[Any]) -> str:
    best = state.best()
    text = f"best {best.score:.3f} (depth {best.depth})" if best else "best —"
    failed = len(state.failures)
    return f"{len(state)} nodes, {text}" + (f", {failed} failed" if failed else "")


class _RichView:
    def __init__(self, total: int | None, label: str, stream: TextIO) -> None:
        self._bar = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[summary]}"),
            TimeElapsedColumn(),
            console=Console(file=stream),
            transient=False,
        )
        self._task = self._bar.add_task(label, total=total, summary="")
        self._bar.start()

    def update(self, state: SearchState[Any], calls: int) -> None:
        self._bar.update(self._task, completed=calls, summary=_summary(state))

    def close(self) -> None:
        self._bar.stop()


class _PlainView:
    """A line every ``every`` calls (and at the end), for logs and pipes."""

    def __init__(self, total: int | None, label: str, stream: TextIO) -> None:
        self._total = total
        self._label = label
        self._stream = stream
        self._every = max(1, (total or 200) // 20)
        self._start = time.perf_counter()
        self._last = ""

    def _line(self, state: SearchState[Any], calls: int) -> str:
        of = f"/{self._total}" if self._total is not None else ""
        elapsed = time.perf_counter() - self._start
        return f"{self._label}: {calls}{of} calls, {_summary(state)}, {elapsed:.1f}s"

    def update(self, state: SearchState[Any], calls: int) -> None:
        self._last = self._line(state, calls)
        if calls % self._every == 0:
            print(self._last, file=self._stream, flush=True)
            self._last = ""

    def close(self) -> None:
        if self._last:
            print(self._last, file=self._stream, flush=True)


def make_progress(total: int | None, label: str, *, stream: TextIO | None = None) -> ProgressView:
    """A rich bar when ``stream`` (stderr by default) is a terminal, plain lines otherwise."""
    out = stream or sys.stderr
    if out.isatty():
        return _RichView(total, label, out)
    return _PlainView(total, label, out)
