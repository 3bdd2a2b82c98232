"""Event streaming over the wire: LangGraph's own clients (``RemoteGraph.stream_events(...,
version="v3")`` and the SDK's ``client.threads.stream``) against hone's server, checked
against the same graphs run locally with ``stream_events(version="v3")``."""

from __future__ import annotations

import asyncio
import json
import uuid
import warnings
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from . import agents

remote = pytest.importorskip("langgraph.pregel.remote")
lg_types = pytest.importorskip("langgraph.types")

ALICE = {"x-api-key": "alice-key"}
BOB = {"x-api-key": "bob-key"}


@pytest.fixture(autouse=True)
def _quiet() -> Iterator[None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LangGraph marks its v3 clients experimental
        yield


def _graph(server_url: str, graph_id: str) -> Any:
    return remote.RemoteGraph(graph_id, url=server_url, api_key="alice-key")


def _thread() -> dict[str, Any]:
    return {"configurable": {"thread_id": str(uuid.uuid4())}}


def _events(run: Any) -> list[dict[str, Any]]:
    """A remote run's raw events, up to its root completed / failed lifecycle."""
    out = []
    for event in run:
        out.append(event)
        params = event["params"]
        root = event["method"] == "lifecycle" and not params["namespace"]
        if root and params["data"]["event"] in ("completed", "failed"):
            return out
    return out


def test_a_remote_run_streams_what_a_local_run_does(server_url: str) -> None:
    with agents.counter.stream_events({"log": []}, version="v3") as local:
        local_values = list(local.values)
        local_output = local.output
    with _graph(server_url, "counter").stream_events({"log": []}, version="v3") as run:
        events = _events(run)
        assert run.output == local_output == {"log": ["a", "b"]}
    root = [e for e in events if not e["params"]["namespace"]]
    values = [e["params"]["data"] for e in root if e["method"] == "values"]
    assert values == local_values
    lifecycle = [e["params"]["data"]["event"] for e in root if e["method"] == "lifecycle"]
    assert lifecycle == ["running", "completed"]
    assert [e["seq"] for e in events] == sorted(e["seq"] for e in events)
    assert len({e["event_id"] for e in events}) == len(events)
    custom = [e["params"]["data"] for e in events if e["method"] == "custom"]
    assert custom == [{"payload": {"progress": "b"}}]
    updates = [(e["params"]["node"], e["params"]["data"]) for e in root if e["method"] == "updates"]
    assert updates == [("step_a", {"log": ["a"]}), ("step_b", {"log": ["b"]})]
    steps = [e["params"]["data"]["step"] for e in events if e["method"] == "checkpoints"]
    assert steps == [-1, 0, 1, 2]


def test_messages_and_tool_calls_reach_the_remote_projections(server_url: str) -> None:
    question = {"messages": [{"role": "user", "content": "add 2 and 3"}]}
    with agents.chat_factory().stream_events(question, version="v3") as local:  # type: ignore[attr-defined]
        local_texts = [str(m.text) for m in local.messages]
    with _graph(server_url, "chat").stream_events(question, version="v3") as run:
        texts = [str(m.text) for m in run.messages]
        assert texts == local_texts == ["", "The sum is 5."]
        answer = run.output["messages"][-1]
        assert answer["type"] == "ai" and answer["content"] == "The sum is 5."
    with _graph(server_url, "chat").stream_events(question, version="v3") as run:
        tools = [e["params"]["data"] for e in _events(run) if e["method"] == "tools"]
    assert [t["event"] for t in tools] == ["tool-started", "tool-finished"]
    assert tools[0]["tool_name"] == "add" and tools[0]["input"] == {"a": 2, "b": 3}
    assert tools[1]["output"]["content"] == "5"


def test_a_remote_run_pauses_at_an_interrupt_and_resumes(server_url: str) -> None:
    graph, config = _graph(server_url, "asker"), _thread()
    with graph.stream_events({"log": []}, config, version="v3") as run:
        for _ in run.values:
            pass  # ends when the run pauses
        assert run.interrupted
        [asked] = run.interrupts
        assert asked["value"] == {"question": "what is your name?"}
    thread_id = config["configurable"]["thread_id"]
    waiting = _read(
        server_url, thread_id, {"channels": ["input", "lifecycle"]}, until_interrupt=True
    )
    request = next(e for e in waiting if e["method"] == "input.requested")
    assert request["params"]["data"]["interrupt_id"] == asked["interrupt_id"]
    assert request["params"]["data"]["payload"] == {"question": "what is your name?"}
    assert waiting[-1]["params"]["data"]["event"] == "interrupted"
    with graph.stream_events(lg_types.Command(resume="Ada"), config, version="v3") as run:
        assert run.output == {"log": ["a", "hello Ada"], "answer": "Ada"}


def _read(
    server_url: str, thread_id: str, body: dict[str, Any], *, until_interrupt: bool = False
) -> list[dict[str, Any]]:
    """The thread's event stream as a raw SSE client reads it (until the run ends, or with
    ``until_interrupt`` until it pauses)."""
    path = f"{server_url}/threads/{thread_id}/stream/events"
    out = []
    with httpx.stream("POST", path, json=body, headers=ALICE, timeout=10) as reply:
        assert reply.headers["content-type"].startswith("text/event-stream")
        for line in reply.iter_lines():
            if not line.startswith("data: "):
                continue
            out.append(json.loads(line[len("data: ") :]))
            data = out[-1]["params"]["data"]
            if (
                until_interrupt
                and out[-1]["method"] == "lifecycle"
                and data["event"] == "interrupted"
            ):
                break
    return out


def test_subgraphs_are_discovered_remotely_as_locally(server_url: str) -> None:
    with agents.nested.stream_events({"log": []}, version="v3") as local:
        local_names = [s.graph_name for s in local.subgraphs]
        local_output = local.output
    with _graph(server_url, "nested").stream_events({"log": []}, version="v3") as run:
        names = [s.graph_name for s in run.subgraphs]
        assert run.output == local_output
    assert names == local_names == ["inner"]
    with _graph(server_url, "nested").stream_events({"log": []}, version="v3") as run:
        inner = [e for e in _events(run) if e["params"]["namespace"]]
    started = [e for e in inner if e["method"] == "lifecycle"]
    assert [e["params"]["data"]["event"] for e in started] == ["started", "completed"]
    assert started[0]["params"]["namespace"][0].startswith("inner:")
    assert started[0]["params"]["data"]["graph_name"] == "inner"


def test_a_failing_run_ends_failed_with_its_error(server_url: str) -> None:
    with _graph(server_url, "failing").stream_events({"log": []}, version="v3") as run:
        events = _events(run)
        with pytest.raises(RuntimeError, match="the node exploded"):
            _ = run.output
    assert events[-1]["params"]["data"]["event"] == "failed"
    assert "ValueError: the node exploded" in events[-1]["params"]["data"]["error"]


def test_the_async_client_reads_the_same_run(server_url: str) -> None:
    async def main() -> Any:
        graph = _graph(server_url, "counter")
        async with await graph.astream_events({"log": []}, version="v3") as run:
            return await run.output()

    assert asyncio.run(main()) == {"log": ["a", "b"]}


def test_the_sdk_thread_stream_starts_and_answers_by_command(server_url: str) -> None:
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=server_url, api_key="alice-key")
    thread_id = str(uuid.uuid4())
    with client.threads.stream(thread_id=thread_id, assistant_id="asker") as thread:
        started = thread.run.start(input={"log": []})
        assert started["run_id"]
        for _ in thread.values:
            pass  # ends when the run pauses
        assert thread.interrupted
        thread.run.respond("Grace")
        assert thread.output["answer"] == "Grace"
    state = client.threads.get_state(thread_id)
    assert state["values"]["log"] == ["a", "hello Grace"]
    client.http.client.close()


