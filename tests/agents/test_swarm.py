"""``create_swarm``: routing to the active agent, memory across turns and inside a parent
graph, handoffs under parallel calls, input filters, budgets and loops, interrupts inside a
nested swarm, streaming, drawing, misconfiguration and per-role rollouts."""

from __future__ import annotations

import json
import re
import warnings
from pathlib import Path
from typing import Any

import pytest

from hone.agents import (
    Budget,
    create_handoff_agent,
    create_handoff_tool,
    create_swarm,
    remove_tool_messages,
    roles_of,
)
from hone.checkpoint import InMemorySaver
from hone.errors import ConfigError, GraphWarning
from hone.graph import END, START, Command, MessagesState, StateGraph, draw_mermaid, interrupt
from hone.graph.prebuilt import create_react_agent
from hone.messages import AssistantMessage, ToolMessage
from hone.models import ScriptedModel
from hone.tools import tool
from hone.trajectory import graph_program, rollout


def call(name: str, **args: object) -> str:
    """A Hermes tool call, as a model writes it."""
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': args})}\n</tool_call>"


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first.
        b: The second.
    """
    return a + b


def _pair(
    alice: list[str], bob: list[str], **swarm: Any
) -> tuple[Any, ScriptedModel, ScriptedModel]:
    ma, mb = ScriptedModel(alice or ["unused"]), ScriptedModel(bob or ["unused"])
    a = create_handoff_agent(
        ma, [add, create_handoff_tool(agent_name="bob")], name="alice", prompt="Alice."
    )
    b = create_handoff_agent(
        mb, [create_handoff_tool(agent_name="alice")], name="bob", prompt="Bob."
    )
    return create_swarm([a, b], default_active_agent="alice", **swarm), ma, mb


def _config(thread: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


async def test_handoff_then_the_active_agent_answers_the_next_turn() -> None:
    swarm, ma, mb = _pair(
        [call("transfer_to_bob")], ["I am Bob.", "Still Bob."], checkpointer=InMemorySaver()
    )
    out = await swarm.ainvoke({"messages": [("user", "talk to bob")]}, _config())
    assert [(m.role, m.name) for m in out["messages"]] == [
        ("user", None),
        ("assistant", "alice"),
        ("tool", "transfer_to_bob"),
        ("assistant", "bob"),
    ]
    assert out["active_agent"] == "bob" and out["handoff"].target == "bob"
    assert out["usage"].finished and out["usage"].handoffs == 1
    out = await swarm.ainvoke({"messages": [("user", "again")]}, _config())
    assert out["messages"][-1].text == "Still Bob." and (ma.calls, mb.calls) == (1, 2)
    assert out["usage"].turns == 1  # a new run counts afresh


async def test_active_agent_in_the_input_chooses_who_answers() -> None:
    swarm, ma, _mb = _pair([], ["Bob here."])
    out = await swarm.ainvoke({"messages": [("user", "hi")], "active_agent": "bob"})
    assert out["messages"][-1].name == "bob" and ma.calls == 0


async def test_a_swarm_inside_a_parent_graph_remembers_its_active_agent() -> None:
    """langgraph-swarm #29: as a subgraph the swarm forgot and went back to its default."""
    swarm, ma, _mb = _pair([call("transfer_to_bob")], ["Bob.", "Bob again."])
    parent = StateGraph(MessagesState)  # no active_agent key: it cannot carry it
    parent.add_node("team", swarm)
    parent.add_edge(START, "team")
    parent.add_edge("team", END)
    graph = parent.compile(InMemorySaver())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphWarning)  # the parent drops the swarm's own keys
        await graph.ainvoke({"messages": [("user", "bob please")]}, _config())
        out = await graph.ainvoke({"messages": [("user", "and again")]}, _config())
    assert out["messages"][-1].name == "bob" and out["messages"][-1].text == "Bob again."
    assert ma.calls == 1


