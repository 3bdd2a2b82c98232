"""The agent server driven through the official ``langgraph-sdk`` client, sync and async."""

from __future__ import annotations

import itertools
import json
import time

import pytest
from langgraph_sdk import get_client
from langgraph_sdk.client import SyncLangGraphClient
from langgraph_sdk.errors import ConflictError

from hone.server._graphs import assistant_id_for


def test_ok_and_info(alice: SyncLangGraphClient) -> None:
    assert alice.http.get("/ok") == {"ok": True}
    info = alice.http.get("/info")
    assert info["server"] == "hone" and info["flags"]["strict_resume"] is True
    assert set(info["graphs"]) == {"counter", "asker", "slow", "failing", "chat", "nested", "picky"}


def test_assistants_search_get_schemas_graph(alice: SyncLangGraphClient) -> None:
    found = alice.assistants.search(graph_id="counter")
    assert [a["assistant_id"] for a in found] == [assistant_id_for("counter")]
    assert alice.assistants.get("counter") == alice.assistants.get(assistant_id_for("counter"))
    page = alice.assistants.search(limit=2, response_format="object")
    assert len(page["assistants"]) == 2 and page["next"] == "2"
    assert alice.assistants.count() == 7
    schemas = alice.assistants.get_schemas("counter")
    assert schemas["graph_id"] == "counter"
    assert set(schemas["state_schema"]["properties"]) == {"log", "delay", "answer"}
    graph = alice.assistants.get_graph("chat")
    ids = {n["id"] for n in graph["nodes"]}
    assert {"__start__", "agent", "tools", "__end__"} <= ids
    assert {"source": "tools", "target": "agent"} in graph["edges"]


def test_created_assistant_carries_its_config(
    alice: SyncLangGraphClient, bob: SyncLangGraphClient
) -> None:
    made = alice.assistants.create(
        "counter", config={"tags": ["mine"]}, metadata={"team": "a"}, name="my counter"
    )
    assert made["graph_id"] == "counter" and made["name"] == "my counter"
    assert (
        alice.assistants.search(metadata={"team": "a"})[0]["assistant_id"] == made["assistant_id"]
    )
    assert bob.assistants.search(metadata={"team": "a"}) == []
    updated = alice.assistants.update(made["assistant_id"], metadata={"x": 1})
    assert updated["version"] == 2 and updated["metadata"] == {"team": "a", "x": 1}
    thread = alice.threads.create()
    out = alice.runs.wait(thread["thread_id"], made["assistant_id"], input={"log": []})
    assert out == {"log": ["a", "b"]}
    alice.assistants.delete(made["assistant_id"])
    with pytest.raises(Exception, match="not found"):
        alice.assistants.get(made["assistant_id"])


def test_threads_crud_and_search(alice: SyncLangGraphClient) -> None:
    thread = alice.threads.create(metadata={"topic": "crud", "n": 1})
    tid = thread["thread_id"]
    assert thread["status"] == "idle" and thread["values"] == {}
    assert alice.threads.get(tid)["metadata"] == {"topic": "crud", "n": 1}
    again = alice.threads.create(thread_id=tid, if_exists="do_nothing")
    assert again["thread_id"] == tid
    with pytest.raises(ConflictError):
        alice.threads.create(thread_id=tid)
    alice.threads.update(tid, metadata={"n": 2})
    assert alice.threads.get(tid)["metadata"] == {"topic": "crud", "n": 2}
    assert [t["thread_id"] for t in alice.threads.search(metadata={"topic": "crud", "n": 2})] == [
        tid
    ]
    assert alice.threads.search(metadata={"topic": "crud", "n": 1}) == []
    assert alice.threads.count(metadata={"topic": "crud"}) == 1
    assert alice.threads.search(ids=[tid], select=["thread_id", "status"]) == [
        {"thread_id": tid, "status": "idle"}
    ]
    alice.threads.delete(tid)
    with pytest.raises(Exception, match="not found"):
        alice.threads.get(tid)


