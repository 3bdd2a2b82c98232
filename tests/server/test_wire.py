"""How local v3 events become wire events, and which subscriptions take them."""

from __future__ import annotations

from typing import Any

from hone.graph import Interrupt
from hone.messages import UserMessage
from hone.server._wire import WireShaper, matches, wire_event


def _local(method: str, data: Any, namespace: tuple[str, ...] = (), **extra: Any) -> Any:
    return {
        "type": "event",
        "method": method,
        "params": {"namespace": list(namespace), "timestamp": 0, "data": data, **extra},
    }


def _brief(events: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (e["method"], e["params"]["namespace"], e["params"]["data"], e["params"].get("node"))
        for e in events
    ]


def test_interrupts_become_input_requests_once_and_leave_the_values() -> None:
    shaper = WireShaper("agent")
    asked = Interrupt(value={"q": "name?"}, id="i1")
    values = shaper.shape(_local("values", {"n": 1, "__interrupt__": (asked,)}))
    assert _brief(values) == [
        (
            "input.requested",
            [],
            {"interrupt_id": "i1", "payload": {"q": "name?"}, "value": {"q": "name?"}},
            None,
        ),
        ("values", [], {"n": 1}, None),
    ]
    again = shaper.shape(_local("updates", {"__interrupt__": (asked,)}))
    assert again == []  # reported once
    assert _brief(shaper.finish(interrupted=True)) == [
        ("lifecycle", [], {"event": "interrupted", "graph_name": "agent"}, None)
    ]


def test_updates_split_per_node_and_payloads_become_json() -> None:
    shaper = WireShaper("agent")
    update = {"a": {"messages": [UserMessage(content="hi", id="m1")]}, "b": {"n": 2}}
    [first, second] = _brief(shaper.shape(_local("updates", update, ("sub:1",))))
    assert first[0] == "updates" and first[1] == ["sub:1"] and first[3] == "a"
    assert first[2]["messages"][0]["content"] == "hi" and first[2]["messages"][0]["type"] == "human"
    assert second == ("updates", ["sub:1"], {"n": 2}, "b")


def test_lifecycle_moves_to_the_subgraphs_namespace_and_custom_is_wrapped() -> None:
    shaper = WireShaper("agent")
    started = {"event": "started", "namespace": ["inner:7"], "graph_name": "inner"}
    assert _brief(shaper.shape(_local("lifecycle", started))) == [
        ("lifecycle", ["inner:7"], {"event": "started", "graph_name": "inner"}, None)
    ]
    assert _brief(shaper.shape(_local("custom", {"p": 1}))) == [
        ("custom", [], {"payload": {"p": 1}}, None)
    ]
    assert _brief(shaper.shape(_local("custom:progress", 3))) == [
        ("custom", [], {"name": "progress", "payload": 3}, None)
    ]
    assert shaper.shape(_local("debug", {"step": 1})) == []
    checkpoint = {
        "config": {"configurable": {"checkpoint_id": "c2"}},
        "parent_config": {"configurable": {"checkpoint_id": "c1"}},
        "metadata": {"step": 4, "source": "loop"},
    }
    assert _brief(shaper.shape(_local("checkpoints", checkpoint))) == [
        ("checkpoints", [], {"id": "c2", "step": 4, "source": "loop", "parent_id": "c1"}, None)
    ]
    message = ({"event": "message-start", "role": "ai", "id": "x"}, {"langgraph_node": "model"})
    assert _brief(shaper.shape(_local("messages", message))) == [
        ("messages", [], {"event": "message-start", "role": "ai", "id": "x"}, "model")
    ]
    assert shaper.shape(_local("messages", ({"not": "an event"}, {}))) == []


def test_subscriptions_match_channels_prefixes_and_depth() -> None:
    inner = wire_event("values", ["agent:1", "tools:2"], {})
    assert matches(inner, ["values"])
    assert not matches(inner, ["updates"])
    assert matches(inner, ["values"], [["agent"]])  # a name matches name:task_id
    assert not matches(inner, ["values"], [["agent:9"]])  # a full segment must be equal
    assert matches(inner, ["values"], [["agent"]], depth=1)
    assert not matches(inner, ["values"], [["agent"]], depth=0)
    assert not matches(inner, ["values"], [["other"]])
    named = wire_event("custom", [], {"name": "progress", "payload": 1})
    assert matches(named, ["custom"]) and matches(named, ["custom:progress"])
    assert not matches(named, ["custom:other"])
    asked = wire_event("input.requested", [], {"interrupt_id": "i"})
    assert matches(asked, ["input"]) and not matches(asked, ["values"])
    assert not matches(wire_event("debug", [], {}), ["values", "debug"])


def test_a_thread_log_replays_follows_restarts_and_ends_with_the_run() -> None:
    import asyncio

    from hone.server._thread_events import ThreadEventLogs

    async def main() -> None:
        log = ThreadEventLogs().get("t")
        log.publish(wire_event("lifecycle", [], {"event": "running"}))
        log.publish(wire_event("values", [], {"n": 1}))

        async def read(**kwargs: Any) -> list[tuple[int, str]]:
            got = []
            async for item in log.follow(["values", "lifecycle"], keepalive=5, **kwargs):
                assert item is not None
                got.append((item[0], item[1]))
            return got

        reader = asyncio.create_task(read())
        late = asyncio.create_task(read(since=1))
        await asyncio.sleep(0)
        log.publish(wire_event("updates", [], {"n": 2}))  # not subscribed: skipped
        log.publish(wire_event("lifecycle", [], {"event": "completed"}))
        assert await reader == [(1, "lifecycle"), (2, "values"), (4, "lifecycle")]
        assert await late == [(2, "values"), (4, "lifecycle")]
        log.start_run()  # the next run: earlier events go, seq goes on
        log.publish(wire_event("values", [], {"n": 3}))
        log.publish(wire_event("lifecycle", [], {"event": "failed", "error": "x"}))
        assert await read() == [(5, "values"), (6, "lifecycle")]

    asyncio.run(main())


def test_a_thread_log_keeps_the_newer_half_past_its_limit() -> None:
    import asyncio

    from hone.server._thread_events import ThreadEventLog

    async def main() -> None:
        log = ThreadEventLog(limit=4)
        seen: list[int] = []

        async def read() -> None:
            async for item in log.follow(["values", "lifecycle"], keepalive=5):
                assert item is not None
                seen.append(item[0])

        reader = asyncio.create_task(read())
        for n in range(3):
            log.publish(wire_event("values", [], {"n": n}))
        await asyncio.sleep(0)  # the reader reads 1..3
        for n in range(3, 6):
            log.publish(wire_event("values", [], {"n": n}))  # 5 kept > 4: the older half goes
        log.publish(wire_event("lifecycle", [], {"event": "completed"}))
        await reader
        assert len(log.events) <= 4
        assert seen == sorted(seen) and seen[:3] == [1, 2, 3] and seen[-1] == 7
        assert [seq for seq, _, _ in log.events][-1] == 7

    asyncio.run(main())