async def test_parallel_calls_in_a_swarm_keep_a_valid_history() -> None:
    swarm, _, _mb = _pair(
        [call("add", a=1, b=2) + call("transfer_to_bob") + call("transfer_to_alice")],
        ["Bob."],
    )
    out = await swarm.ainvoke({"messages": [("user", "go")]})
    reply = out["messages"][1]
    results = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert [r.tool_call_id for r in results] == [c.id for c in reply.tool_calls]
    assert [r.text for r in results][:2] == ["3", "Transferred to bob."]
    assert results[2].is_error  # alice has no handoff to herself: an unknown agent
    assert out["messages"][-1].name == "bob"


async def test_handoff_messages_off_removes_the_transfer_from_history() -> None:
    swarm, _, mb = _pair([call("transfer_to_bob")], ["Bob."], handoff_messages=False)
    out = await swarm.ainvoke({"messages": [("user", "hi")]})
    assert [(m.role, m.name) for m in out["messages"]] == [("user", None), ("assistant", "bob")]
    assert [m.role for m in mb.requests[0].messages] == ["system", "user"]


async def test_input_filter_decides_what_the_target_sees() -> None:
    ma = ScriptedModel([call("add", a=1, b=2), call("transfer_to_bob")])
    mb = ScriptedModel(["Bob."])
    alice = create_handoff_agent(
        ma,
        [add, create_handoff_tool(agent_name="bob", input_filter=remove_tool_messages)],
        name="alice",
    )
    bob = create_handoff_agent(mb, [], name="bob")
    swarm = create_swarm([alice, bob], default_active_agent="alice")
    out = await swarm.ainvoke({"messages": [("user", "hi")]})
    assert [m.role for m in mb.requests[0].messages] == ["user"]  # no tool traffic
    assert sum(isinstance(m, ToolMessage) for m in out["messages"]) == 2  # the history keeps it


async def test_ping_pong_is_detected_and_ends_with_a_final_answer() -> None:
    ma = ScriptedModel([call("transfer_to_bob"), call("transfer_to_bob"), "Sorry, I could not."])
    mb = ScriptedModel([call("transfer_to_alice")])
    alice = create_handoff_agent(ma, [create_handoff_tool(agent_name="bob")], name="alice")
    bob = create_handoff_agent(mb, [create_handoff_tool(agent_name="alice")], name="bob")
    swarm = create_swarm([alice, bob], default_active_agent="alice", budget=Budget(max_revisits=1))
    out = await swarm.ainvoke({"messages": [("user", "?")]})
    stop = out["usage"].stop
    # alice → bob, bob → alice (a revisit), alice → bob (a second one): refused.
    assert stop is not None and stop.limit == "loop" and stop.agent == "alice"
    last = out["messages"][-1]
    assert isinstance(last, AssistantMessage) and last.name == "alice" and not last.tool_calls
    assert last.text == "Sorry, I could not."
    assert ma.requests[-1].tools == ()  # the final answer withholds tools
    refused = [m for m in out["messages"] if isinstance(m, ToolMessage) and m.is_error]
    assert len(refused) == 1 and "limit" in refused[0].text
    assert (ma.calls, mb.calls) == (3, 1)


async def test_handoff_budget_ends_the_run_with_an_answer() -> None:
    swarm, _, _ = _pair(
        [call("transfer_to_bob")], ["Bob answers within budget."], budget=Budget(max_handoffs=1)
    )
    out = await swarm.ainvoke({"messages": [("user", "go")]})
    assert out["usage"].stop is None and out["messages"][-1].name == "bob"
    swarm, _, mb = _pair(
        [call("transfer_to_bob")],
        [call("transfer_to_alice"), "Bob, out of handoffs."],
        budget=Budget(max_handoffs=1),
    )
    out = await swarm.ainvoke({"messages": [("user", "go")]})
    assert out["usage"].stop.limit == "handoffs"
    assert out["messages"][-1].name == "bob"  # bob's handoff was refused: bob answers
    assert out["messages"][-1].text == "Bob, out of handoffs." and mb.requests[-1].tools == ()