def _post(server_url: str, path: str, body: Any, headers: dict[str, str] = ALICE) -> Any:
    return httpx.post(f"{server_url}{path}", json=body, headers=headers, timeout=10)


def test_commands_answer_bad_input_with_protocol_errors(server_url: str) -> None:
    thread = f"/threads/{uuid.uuid4()}/commands"
    bad = _post(server_url, thread, {"method": "run.start"})
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_argument"
    unknown = _post(server_url, thread, {"id": 1, "method": "run.stop", "params": {}})
    assert unknown.json() == {
        "type": "error",
        "id": 1,
        "error": "unknown_command",
        "message": "unknown command 'run.stop'",
        "detail": "unknown command 'run.stop'",
        "code": "unknown_command",
    }
    missing = _post(server_url, thread, {"id": 2, "method": "run.start", "params": {}})
    assert missing.json()["error"] == "invalid_argument"
    absent = _post(
        server_url, thread, {"id": 3, "method": "run.start", "params": {"assistant_id": "nope"}}
    )
    assert absent.json()["type"] == "error"
    inject = _post(server_url, thread, {"id": 4, "method": "input.inject", "params": {}})
    assert inject.json()["error"] == "not_supported"
    limit = {"assistant_id": "counter", "config": {"recursion_limit": 0}}
    refused = _post(server_url, thread, {"id": 6, "method": "run.start", "params": limit}).json()
    assert refused["error"] == "invalid_argument" and "recursion_limit" in refused["message"]
    respond = {"interrupt_id": "x", "response": 1, "namespace": []}
    nothing = _post(server_url, thread, {"id": 5, "method": "input.respond", "params": respond})
    assert nothing.json()["error"] == "no_such_run"  # no such thread