def test_stream_events_in_order(alice: SyncLangGraphClient) -> None:
    tid = alice.threads.create()["thread_id"]
    created: list[dict[str, str | None]] = []
    parts = list(
        alice.runs.stream(
            tid,
            "counter",
            input={"log": []},
            stream_mode=["values", "updates", "custom", "debug"],
            on_run_created=lambda meta: created.append(dict(meta)),
        )
    )
    events = [p.event for p in parts]
    assert events[0] == "metadata" and events[-1] == "end"
    assert created and created[0]["run_id"] == parts[0].data["run_id"]
    assert created[0]["thread_id"] == tid
    assert [p.data for p in parts if p.event == "updates"] == [
        {"step_a": {"log": ["a"]}},
        {"step_b": {"log": ["b"]}},
    ]
    assert [p.data for p in parts if p.event == "custom"] == [{"progress": "b"}]
    assert parts[-2].event in ("values", "debug")
    assert [p.data for p in parts if p.event == "values"][-1] == {"log": ["a", "b"]}
    assert {p.data["type"] for p in parts if p.event == "debug"} >= {
        "checkpoint",
        "task",
        "task_result",
    }
    ids = [int(p.id) for p in parts if p.id is not None]
    assert ids == sorted(ids) and ids[0] == 1


def test_stream_v2_parts(alice: SyncLangGraphClient) -> None:
    tid = alice.threads.create()["thread_id"]
    parts = list(
        alice.runs.stream(tid, "asker", input={"log": []}, stream_mode="values", version="v2")
    )
    assert parts[0]["type"] == "metadata"
    last = [p for p in parts if p["type"] == "values"][-1]
    assert last["interrupts"][0]["value"] == {"question": "what is your name?"}


def test_interrupt_then_resume(alice: SyncLangGraphClient) -> None:
    tid = alice.threads.create()["thread_id"]
    out = alice.runs.wait(tid, "asker", input={"log": []})
    assert out["log"] == ["a"] and out["__interrupt__"][0]["value"]["question"]
    thread = alice.threads.get(tid)
    assert thread["status"] == "interrupted"
    [(task_id, interrupts)] = thread["interrupts"].items()
    assert interrupts[0]["id"] == out["__interrupt__"][0]["id"]
    state = alice.threads.get_state(tid)
    assert state["next"] == ["ask"] and state["tasks"][0]["id"] == task_id
    out = alice.runs.wait(tid, "asker", command={"resume": "Ada"})
    assert out == {"log": ["a", "hello Ada"], "answer": "Ada"}
    assert alice.threads.get(tid)["status"] == "idle"
    history = alice.threads.get_history(tid, limit=20)
    assert history[0]["values"] == out and history[0]["next"] == []
    assert len(history) >= 4
    older = alice.threads.get_state(tid, checkpoint_id=history[1]["checkpoint"]["checkpoint_id"])
    assert older["checkpoint"] == history[1]["checkpoint"]


def test_background_run_get_list_join(alice: SyncLangGraphClient) -> None:
    tid = alice.threads.create()["thread_id"]
    run = alice.runs.create(tid, "counter", input={"log": []}, metadata={"kind": "bg"})
    assert run["status"] in ("pending", "running", "success")
    assert alice.runs.join(tid, run["run_id"]) == {"log": ["a", "b"]}
    got = alice.runs.get(tid, run["run_id"])
    assert got["status"] == "success" and got["metadata"] == {"kind": "bg"}
    assert [r["run_id"] for r in alice.runs.list(tid)] == [run["run_id"]]
    parts = list(alice.runs.join_stream(tid, run["run_id"]))
    assert parts[0].event == "metadata" and parts[-1].event == "end"
    assert alice.threads.get(tid)["values"] == {"log": ["a", "b"]}
    alice.runs.delete(tid, run["run_id"])
    assert alice.runs.list(tid) == []