@tool
def approve(amount: int) -> str:
    """Ask a human to approve a payment.

    Args:
        amount: The amount.
    """
    return f"approved: {interrupt({'amount': amount})}"


async def test_interrupt_inside_a_nested_swarm_resumes_exactly_once() -> None:
    ma = ScriptedModel([call("transfer_to_bob")])
    mb = ScriptedModel([call("approve", amount=5), "Paid 5."])
    alice = create_handoff_agent(ma, [create_handoff_tool(agent_name="bob")], name="alice")
    bob = create_handoff_agent(mb, [approve], name="bob")
    swarm = create_swarm([alice, bob], default_active_agent="alice")
    parent = StateGraph(MessagesState)
    parent.add_node("team", swarm)
    parent.add_edge(START, "team")
    graph = parent.compile(InMemorySaver())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", GraphWarning)
        paused = await graph.ainvoke({"messages": [("user", "pay 5")]}, _config())
        assert paused["__interrupt__"][0].value == {"amount": 5}
        assert (ma.calls, mb.calls) == (1, 1)
        out = await graph.ainvoke(Command(resume="yes"), _config())
    assert out["messages"][-1].text == "Paid 5."
    assert (ma.calls, mb.calls) == (1, 2)  # no model call ran twice
    assert "approved: yes" in [m.text for m in out["messages"] if isinstance(m, ToolMessage)]


async def test_agents_tokens_stream_with_subgraphs() -> None:
    swarm, _, _ = _pair(["Hello from Alice."], [])
    chunks = [
        chunk.content
        async for _, (chunk, _meta) in swarm.astream(
            {"messages": [("user", "hi")]}, stream_mode="messages", subgraphs=True
        )
        if type(chunk).__name__ == "AssistantMessageChunk"
    ]
    assert "".join(chunks) == "Hello from Alice."


def test_drawing_shows_the_handoffs() -> None:
    swarm, _, _ = _pair([], [])
    text = draw_mermaid(swarm)
    for edge in (
        "__start__ -.-> alice",
        "__start__ -.-> bob",
        "alice -.-> bob",
        "bob -.-> alice",
        "final_answer --> __end__",
    ):
        assert edge in text


async def test_a_plain_agent_answers_and_cannot_hand_off() -> None:
    plain = create_react_agent(ScriptedModel(["plain answer"]), [], name="helper", role="helper")
    ma = ScriptedModel([call("transfer_to_helper")])
    alice = create_handoff_agent(ma, [create_handoff_tool(agent_name="helper")], name="alice")
    out = await create_swarm([alice, plain], default_active_agent="alice").ainvoke(
        {"messages": [("user", "hi")]}
    )
    assert out["messages"][-1].name == "helper" and out["active_agent"] == "helper"


def test_misconfigured_swarms_fail_at_build_time() -> None:
    a = create_handoff_agent(None, [create_handoff_tool(agent_name="b")], name="a")
    b = create_handoff_agent(None, [], name="b")
    with pytest.raises(ConfigError, match="at least one agent"):
        create_swarm([], default_active_agent="a")
    with pytest.raises(ConfigError, match="named 'a'"):
        create_swarm([a, create_handoff_agent(None, [], name="a")], default_active_agent="a")
    with pytest.raises(ConfigError, match="not one of the agents"):
        create_swarm([a, b], default_active_agent="c")
    with pytest.raises(ConfigError, match="not in the team"):
        create_swarm([a], default_active_agent="a")
    unnamed = StateGraph(MessagesState)
    unnamed.add_node("x", lambda s: {})
    unnamed.add_edge(START, "x")
    with pytest.raises(ConfigError, match="has no name"):
        create_swarm([a, b, unnamed.compile()], default_active_agent="a")
    hidden = create_react_agent(None, [create_handoff_tool(agent_name="a")], name="c")
    with pytest.raises(ConfigError, match="not built by create_handoff_agent"):
        create_swarm([a, b, hidden], default_active_agent="a")
    with pytest.raises(ConfigError, match="own node"):
        create_swarm(
            [a, b, create_handoff_agent(None, [], name="final_answer")], default_active_agent="a"
        )


