"""Reliability: 50 concurrent runs lose nothing; a run killed with its server (kill -9)
resumes from its last checkpoint when the server starts again."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from langgraph_sdk import get_client, get_sync_client


async def test_fifty_concurrent_runs_lose_nothing(server_url: str) -> None:
    client = get_client(url=server_url, api_key="bob-key")
    try:
        threads = await asyncio.gather(
            *(client.threads.create(metadata={"batch": "fifty", "i": i}) for i in range(50))
        )
        outputs = await asyncio.gather(
            *(
                client.runs.wait(t["thread_id"], "counter", input={"log": [f"t{i}"]})
                for i, t in enumerate(threads)
            )
        )
        assert outputs == [{"log": [f"t{i}", "a", "b"]} for i in range(50)]
        for i, thread in enumerate(threads):
            tid = thread["thread_id"]
            got = await client.threads.get(tid)
            assert got["status"] == "idle" and got["values"] == outputs[i]
            runs = await client.runs.list(tid)
            assert [r["status"] for r in runs] == ["success"]
            state = await client.threads.get_state(tid)
            assert state["values"] == outputs[i] and state["next"] == []
        assert await client.threads.count(metadata={"batch": "fifty"}) == 50
    finally:
        await client.aclose()


_CRASHY = """
    import asyncio
    import operator
    import os
    from pathlib import Path
    from typing import Annotated, TypedDict

    from hone.graph import END, START, StateGraph

    HERE = Path(os.environ["CRASH_DIR"])


    def note(text: str) -> None:
        with (HERE / "log.txt").open("a") as f:
            f.write(text + "\\n")


    class State(TypedDict):
        log: Annotated[list[str], operator.add]


    def first(state: State) -> State:
        note("first")
        return {"log": ["first"]}


    async def second(state: State) -> State:
        note("second-start")
        while not (HERE / "release").exists():
            await asyncio.sleep(0.02)
        note("second-done")
        return {"log": ["second"]}


    def third(state: State) -> State:
        note("third")
        return {"log": ["third"]}


    builder = StateGraph(State)
    for fn in (first, second, third):
        builder.add_node(fn.__name__, fn)
    builder.add_edge(START, "first")
    builder.add_edge("first", "second")
    builder.add_edge("second", "third")
    builder.add_edge("third", END)
    graph = builder.compile()
"""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def crash_dir(tmp_path: Path) -> Path:
    (tmp_path / "crashy.py").write_text(textwrap.dedent(_CRASHY))
    (tmp_path / "hone.json").write_text(
        json.dumps({"graphs": {"crashy": "crashy.py:graph"}, "database": "server.db"})
    )
    return tmp_path


def _start(folder: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = _free_port()
    env = {**os.environ, "CRASH_DIR": str(folder)}
    process = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "from hone.cli import app; app()",
            "server",
            "--config",
            str(folder / "hone.json"),
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=open(folder / "server.err", "ab"),  # noqa: SIM115
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(f"{url}/ok", timeout=1).status_code == 200:
                return process, url
        except httpx.HTTPError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise AssertionError((folder / "server.err").read_text())
        time.sleep(0.1)


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    started: list[subprocess.Popen[bytes]] = []
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)


def _lines(folder: Path) -> list[str]:
    path = folder / "log.txt"
    return path.read_text().split() if path.exists() else []


@pytest.mark.slow
def test_a_run_killed_with_its_server_resumes_from_its_checkpoint(
    crash_dir: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    process, url = _start(crash_dir)
    processes.append(process)
    client = get_sync_client(url=url, api_key=None)
    tid = client.threads.create()["thread_id"]
    run = client.runs.create(tid, "crashy", input={"log": []})
    queued = client.runs.create(tid, "crashy", input={"log": ["again"]})
    deadline = time.monotonic() + 30
    while "second-start" not in _lines(crash_dir) or client.threads.get_state(tid)["values"].get(
        "log"
    ) != ["first"]:
        assert time.monotonic() < deadline, "the run never reached its second node"
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    client.http.client.close()

    (crash_dir / "release").touch()
    process, url = _start(crash_dir)
    processes.append(process)
    client = get_sync_client(url=url, api_key=None)
    assert client.runs.join(tid, run["run_id"]) == {"log": ["first", "second", "third"]}
    resumed = client.runs.get(tid, run["run_id"])
    assert resumed["status"] == "success"
    # first ran once: the resumed run started from the checkpoint after it.
    assert _lines(crash_dir)[:5] == [
        "first",
        "second-start",
        "second-start",
        "second-done",
        "third",
    ]
    out = client.runs.join(tid, queued["run_id"])
    assert out == {"log": ["first", "second", "third", "again", "first", "second", "third"]}
    assert client.threads.get(tid)["status"] == "idle"
    client.http.client.close()
