"""Sandbox start and round-trip latency, with and without each expensive layer.

For each layer set a session is started and closed ``starts`` times (the start time is until
the worker has confined itself and answered; the close time until its whole process tree is
gone and its scratch folder removed), then one session runs:

* **block** — a code block that does nothing (``pass``): one exec request and its answer;
* **call** — a block making 200 host-function calls (``f(i)`` with a sync function), per call;
* **get/set** — reading and setting a small variable.

Layer sets: ``bare`` (no optional layer: the session, rlimits, environment, scratch folder,
output bounds and parent-death signal only), ``+seccomp``, ``+landlock``, ``+bubblewrap``
(namespaces, and the uid drop they make possible as root), and ``all`` (the default). The
floor is a bare interpreter: ``python -I -c pass``.
"""

from __future__ import annotations

import asyncio
import statistics
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from bench._common import Options, bench_main, print_table
from hone.sandbox import HostFunction, Layers, ProcessSandbox, SandboxConfig

NAME = "sandbox_latency"
DESCRIPTION = "sandbox start and round-trip latency, with and without each expensive layer"

LAYER_SETS: dict[str, Layers] = {
    "bare": Layers(bubblewrap=False, drop_uid=False, landlock=False, seccomp=False),
    "+seccomp": Layers(bubblewrap=False, drop_uid=False, landlock=False),
    "+landlock": Layers(bubblewrap=False, drop_uid=False, seccomp=False),
    "+bubblewrap": Layers(landlock=False, seccomp=False),
    "all": Layers(),
}
CALLS = 200


def _ms(seconds: Sequence[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    p90 = ordered[min(len(ordered) - 1, round(0.9 * (len(ordered) - 1)))]
    return {"p50_ms": round(statistics.median(ordered) * 1e3, 3), "p90_ms": round(p90 * 1e3, 3)}


async def _timed(fn: Callable[[], Awaitable[Any]], repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        await fn()
        times.append(time.perf_counter() - started)
    return times


async def _measure(layers: Layers, starts: int, repeats: int) -> dict[str, Any]:
    sandbox = ProcessSandbox(SandboxConfig(layers=layers))
    function = HostFunction.from_callable(lambda i: i, name="f")

    start, close = [], []
    for _ in range(starts):
        began = time.perf_counter()
        started = await sandbox.astart([function])
        start.append(time.perf_counter() - began)
        began = time.perf_counter()
        await started.aclose()
        close.append(time.perf_counter() - began)
    session = await sandbox.astart([function])
    try:
        applied = [s.layer for s in session.report.layers if s.applied]
        block = await _timed(lambda: session.arun("pass"), repeats)
        loop = f"for i in range({CALLS}):\n    f(i)"
        calls = [t / CALLS for t in await _timed(lambda: session.arun(loop), max(repeats // 10, 3))]
        set_get = await _timed(lambda: _set_get(session), repeats)
    finally:
        await session.aclose()
    return {
        "applied": applied,
        "start": _ms(start),
        "close": _ms(close),
        "block": _ms(block),
        "call": _ms(calls),
        "set_get": _ms(set_get),
    }


async def _set_get(session: Any) -> None:
    await session.aset("x", {"a": 1})
    await session.aget("x")


def _interpreter_start(repeats: int) -> dict[str, float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-I", "-c", "pass"], check=True)
        times.append(time.perf_counter() - started)
    return _ms(times)


def run(options: Options) -> dict[str, Any]:
    """Measure every layer set."""
    starts, repeats = (3, 10) if options.quick else (20, 200)
    floor = _interpreter_start(starts)
    results = {
        name: asyncio.run(_measure(layers, starts, repeats)) for name, layers in LAYER_SETS.items()
    }
    rows = [
        [
            name,
            r["start"]["p50_ms"],
            r["start"]["p90_ms"],
            r["close"]["p50_ms"],
            r["block"]["p50_ms"],
            r["call"]["p50_ms"],
            r["set_get"]["p50_ms"],
            len(r["applied"]),
        ]
        for name, r in results.items()
    ]
    rows.insert(
        0, ["python -I -c pass", floor["p50_ms"], floor["p90_ms"], None, None, None, None, None]
    )
    print_table(
        "sandbox latency (ms)",
        [
            "layers",
            "start p50",
            "start p90",
            "close p50",
            "block p50",
            "call p50",
            "set+get p50",
            "layers applied",
        ],
        rows,
    )
    return {
        "starts": starts,
        "repeats": repeats,
        "calls_per_block": CALLS,
        "interpreter": floor,
        "layer_sets": results,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """Run the benchmark from the command line."""
    return bench_main(NAME, DESCRIPTION, run, argv)


if __name__ == "__main__":
    main()
