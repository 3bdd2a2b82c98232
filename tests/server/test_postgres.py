"""The agent server on PostgreSQL: the same API through the SDK, and runs that outlive a
server. Skips when PostgreSQL is unreachable, unless HONE_REQUIRE_POSTGRES is set."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

import httpx
import pytest
from langgraph_sdk import get_client, get_sync_client
from langgraph_sdk.errors import ConflictError, NotFoundError

from hone.server import running_server

from .conftest import make_config

pytestmark = pytest.mark.postgres


def test_threads_runs_interrupts_and_store(pg_dsn: str, pg_schemas: Callable[[], str]) -> None:
    config = make_config(pg_dsn, postgres_schema=pg_schemas())
    with running_server(config) as url:
        alice = get_sync_client(url=url, api_key="alice-key")
        bob = get_sync_client(url=url, api_key="bob-key")
        tid = alice.threads.create(metadata={"db": "pg", "n": 1})["thread_id"]
        out = alice.runs.wait(tid, "asker", input={"log": []})
        assert out["__interrupt__"][0]["value"] == {"question": "what is your name?"}
        assert alice.threads.get(tid)["status"] == "interrupted"
        parts = list(
            alice.runs.stream(tid, "asker", command={"resume": "Ada"}, stream_mode="updates")
        )
        assert parts[0].event == "metadata" and parts[-1].event == "end"
        assert alice.threads.get_state(tid)["values"] == {
            "log": ["a", "hello Ada"],
            "answer": "Ada",
        }
        assert [t["thread_id"] for t in alice.threads.search(metadata={"db": "pg", "n": 1})] == [
            tid
        ]
        assert alice.threads.search(metadata={"db": "pg", "n": 2}) == []
        assert len(alice.threads.get_history(tid, limit=50)) >= 4
        with pytest.raises(NotFoundError):
            bob.threads.get(tid)
        first = alice.runs.create(tid, "slow", input={"log": [], "delay": 0.5})
        with pytest.raises(ConflictError):
            alice.runs.create(tid, "counter", input={"log": []}, multitask_strategy="reject")
        alice.runs.join(tid, first["run_id"])
        assert alice.runs.wait(None, "counter", input={"log": []}) == {"log": ["a", "b"]}
        odd = {'say "hi"': 1, "a.b": [1, {"c": None}], "é\\": True}
        odd_tid = alice.threads.create(metadata=odd)["thread_id"]
        for key, value in odd.items():
            assert [t["thread_id"] for t in alice.threads.search(metadata={key: value})] == [
                odd_tid
            ]
        with httpx.Client(base_url=url, headers={"x-api-key": "alice-key"}) as raw:
            assert raw.get("/threads/a%00b").status_code == 422
            answer = raw.post("/threads", json={"metadata": {"k": "\x00"}})
            assert answer.status_code == 422 and "NUL" in answer.json()["detail"]
        alice.store.put_item(["alice", "prefs"], "tea", {"milk": False})
        assert alice.store.get_item(["alice", "prefs"], "tea")["value"] == {"milk": False}
        alice.http.client.close()
        bob.http.client.close()


async def test_a_run_drained_at_shutdown_resumes_at_the_next_start(
    pg_dsn: str, pg_schemas: Callable[[], str]
) -> None:
    config = make_config(pg_dsn, postgres_schema=pg_schemas())
    with running_server(config) as url:
        client = get_sync_client(url=url, api_key="alice-key")
        tid = client.threads.create()["thread_id"]
        run = client.runs.create(tid, "slow", input={"log": [], "delay": 1.0})
        deadline = time.monotonic() + 10
        while client.runs.get(tid, run["run_id"])["status"] != "running":
            assert time.monotonic() < deadline
            time.sleep(0.02)
        client.http.client.close()
    # The server stopped while `wait` slept: the run stopped at the step boundary after it,
    # still `running` in the database.
    with running_server(config) as url:
        aclient = get_client(url=url, api_key="alice-key")
        try:
            out = await aclient.runs.join(tid, run["run_id"])
            # resumed after `wait`, not started again (that would wait twice)
            assert out == {"log": ["waited", "b"], "delay": 1.0}
            got = await aclient.runs.get(tid, run["run_id"])
            assert got["status"] == "success"
            assert (await aclient.threads.get(tid))["status"] == "idle"
        finally:
            await aclient.aclose()


async def test_fifty_concurrent_runs_lose_nothing(
    pg_dsn: str, pg_schemas: Callable[[], str]
) -> None:
    config = make_config(pg_dsn, postgres_schema=pg_schemas())
    with running_server(config) as url:
        client = get_client(url=url, api_key="bob-key")
        try:
            threads = await asyncio.gather(*(client.threads.create() for _ in range(50)))
            outputs = await asyncio.gather(
                *(
                    client.runs.wait(t["thread_id"], "counter", input={"log": [f"t{i}"]})
                    for i, t in enumerate(threads)
                )
            )
            assert outputs == [{"log": [f"t{i}", "a", "b"]} for i in range(50)]
            for i, thread in enumerate(threads):
                state = await client.threads.get_state(thread["thread_id"])
                assert state["values"] == outputs[i] and state["next"] == []
                runs = await client.runs.list(thread["thread_id"])
                assert [r["status"] for r in runs] == ["success"]
        finally:
            await client.aclose()