def test_join_stream_resumes_after_last_event_id(alice: SyncLangGraphClient) -> None:
    tid = alice.threads.create()["thread_id"]
    run = alice.runs.create(tid, "counter", input={"log": []}, stream_mode=["updates"])
    alice.runs.join(tid, run["run_id"])
    all_parts = list(alice.runs.join_stream(tid, run["run_id"]))
    later = list(alice.runs.join_stream(tid, run["run_id"], last_event_id=all_parts[1].id))
    assert [p.event for p in later] == [p.event for p in all_parts[2:]]


def test_failed_run(alice: SyncLangGraphClient) -> None:
    tid = alice.threads.create()["thread_id"]
    parts = list(alice.runs.stream(tid, "failing", input={"log": []}))
    error = next(p for p in parts if p.event == "error")
    assert error.data == {"error": "ValueError", "message": "the node exploded"}
    assert parts[-1].event == "end"
    assert alice.threads.get(tid)["status"] == "error"
    with pytest.raises(Exception, match="the node exploded"):
        alice.runs.wait(tid, "failing", input={"log": []})
    assert alice.runs.list(tid)[0]["status"] == "error"


def test_cancel_a_running_run(alice: SyncLangGraphClient) -> None:
    tid = alice.threads.create()["thread_id"]
    run = alice.runs.create(tid, "slow", input={"log": [], "delay": 30})
    deadline = time.monotonic() + 10
    while alice.runs.get(tid, run["run_id"])["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    alice.runs.cancel(tid, run["run_id"], wait=True)
    got = alice.runs.get(tid, run["run_id"])
    assert got["status"] == "interrupted" and got["cancel_reason"]
    assert alice.threads.get(tid)["status"] == "idle"
    out = alice.runs.wait(tid, "counter", input={"log": []})
    assert out["log"][-2:] == ["a", "b"]


def test_multitask_enqueue_and_interrupt(alice: SyncLangGraphClient) -> None:
    tid = alice.threads.create()["thread_id"]
    first = alice.runs.create(tid, "slow", input={"log": [], "delay": 0.3})
    second = alice.runs.create(tid, "counter", input={"log": []}, multitask_strategy="enqueue")
    assert alice.runs.join(tid, second["run_id"])["log"] == ["waited", "b", "a", "b"]
    assert alice.runs.get(tid, first["run_id"])["status"] == "success"
    third = alice.runs.create(tid, "slow", input={"log": [], "delay": 30})
    fourth = alice.runs.create(tid, "counter", input={"log": []}, multitask_strategy="interrupt")
    alice.runs.join(tid, fourth["run_id"])
    assert alice.runs.get(tid, third["run_id"])["status"] == "interrupted"
    assert alice.runs.get(tid, fourth["run_id"])["status"] == "success"


def test_multitask_rollback_forgets_the_cancelled_run(alice: SyncLangGraphClient) -> None:
    tid = alice.threads.create()["thread_id"]
    alice.runs.wait(tid, "counter", input={"log": []})
    doomed = alice.runs.create(tid, "slow", input={"log": ["doomed"], "delay": 30})
    deadline = time.monotonic() + 10
    while alice.runs.get(tid, doomed["run_id"])["status"] != "running":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    out = alice.runs.wait(tid, "counter", input={"log": []}, multitask_strategy="rollback")
    assert out == {"log": ["a", "b", "a", "b"]}
    assert doomed["run_id"] not in [r["run_id"] for r in alice.runs.list(tid)]


def test_update_state_then_continue(alice: SyncLangGraphClient) -> None:
    tid = alice.threads.create()["thread_id"]
    alice.runs.wait(tid, "counter", input={"log": []})
    result = alice.threads.update_state(tid, {"log": ["edited"]}, as_node="step_a")
    assert result["checkpoint"]["thread_id"] == tid and result["checkpoint"]["checkpoint_id"]
    state = alice.threads.get_state(tid)
    assert state["values"]["log"] == ["a", "b", "edited"] and state["next"] == ["step_b"]
    assert alice.threads.get(tid)["status"] == "interrupted"
    out = alice.runs.wait(tid, "counter", input=None)
    assert out["log"] == ["a", "b", "edited", "b"]


def test_messages_stream_tokens_and_tuples(alice: SyncLangGraphClient) -> None:
    tid = alice.threads.create()["thread_id"]
    parts = list(
        alice.runs.stream(
            tid,
            "chat",
            input={"messages": [{"role": "user", "content": "2+3?"}]},
            stream_mode=["messages", "messages-tuple"],
        )
    )
    partial = [p.data[0]["content"] for p in parts if p.event == "messages/partial"]
    assert partial and partial[-1] == "The sum is 5." and len(partial) > 1
    assert all(b.startswith(a) for a, b in itertools.pairwise(partial))
    tuples = [p.data for p in parts if p.event == "messages"]
    assert tuples and tuples[0][1]["langgraph_node"] in ("agent", "tools")
    assert any(p.event == "messages/metadata" for p in parts)
    values = alice.threads.get_state(tid)["values"]["messages"]
    assert [m["type"] for m in values] == ["human", "ai", "tool", "ai"]
    assert values[1]["tool_calls"][0]["name"] == "add" and values[2]["content"] == "5"


def test_stateless_runs(alice: SyncLangGraphClient) -> None:
    before = alice.threads.count()
    assert alice.runs.wait(None, "counter", input={"log": []}) == {"log": ["a", "b"]}
    parts = list(alice.runs.stream(None, "counter", input={"log": []}, stream_mode="updates"))
    assert [p.event for p in parts] == ["metadata", "updates", "updates", "end"]
    assert alice.threads.count() == before


def test_store_items(alice: SyncLangGraphClient, bob: SyncLangGraphClient) -> None:
    alice.store.put_item(["alice", "notes"], "k1", {"text": "tea with lemon"})
    alice.store.put_item(["alice", "notes"], "k2", {"text": "coffee"})
    item = alice.store.get_item(["alice", "notes"], "k1")
    assert item["value"] == {"text": "tea with lemon"} and item["namespace"] == ["alice", "notes"]
    found = alice.store.search_items(["alice"], filter={"text": "coffee"})
    assert [i["key"] for i in found["items"]] == ["k2"]
    assert alice.store.list_namespaces()["namespaces"] == [["alice", "notes"]]
    assert bob.store.list_namespaces()["namespaces"] == []
    with pytest.raises(Exception, match="outside your namespaces"):
        bob.store.get_item(["alice", "notes"], "k1")
    alice.store.delete_item(["alice", "notes"], "k1")
    with pytest.raises(Exception, match="no item"):
        alice.store.get_item(["alice", "notes"], "k1")


async def test_async_client(server_url: str) -> None:
    client = get_client(url=server_url, api_key="alice-key")
    try:
        thread = await client.threads.create(metadata={"via": "async"})
        tid = thread["thread_id"]
        events = [p.event async for p in client.runs.stream(tid, "asker", input={"log": []})]
        assert events[0] == "metadata" and events[-1] == "end"
        assert (await client.threads.get(tid))["status"] == "interrupted"
        out = await client.runs.wait(tid, "asker", command={"resume": "Grace"})
        assert out["answer"] == "Grace"
        run = await client.runs.create(tid, "counter", input={"log": []})
        assert (await client.runs.join(tid, run["run_id"]))["log"][-2:] == ["a", "b"]
        assert [t["thread_id"] for t in await client.threads.search(metadata={"via": "async"})] == [
            tid
        ]
        history = await client.threads.get_history(tid, limit=3)
        assert len(history) == 3
    finally:
        await client.aclose()


def test_a_stream_dropped_by_its_client_cancels_or_continues(server_url: str) -> None:
    import httpx

    def drop_after_metadata(client: httpx.Client, tid: str, on_disconnect: str) -> str:
        body = {
            "assistant_id": "slow",
            "input": {"log": [], "delay": 0.6 if on_disconnect == "continue" else 30},
            "on_disconnect": on_disconnect,
        }
        with client.stream("POST", f"/threads/{tid}/runs/stream", json=body) as response:
            for line in response.iter_lines():
                if line.startswith("data:"):
                    return str(json.loads(line.removeprefix("data:"))["run_id"])
        raise AssertionError("no metadata event")

    def settled(client: httpx.Client, tid: str, run_id: str) -> str:
        deadline = time.monotonic() + 10
        while True:
            status = str(client.get(f"/threads/{tid}/runs/{run_id}").json()["status"])
            if status not in ("pending", "running") or time.monotonic() > deadline:
                return status
            time.sleep(0.05)

    with httpx.Client(base_url=server_url, headers={"x-api-key": "alice-key"}) as client:
        tid = client.post("/threads", json={}).json()["thread_id"]
        run_id = drop_after_metadata(client, tid, "cancel")
        assert settled(client, tid, run_id) == "interrupted"
        run_id = drop_after_metadata(client, tid, "continue")
        assert settled(client, tid, run_id) == "success"
        assert client.get(f"/threads/{tid}/state").json()["values"]["log"][-2:] == ["waited", "b"]


def test_cancel_with_rollback_restores_the_state_before_the_run(
    alice: SyncLangGraphClient,
) -> None:
    tid = alice.threads.create()["thread_id"]
    alice.runs.wait(tid, "counter", input={"log": []})
    doomed = alice.runs.create(tid, "slow", input={"log": ["doomed"], "delay": 30})
    deadline = time.monotonic() + 10
    while "doomed" not in alice.threads.get_state(tid)["values"]["log"]:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    alice.runs.cancel(tid, doomed["run_id"], wait=True, action="rollback")
    assert alice.threads.get_state(tid)["values"] == {"log": ["a", "b"]}
    assert doomed["run_id"] not in [r["run_id"] for r in alice.runs.list(tid)]
    assert alice.threads.get(tid)["status"] == "idle"
    assert alice.runs.wait(tid, "counter", input={"log": []}) == {"log": ["a", "b", "a", "b"]}
    fresh = alice.threads.create()["thread_id"]
    first = alice.runs.create(fresh, "slow", input={"log": ["doomed"], "delay": 30})
    while alice.threads.get_state(fresh)["values"].get("log") != ["doomed"]:
        assert time.monotonic() < deadline
        time.sleep(0.02)
    alice.runs.cancel(fresh, first["run_id"], wait=True, action="rollback")
    assert alice.threads.get_state(fresh)["values"] == {}


def test_events_stream_mode_is_langchains_event_stream(alice: SyncLangGraphClient) -> None:
    """``stream_mode="events"``: each SSE event is one ``astream_events`` v2 event (JSON),
    the graph's run is the API run; with other modes too, those arrive as usual."""
    tid = alice.threads.create()["thread_id"]
    parts = list(
        alice.runs.stream(
            tid,
            "chat",
            input={"messages": [{"role": "user", "content": "2+3?"}]},
            stream_mode=["events", "updates"],
        )
    )
    run_id = parts[0].data["run_id"]
    events = [p.data for p in parts if p.event == "events"]
    kinds = [e["event"] for e in events]
    assert events[0]["event"] == "on_chain_start" and events[0]["run_id"] == run_id
    assert events[-1]["event"] == "on_chain_end" and events[-1]["run_id"] == run_id
    assert {"on_chat_model_start", "on_chat_model_stream", "on_tool_start", "on_tool_end"} <= set(
        kinds
    )
    tokens = "".join(
        e["data"]["chunk"]["content"] for e in events if e["event"] == "on_chat_model_stream"
    )
    assert tokens == "The sum is 5."
    assert not any(e["event"] == "on_chain_stream" and e["run_id"] == run_id for e in events)
    updates = [p.data for p in parts if p.event == "updates"]
    assert [next(iter(u)) for u in updates] == ["agent", "tools", "agent"]
    assert events[-1]["data"]["output"]["messages"][-1]["content"] == "The sum is 5."
