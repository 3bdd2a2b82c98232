"""Bad input gets a precise HTTP error with a JSON body — never a 500, never another user's
data."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from langgraph_sdk.client import SyncLangGraphClient
from langgraph_sdk.errors import (
    AuthenticationError,
    ConflictError,
    NotFoundError,
    UnprocessableEntityError,
)

from hone.server import running_server

from .conftest import make_config


@pytest.fixture
def raw(server_url: str) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server_url, headers={"x-api-key": "alice-key"}) as client:
        yield client


def _error(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert body["code"] == code, body
    assert isinstance(body["detail"], str) and body["detail"]
    return str(body["detail"])


def test_unknown_ids_are_404(raw: httpx.Client) -> None:
    missing = str(uuid.uuid4())
    assert "thread" in _error(raw.get(f"/threads/{missing}"), 404, "thread_not_found")
    _error(raw.get(f"/threads/{missing}/state"), 404, "thread_not_found")
    _error(raw.get(f"/assistants/{missing}"), 404, "assistant_not_found")
    tid = raw.post("/threads", json={}).json()["thread_id"]
    _error(raw.get(f"/threads/{tid}/runs/{missing}"), 404, "run_not_found")
    _error(raw.get(f"/threads/{tid}/runs/{missing}/join"), 404, "run_not_found")
    _error(
        raw.post(f"/threads/{missing}/runs/wait", json={"assistant_id": "counter"}),
        404,
        "thread_not_found",
    )
    _error(
        raw.post(f"/threads/{tid}/runs", json={"assistant_id": "nope", "input": {}}),
        404,
        "assistant_not_found",
    )
    _error(raw.get(f"/threads/{tid}/state/{missing}"), 404, "checkpoint_not_found")
    raw.post(f"/threads/{tid}/runs/wait", json={"assistant_id": "counter", "input": {}})
    _error(raw.get(f"/threads/{tid}/state/{missing}"), 404, "checkpoint_not_found")


def test_resuming_a_thread_that_is_not_interrupted(alice: SyncLangGraphClient) -> None:
    tid = alice.threads.create()["thread_id"]
    with pytest.raises(httpx.HTTPStatusError) as caught:  # wait() raises httpx's error
        alice.runs.wait(tid, "asker", command={"resume": "x"})
    assert caught.value.response.status_code == 409
    assert caught.value.response.json()["code"] == "thread_not_interrupted"
    alice.runs.wait(tid, "counter", input={"log": []})
    with pytest.raises(ConflictError, match="nothing to resume"):
        alice.runs.create(tid, "counter", command={"resume": "x"})
    assert alice.runs.list(tid)[0]["status"] == "success"


def test_malformed_commands_and_bodies(raw: httpx.Client) -> None:
    tid = raw.post("/threads", json={}).json()["thread_id"]
    url = f"/threads/{tid}/runs"
    for body in (
        {"assistant_id": "asker", "command": {}},
        {"assistant_id": "asker", "command": {"resum": 1}},
        {"assistant_id": "asker", "command": "resume"},
        {"assistant_id": "asker", "command": {"goto": 5}},
        {"assistant_id": "asker", "input": {"log": []}, "command": {"resume": 1}},
        {"assistant_id": "counter", "stream_mode": "everything"},
        {"assistant_id": "counter", "interrupt_before": ["no_such_node"]},
        {"assistant_id": "counter", "config": {"recursion_limit": 0}},
        {},
    ):
        _error(raw.post(url, json=body), 422, "invalid_request")
    hook = {"assistant_id": "counter", "webhook": "http://example.invalid/hook"}
    _error(raw.post(url, json=hook), 422, "unsupported")
    _error(
        raw.post(url, content=b"{not json", headers={"content-type": "application/json"}),
        422,
        "invalid_request",
    )
    _error(raw.post("/threads/search", json={"limit": -1}), 422, "invalid_request")
    _error(raw.post("/threads", json={"ttl": 5}), 422, "unsupported")
    _error(
        raw.put("/store/items", json={"namespace": ["alice", "a.b"], "key": "k", "value": {}}),
        422,
        "invalid_store_request",
    )
    _error(raw.get(f"/threads/{tid}/runs", params={"limit": "lots"}), 422, "invalid_request")


def test_reject_a_second_run_on_a_busy_thread(alice: SyncLangGraphClient) -> None:
    tid = alice.threads.create()["thread_id"]
    first = alice.runs.create(tid, "slow", input={"log": [], "delay": 0.5})
    with pytest.raises(ConflictError, match="already has a run in progress"):
        alice.runs.create(tid, "counter", input={"log": []}, multitask_strategy="reject")
    assert alice.runs.join(tid, first["run_id"])["log"] == ["waited", "b"]
    assert [r["run_id"] for r in alice.runs.list(tid)] == [first["run_id"]]


def test_oversized_body_is_413(raw: httpx.Client) -> None:
    big = {"assistant_id": "counter", "input": {"log": ["x" * (11 * 2**20)]}}
    tid = raw.post("/threads", json={}).json()["thread_id"]
    _error(raw.post(f"/threads/{tid}/runs", json=big), 413, "payload_too_large")

    def chunks() -> Iterator[bytes]:
        yield b'{"assistant_id": "counter", "input": {"log": ["'
        for _ in range(12):
            yield b"y" * 2**20
        yield b'"]}}'

    response = raw.post(
        f"/threads/{tid}/runs", content=chunks(), headers={"content-type": "application/json"}
    )
    _error(response, 413, "payload_too_large")
    assert raw.get(f"/threads/{tid}/runs").json() == []


def test_missing_and_wrong_api_keys_are_401(server_url: str) -> None:
    with httpx.Client(base_url=server_url) as anonymous:
        _error(anonymous.post("/threads/search", json={}), 401, "missing_api_key")
        _error(anonymous.get("/threads/x", headers={"x-api-key": "guess"}), 401, "invalid_api_key")
        _error(
            anonymous.get("/threads/x", headers={"authorization": "Bearer guess"}),
            401,
            "invalid_api_key",
        )
        for open_path in ("/ok", "/info", "/openapi.json"):
            assert anonymous.get(open_path).status_code == 200
        _error(anonymous.get("/assistants/counter/schemas"), 401, "missing_api_key")
        _error(anonymous.put("/store/items", json={}), 401, "missing_api_key")
        made = anonymous.post("/threads", json={}, headers={"authorization": "Bearer alice-key"})
        assert made.status_code == 200


def test_another_users_thread_is_invisible(
    alice: SyncLangGraphClient, bob: SyncLangGraphClient
) -> None:
    thread = alice.threads.create(metadata={"secret": "alice's"})
    tid = thread["thread_id"]
    run = alice.runs.create(tid, "counter", input={"log": []})
    alice.runs.join(tid, run["run_id"])
    for attempt in (
        lambda: bob.threads.get(tid),
        lambda: bob.threads.get_state(tid),
        lambda: bob.threads.get_history(tid),
        lambda: bob.threads.update(tid, metadata={"x": 1}),
        lambda: bob.threads.update_state(tid, {"log": ["evil"]}),
        lambda: bob.threads.delete(tid),
        lambda: bob.runs.list(tid),
        lambda: bob.runs.get(tid, run["run_id"]),
        lambda: bob.runs.cancel(tid, run["run_id"]),
        lambda: bob.runs.delete(tid, run["run_id"]),
        lambda: bob.runs.create(tid, "counter", input={"log": []}),
    ):
        with pytest.raises(NotFoundError):
            attempt()
    for waiting in (
        lambda: bob.runs.join(tid, run["run_id"]),
        lambda: bob.runs.wait(tid, "counter", input={"log": []}),
    ):
        with pytest.raises(httpx.HTTPStatusError) as caught:
            waiting()
        assert caught.value.response.status_code == 404
    assert bob.threads.search(metadata={"secret": "alice's"}) == []
    assert bob.threads.search(ids=[tid]) == []
    with pytest.raises(ConflictError):
        bob.threads.create(thread_id=tid, if_exists="do_nothing")
    assert alice.threads.get(tid)["metadata"] == {"secret": "alice's"}
    assert alice.threads.get_state(tid)["values"] == {"log": ["a", "b"]}


def test_cancelling_a_finished_run_is_409(alice: SyncLangGraphClient) -> None:
    tid = alice.threads.create()["thread_id"]
    run = alice.runs.create(tid, "counter", input={"log": []})
    alice.runs.join(tid, run["run_id"])
    with pytest.raises(ConflictError, match="only active runs"):
        alice.runs.cancel(tid, run["run_id"])
    busy = alice.runs.create(tid, "slow", input={"log": [], "delay": 0.3})
    with pytest.raises(ConflictError, match="cancel it first"):
        alice.runs.delete(tid, busy["run_id"])
    with pytest.raises(ConflictError, match="run in progress"):
        alice.threads.update_state(tid, {"log": ["x"]}, as_node="step_a")
    alice.runs.join(tid, busy["run_id"])
    deadline = time.monotonic() + 5
    while alice.threads.get(tid)["status"] == "busy":
        assert time.monotonic() < deadline
        time.sleep(0.02)


def test_state_update_mistakes_are_422(alice: SyncLangGraphClient) -> None:
    tid = alice.threads.create()["thread_id"]
    with pytest.raises(ConflictError, match="no graph yet"):
        alice.threads.update_state(tid, {"log": ["x"]})
    alice.runs.wait(tid, "counter", input={"log": []})
    with pytest.raises(UnprocessableEntityError):
        alice.threads.update_state(tid, {"log": ["x"]}, as_node="no_such_node")


def test_sdk_raises_typed_errors(server_url: str) -> None:
    from langgraph_sdk import get_sync_client

    client = get_sync_client(url=server_url, api_key="nobody")
    with pytest.raises(AuthenticationError, match="invalid API key"):
        client.threads.search()


def test_json_that_cannot_be_kept_is_422(raw: httpx.Client) -> None:
    tid = raw.post("/threads", json={}).json()["thread_id"]
    deep = "[" * 150 + "]" * 150
    for text in (
        '{"assistant_id": "counter", "input": {"log": ' + deep + "}}",
        '{"assistant_id": "counter", "input": {"log": [NaN]}}',
        '{"assistant_id": "counter", "metadata": {"x": -Infinity}}',
    ):
        answer = raw.post(
            f"/threads/{tid}/runs", content=text, headers={"content-type": "application/json"}
        )
        detail = _error(answer, 422, "invalid_request")
        assert "deeper than 100 levels" in detail or "not a JSON number" in detail
    answer = raw.put(
        "/store/items",
        content='{"namespace": ["alice"], "key": "k", "value": {"v": ' + deep + "}}",
        headers={"content-type": "application/json"},
    )
    _error(answer, 422, "invalid_request")
    assert raw.get(f"/threads/{tid}/runs").json() == []


def test_a_state_too_deep_for_json_is_still_served(tmp_path: Path) -> None:
    with (
        running_server(
            make_config(str(tmp_path / "d.db"), graphs={"deep": "agents.py:deep"})
        ) as url,
        httpx.Client(base_url=url, headers={"x-api-key": "alice-key"}) as client,
    ):
        tid = client.post("/threads", json={}).json()["thread_id"]
        out = client.post(
            f"/threads/{tid}/runs/wait", json={"assistant_id": "deep", "input": {"log": []}}
        ).json()
        depth, value = 0, out["log"]
        while isinstance(value, list):
            depth, value = depth + 1, value[0]
        assert value == "<nested deeper than 100 levels>" and depth > 90
        for path in ("", "/state", "/runs"):
            assert client.get(f"/threads/{tid}{path}").status_code == 200
        assert client.post(f"/threads/{tid}/history", json={}).status_code == 200


def test_a_run_the_server_fails_to_finish_ends_in_error(
    alice: SyncLangGraphClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hone.server._runs as runs

    def broken(snapshot: object) -> object:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(runs, "run_output", broken)
    tid = alice.threads.create()["thread_id"]
    parts = list(alice.runs.stream(tid, "counter", input={"log": []}))
    error = next(p for p in parts if p.event == "error")
    assert error.data["error"] == "InternalError" and "disk on fire" in error.data["message"]
    assert parts[-1].event == "end"
    with pytest.raises(Exception, match="disk on fire"):
        alice.runs.wait(tid, "counter", input={"log": []})
    assert [r["status"] for r in alice.runs.list(tid)] == ["error", "error"]
    assert alice.threads.get(tid)["status"] == "error"


def test_nul_characters_are_422(raw: httpx.Client) -> None:
    tid = raw.post("/threads", json={}).json()["thread_id"]
    for body in ({"metadata": {"a": "x\x00y"}}, {"metadata": {"k\x00": 1}}):
        assert "NUL" in _error(raw.post("/threads", json=body), 422, "invalid_request")
    assert "NUL" in _error(raw.get("/threads/a%00b"), 422, "invalid_request")
    _error(raw.get(f"/threads/{tid}/history", params={"before": "x\x00"}), 422, "invalid_request")


def test_metadata_filters_take_any_key(alice: SyncLangGraphClient) -> None:
    odd = {'say "hi"': 1, "a.b": [1, {"c": None}], "$[0]": "x", "é\\": True}
    tid = alice.threads.create(metadata=odd)["thread_id"]
    for key, value in odd.items():
        assert [t["thread_id"] for t in alice.threads.search(metadata={key: value})] == [tid]
    assert alice.threads.search(metadata={'say "hi"': 2}) == []
    assert alice.threads.search(metadata={"missing": None}) == []