def test_the_event_stream_filters_replays_after_since_and_checks_its_request(
    server_url: str,
) -> None:
    thread_id = str(uuid.uuid4())
    start = {"id": 1, "method": "run.start", "params": {"assistant_id": "counter", "input": {}}}
    assert _post(server_url, f"/threads/{thread_id}/commands", start).json()["type"] == "success"
    path = f"/threads/{thread_id}/stream/events"

    def read(body: dict[str, Any]) -> list[dict[str, Any]]:
        return _read(server_url, thread_id, body)

    everything = read({"channels": ["values", "lifecycle"]})
    assert {e["method"] for e in everything} == {"values", "lifecycle"}
    later = read({"channels": ["values", "lifecycle"], "since": everything[1]["seq"]})
    assert later == everything[2:]
    assert read({"channels": ["lifecycle"], "namespaces": [["step_a"]]}) == []
    state = _post(
        server_url,
        f"/threads/{thread_id}/commands",
        {"id": 2, "method": "state.get", "params": {"namespace": []}},
    ).json()
    assert state["result"]["values"] == {"log": ["a", "b"]}
    history = _post(
        server_url,
        f"/threads/{thread_id}/commands",
        {"id": 3, "method": "state.listCheckpoints", "params": {"limit": 2}},
    ).json()["result"]["checkpoints"]
    assert [c["step"] for c in history] == [2, 1]
    for body, problem in (
        ({"channels": []}, "non-empty"),
        ({"channels": ["values", "gossip"]}, "unsupported channels"),
        ({"channels": ["values"], "since": -1}, "since"),
        ({"channels": ["values"], "namespaces": "x"}, "namespaces"),
    ):
        reply = _post(server_url, path, body)
        assert reply.status_code == 400 and problem in reply.json()["detail"]
    assert _post(server_url, path, {"channels": ["values"]}, BOB).status_code == 404


def test_the_sdk_streams_over_a_websocket_too(server_url: str) -> None:
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=server_url, api_key="alice-key")
    key = {"x-api-key": "alice-key"}  # the SDK's WebSocket handshake sends only these headers
    with client.threads.stream(
        thread_id=str(uuid.uuid4()), assistant_id="chat", transport="websocket", headers=key
    ) as thread:
        thread.run.start(input={"messages": [{"role": "user", "content": "add 2 and 3"}]})
        assert [str(m.text) for m in thread.messages] == ["", "The sum is 5."]
        assert thread.output["messages"][-1]["content"] == "The sum is 5."
    client.http.client.close()


