"""A bounded load test of ``hone server`` on loopback: throughput and p50/p99 latency.

A real ``hone server`` process (SQLite in a temporary folder, one API key) serves a two-node
graph (each node appends to a list; one emits a custom event). One client process drives it
with the official ``langgraph-sdk`` async client, ``concurrency`` requests in flight at once
(a closed loop: each worker sends its next request when the last one is answered), for a
fixed number of requests per workload:

* **read** — ``GET /threads/{id}`` of an existing thread (auth, routing, one SQL read);
* **wait** — ``runs.wait`` on a fresh thread per request (the thread was made beforehand):
  the run is queued, executed, checkpointed after each step, and its output returned;
* **stream** — ``runs.stream`` of the same run with ``stream_mode=["values", "updates"]``,
  read to its ``end`` event;
* **stateless** — ``runs.wait`` with no thread (a thread made and deleted per run);
* **wait, one at a time** — ``wait`` again with a single request in flight: the latency of
  one run when nothing else competes.

Every answer is checked (the run's output is the expected state; a stream ends with ``end``
and no ``error``); ``errors`` counts the requests that failed or answered wrongly, which must
be 0. The client and the server share this machine's cores, so the figures are a floor for
the server alone.
"""

from __future__ import annotations

import asyncio
import json
import os
import socket
import statistics
import subprocess
import sys
import textwrap
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from bench._common import Options, bench_main, console, print_table

NAME = "agent_server"
DESCRIPTION = "hone server on loopback: runs/s and p50/p99 latency via langgraph-sdk"

KEY = "bench-key"
GRAPH = """
    import operator
    from typing import Annotated, TypedDict

    from hone.graph import END, START, StateGraph, get_stream_writer


    class State(TypedDict):
        log: Annotated[list[str], operator.add]


    def first(state: State) -> State:
        return {"log": ["a"]}


    def second(state: State) -> State:
        get_stream_writer()({"progress": "b"})
        return {"log": ["b"]}


    builder = StateGraph(State)
    builder.add_node("first", first)
    builder.add_node("second", second)
    builder.add_edge(START, "first")
    builder.add_edge("first", "second")
    builder.add_edge("second", END)
    graph = builder.compile()
"""
EXPECTED = {"log": ["a", "b"]}


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _start_server(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    import httpx

    (folder / "bench_graph.py").write_text(textwrap.dedent(GRAPH))
    config = {
        "graphs": {"agent": "bench_graph.py:graph"},
        "database": "server.db",
        "auth": {"api_keys": {KEY: "bench"}},
    }
    (folder / "hone.json").write_text(json.dumps(config))
    port = _free_port()
    command = [sys.executable, "-c", "from hone.cli import app; app()", "server"]
    command += ["--config", str(folder / "hone.json")]
    command += ["--port", str(port), "--log-level", "warning"]
    log = (folder / "server.log").open("ab")
    process = subprocess.Popen(command, cwd=folder, stdout=log, stderr=log, env=dict(os.environ))
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise RuntimeError((folder / "server.log").read_text()[-2000:])
        time.sleep(0.1)


def _summary(latencies: list[float], wall: float, errors: int) -> dict[str, Any]:
    ordered = sorted(latencies)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))] if ordered else 0.0
    return {
        "requests": len(latencies) + errors,
        "errors": errors,
        "throughput_per_s": round(len(latencies) / wall, 1) if wall > 0 else None,
        "p50_ms": round(statistics.median(ordered) * 1e3, 2) if ordered else None,
        "p99_ms": round(p99 * 1e3, 2),
        "wall_s": round(wall, 2),
    }


async def _load(requests: list[Callable[[], Awaitable[bool]]], concurrency: int) -> dict[str, Any]:
    """Send ``requests`` with ``concurrency`` in flight; time each, count wrong answers."""
    latencies: list[float] = []
    errors = 0
    pending = iter(requests)

    async def worker() -> None:
        nonlocal errors
        for request in pending:
            began = time.perf_counter()
            try:
                ok = await request()
            except Exception as exc:
                console.print(f"[red]request failed: {type(exc).__name__}: {exc}")
                ok = False
            if ok:
                latencies.append(time.perf_counter() - began)
            else:
                errors += 1

    began = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return _summary(latencies, time.perf_counter() - began, errors)


async def _workloads(url: str, count: int, concurrency: int) -> dict[str, dict[str, Any]]:
    from langgraph_sdk import get_client

    client = get_client(url=url, api_key=KEY)
    try:
        ids: list[str] = []

        async def make_thread() -> bool:
            ids.append((await client.threads.create())["thread_id"])
            return True

        serial = max(count // 4, 5)
        await _load([make_thread] * (2 * count + serial), concurrency)
        # Warm-up: the first run imports and compiles lazily-built parts.
        await client.runs.wait(None, "agent", input={"log": []})

        async def read(tid: str) -> bool:
            return (await client.threads.get(tid))["thread_id"] == tid

        async def wait(tid: str) -> bool:
            return await client.runs.wait(tid, "agent", input={"log": []}) == EXPECTED

        async def stream(tid: str) -> bool:
            events = [
                p.event
                async for p in client.runs.stream(
                    tid, "agent", input={"log": []}, stream_mode=["values", "updates"]
                )
            ]
            return events[0] == "metadata" and events[-1] == "end" and "error" not in events

        async def stateless() -> bool:
            return await client.runs.wait(None, "agent", input={"log": []}) == EXPECTED

        # (workload, requests, how many in flight)
        plans: list[tuple[str, list[Callable[[], Awaitable[bool]]], int]] = [
            ("read", [lambda t=t: read(t) for t in ids[:count]], concurrency),
            ("wait", [lambda t=t: wait(t) for t in ids[:count]], concurrency),
            ("stream", [lambda t=t: stream(t) for t in ids[count : 2 * count]], concurrency),
            ("stateless", [stateless] * count, concurrency),
            ("wait, one at a time", [lambda t=t: wait(t) for t in ids[2 * count :]], 1),
        ]
        results = {}
        for name, plan, in_flight in plans:
            results[name] = {"in_flight": in_flight, **await _load(plan, in_flight)}
            console.print(f"{name}: {results[name]}")
        return results
    finally:
        await client.aclose()


def run(options: Options) -> dict[str, Any]:
    """Start a server, load it, stop it."""
    count, concurrency = (20, 4) if options.quick else (400, 16)
    process, url = _start_server(options.workdir)
    try:
        results = asyncio.run(_workloads(url, count, concurrency))
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
    rows = [
        [
            name,
            r["in_flight"],
            r["requests"],
            r["errors"],
            r["throughput_per_s"],
            r["p50_ms"],
            r["p99_ms"],
        ]
        for name, r in results.items()
    ]
    print_table(
        "hone server on loopback (SQLite)",
        ["workload", "in flight", "requests", "errors", "per s", "p50 ms", "p99 ms"],
        rows,
    )
    return {"requests_per_workload": count, "concurrency": concurrency, "workloads": results}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """``python -m bench agent_server [--quick]``."""
    return bench_main(NAME, DESCRIPTION, run, argv)