async def test_rollout_records_one_episode_per_agent() -> None:
    a = create_handoff_agent(None, [add, create_handoff_tool(agent_name="b")], name="a")
    b = create_handoff_agent(None, [], name="b")
    swarm = create_swarm([a, b], default_active_agent="a")
    assert roles_of(swarm) == ("a", "b")
    policy = ScriptedModel([call("add", a=1, b=1), call("transfer_to_b"), "two"])
    episodes = {
        e.role: e
        for e in await rollout(graph_program(swarm), "1+1?", policy, roles=roles_of(swarm))
    }
    assert [c.role for c in episodes["a"].calls] == ["a", "a"]
    assert [c.role for c in episodes["b"].calls] == ["b"]
    assert episodes["b"].stop_reason == "answered"
    assert all(e.status == "ok" for e in episodes.values())


async def test_guardrails_run_at_the_handoff_target() -> None:
    from hone.agents import GuardrailResult, Guardrails

    def no_refunds(messages: list[Any]) -> GuardrailResult:
        if any("refund" in m.text for m in messages):
            return GuardrailResult.reject("Bob does not do refunds.")
        return GuardrailResult.allow()

    ma = ScriptedModel([call("transfer_to_bob")])
    mb = ScriptedModel(["unused"])
    alice = create_handoff_agent(ma, [create_handoff_tool(agent_name="bob")], name="alice")
    bob = create_handoff_agent(
        mb,
        [add],
        name="bob",
        guardrails=Guardrails(input=[no_refunds], allowed_tools={"bob": ["add"]}),
    )
    out = await create_swarm([alice, bob], default_active_agent="alice").ainvoke(
        {"messages": [("user", "I want a refund")]}
    )
    last = out["messages"][-1]
    assert last.name == "bob" and last.text == "Bob does not do refunds." and mb.calls == 0
    assert out["active_agent"] == "bob"


def test_the_docs_picture_is_the_swarms_drawing() -> None:

    docs = Path(__file__).resolve().parents[2] / "docs" / "patterns.md"
    section = docs.read_text(encoding="utf-8").split("## Swarm")[1]
    drawn = re.search(r"```mermaid\n(.*?)```", section, re.DOTALL)
    assert drawn is not None
    alice = create_handoff_agent(None, [create_handoff_tool(agent_name="bob")], name="alice")
    bob = create_handoff_agent(None, [create_handoff_tool(agent_name="alice")], name="bob")
    expected = draw_mermaid(create_swarm([alice, bob], default_active_agent="alice"))
    assert drawn.group(1).strip() == expected.strip()


async def test_the_budget_not_the_recursion_limit_ends_a_long_run() -> None:
    ma = ScriptedModel([call("add", a=1, b=1) + call("transfer_to_bob")], when_exhausted="cycle")
    mb = ScriptedModel([call("transfer_to_alice")], when_exhausted="cycle")
    alice = create_handoff_agent(ma, [add, create_handoff_tool(agent_name="bob")], name="alice")
    bob = create_handoff_agent(mb, [create_handoff_tool(agent_name="alice")], name="bob")
    budget = Budget(max_turns=None, max_handoffs=30, max_revisits=None)
    out = await create_swarm([alice, bob], default_active_agent="alice", budget=budget).ainvoke(
        {"messages": [("user", "go")]}
    )
    assert out["usage"].handoffs == 30 and out["usage"].stop.limit == "handoffs"
    assert not out["messages"][-1].tool_calls  # the final answer