def test_websocket_commands_and_refusals(server_url: str) -> None:
    from websockets.exceptions import InvalidStatus
    from websockets.sync.client import connect

    thread_id = str(uuid.uuid4())
    start = {
        "id": 1,
        "method": "run.start",
        "params": {"assistant_id": "counter", "input": {"log": []}},
    }
    _post(server_url, f"/threads/{thread_id}/commands", start)
    url = server_url.replace("http://", "ws://") + f"/threads/{thread_id}/stream/events"
    with pytest.raises(InvalidStatus):  # no credentials
        connect(url).close()
    with pytest.raises(InvalidStatus):  # someone else's thread
        connect(url, additional_headers=BOB).close()
    with connect(url, additional_headers=ALICE) as socket:
        socket.send(
            json.dumps(
                {"id": 1, "method": "subscription.subscribe", "params": {"channels": ["gossip"]}}
            )
        )
        assert json.loads(socket.recv())["error"] == "invalid_argument"
        socket.send(json.dumps({"id": 2, "method": "run.start", "params": {}}))
        assert json.loads(socket.recv())["error"] == "unknown_command"
        socket.send(
            json.dumps(
                {"id": 3, "method": "subscription.unsubscribe", "params": {"subscription_id": "x"}}
            )
        )
        assert json.loads(socket.recv())["error"] == "no_such_subscription"
        socket.send(
            json.dumps(
                {"id": 4, "method": "subscription.subscribe", "params": {"channels": ["values"]}}
            )
        )
        reply = json.loads(socket.recv())
        assert reply["type"] == "success" and reply["result"]["subscription_id"]
        values = [
            json.loads(frame)["params"]["data"] for frame in socket
        ]  # closes at the run's end
    assert values == [{"log": []}, {"log": ["a"]}, {"log": ["a", "b"]}]


def test_the_agent_tree_and_a_fork_from_a_checkpoint(server_url: str) -> None:
    thread_id = str(uuid.uuid4())
    commands = f"/threads/{thread_id}/commands"

    def command(ident: int, method: str, params: dict[str, Any]) -> dict[str, Any]:
        reply = _post(server_url, commands, {"id": ident, "method": method, "params": params})
        return reply.json()  # type: ignore[no-any-return]

    started = command(1, "run.start", {"assistant_id": "nested", "input": {"log": []}})
    _read(server_url, thread_id, {"channels": ["lifecycle"]})  # until the run ends
    tree = command(2, "agent.getTree", {"run_id": started["result"]["run_id"]})["result"]["tree"]
    assert (tree["namespace"], tree["status"], tree["graph_name"]) == ([], "completed", "nested")
    [inner] = tree["children"]
    assert inner["graph_name"] == "inner" and inner["status"] == "completed"
    assert inner["namespace"][0].startswith("inner:")
    assert command(3, "agent.getTree", {"run_id": "another"})["error"] == "no_such_run"
    history = command(4, "state.listCheckpoints", {})["result"]["checkpoints"]
    after_a = next(c["id"] for c in history if c["step"] == 1)
    fork = command(5, "state.fork", {"checkpoint_id": after_a})["result"]
    assert fork["thread_id"] == thread_id and fork["run_id"] != started["result"]["run_id"]
    replay = _read(server_url, thread_id, {"channels": ["values"]})
    assert replay[-1]["params"]["data"] == {"log": ["a", "a", "b"]}
    missing = command(6, "state.fork", {"checkpoint_id": "nope"})
    assert missing["error"] == "no_such_checkpoint"


def test_a_run_that_fails_before_its_graph_runs_still_ends_its_stream(server_url: str) -> None:
    thread_id = str(uuid.uuid4())
    params = {
        "assistant_id": "picky",
        "input": {"log": []},
        "config": {"configurable": {"refuse": True}},
    }
    started = _post(
        server_url,
        f"/threads/{thread_id}/commands",
        {"id": 1, "method": "run.start", "params": params},
    )
    assert started.json()["type"] == "success"
    events = _read(server_url, thread_id, {"channels": ["lifecycle"]})  # ends: no hang
    assert [e["params"]["data"]["event"] for e in events] == ["running", "failed"]
    assert "refuses to build the graph" in events[-1]["params"]["data"]["error"]


def test_a_command_waits_for_the_threads_run_to_end_then_refuses_a_busy_thread(
    server_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from hone.server import _api_protocol

    monkeypatch.setattr(_api_protocol, "_SETTLE_SECONDS", 0.2)
    thread_id = str(uuid.uuid4())
    commands = f"/threads/{thread_id}/commands"
    slow = {"assistant_id": "slow", "input": {"log": [], "delay": 1.5}}
    first = _post(server_url, commands, {"id": 1, "method": "run.start", "params": slow})
    assert first.json()["type"] == "success"
    busy = _post(server_url, commands, {"id": 2, "method": "run.start", "params": slow}).json()
    assert busy["type"] == "error" and "already has a run in progress" in busy["message"]
    events = _read(server_url, thread_id, {"channels": ["lifecycle"]})
    assert events[-1]["params"]["data"]["event"] == "completed"  # the first run, untouched
