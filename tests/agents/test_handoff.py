"""Handoff tools and the semantics of one turn's calls (``plan_turn``), and ``create_handoff_agent``,
the member agent that applies them: parallel calls with handoffs, unknown agents, invalid
task arguments, message stripping, input filters, step budgets and message families."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from pydantic import BaseModel

from hone.agent import AgentOptions
from hone.agents import (
    AgentRun,
    HandoffTool,
    create_handoff_agent,
    create_handoff_tool,
    keep_last,
    remove_tool_messages,
    roles_of,
)
from hone.agents._handoff import plan_turn, strip_handoffs
from hone.errors import ConfigError, ToolDefinitionError
from hone.graph import draw_mermaid
from hone.graph.prebuilt import ToolNode
from hone.messages import AssistantMessage, SystemMessage, ToolCall, ToolMessage, UserMessage
from hone.models import ScriptedModel
from hone.tools import ToolContext, tool
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


class Ticket(BaseModel):
    """A typed task."""

    title: str
    priority: int


# -- the tool ---------------------------------------------------------------------------------


def test_default_name_and_description_follow_langgraph() -> None:
    tool_ = create_handoff_tool(agent_name="Billing Team")
    assert tool_.name == "transfer_to_billing_team"
    assert tool_.description == "Ask agent 'Billing Team' for help"
    assert tool_.agent_name == "Billing Team"
    assert tool_.spec()["function"]["parameters"]["properties"] == {}
    assert not tool_.has_task


def test_task_argument_text_and_typed() -> None:
    text = create_handoff_tool(agent_name="bob", task=True)
    assert text.spec()["function"]["parameters"]["required"] == ["task"]
    made = text.handoff(ToolCall(id="c1", name=text.name, arguments={"task": "sum it"}), "alice")
    assert (made.source, made.target, made.task, made.tool_call_id) == (
        "alice",
        "bob",
        "sum it",
        "c1",
    )

    typed = create_handoff_tool(agent_name="ops", task=Ticket, name="open_ticket")
    assert set(typed.spec()["function"]["parameters"]["properties"]) == {"title", "priority"}
    made = typed.handoff(
        ToolCall(name="open_ticket", arguments={"title": "disk", "priority": "2"}), "alice"
    )
    assert json.loads(made.task or "") == {"title": "disk", "priority": 2}
    assert made.arguments == {"title": "disk", "priority": 2}


def test_misconfigured_handoff_tools_fail_at_build_time() -> None:
    with pytest.raises(ConfigError, match="agent_name"):
        create_handoff_tool(agent_name=" ")
    with pytest.raises(ToolDefinitionError):
        create_handoff_tool(agent_name="bob", name="transfer to bob!")


async def test_running_a_handoff_tool_as_an_ordinary_tool_is_an_error_the_model_reads() -> None:
    node = ToolNode([create_handoff_tool(agent_name="bob")])
    turn = AssistantMessage(tool_calls=(ToolCall(id="c", name="transfer_to_bob"),))
    out = await node({"messages": [turn]})
    (result,) = out["messages"]
    assert result.is_error and "hone.agents" in result.text


# -- one turn's semantics (pure) ---------------------------------------------------------------


def _calls(*names: str) -> list[ToolCall]:
    return [ToolCall(id=f"c{i}", name=n, arguments={}) for i, n in enumerate(names)]


def test_first_handoff_wins_and_every_call_is_answered_or_run() -> None:
    bob, carol = create_handoff_tool(agent_name="bob"), create_handoff_tool(agent_name="carol")
    plan = plan_turn(
        _calls("add", "transfer_to_bob", "add", "transfer_to_carol"),
        source="alice",
        handoffs=[bob, carol],
        tool_names={"add"},
    )
    assert [c.id for c in plan.run] == ["c0", "c2"]
    assert plan.handoff is not None and plan.handoff.target == "bob"
    assert set(plan.answers) == {"c1", "c3"}
    assert not plan.answers["c1"].is_error and plan.answers["c1"].text == "Transferred to bob."
    assert plan.answers["c3"].is_error and "already transferred to bob" in plan.answers["c3"].text
    assert plan.rejected == 1


def test_unknown_agent_is_told_the_agents_it_can_reach() -> None:
    bob = create_handoff_tool(agent_name="bob")
    plan = plan_turn(
        _calls("transfer_to_zed", "transfer_to_bob"),
        source="alice",
        handoffs=[bob],
        tool_names=set(),
    )
    assert plan.handoff is not None and plan.handoff.target == "bob"  # the first *valid* one
    refused = plan.answers["c0"]
    assert (
        refused.is_error
        and "no agent 'zed'" in refused.text
        and "bob (transfer_to_bob)" in refused.text
    )
    # A transfer_to_ name that is an ordinary tool of the agent is ordinary.
    plan = plan_turn(
        _calls("transfer_to_zed"), source="a", handoffs=[], tool_names={"transfer_to_zed"}
    )
    assert [c.name for c in plan.run] == ["transfer_to_zed"] and plan.handoff is None


def test_invalid_task_arguments_refuse_the_handoff() -> None:
    bob = create_handoff_tool(agent_name="bob", task=Ticket)
    bad = ToolCall(id="c0", name=bob.name, arguments={"title": "x", "priority": "high"})
    plan = plan_turn([bad], source="a", handoffs=[bob], tool_names=set())
    assert plan.handoff is None and plan.rejected == 1
    assert "priority" in plan.answers["c0"].text and plan.answers["c0"].is_error
    broken = ToolCall(id="c1", name=bob.name, error="bad JSON")
    plan = plan_turn([broken], source="a", handoffs=[bob], tool_names=set())
    assert plan.handoff is None and "bad JSON" in plan.answers["c1"].text


def test_strip_handoffs_keeps_a_valid_history() -> None:
    mixed = AssistantMessage(
        id="a1",
        content="",
        tool_calls=(ToolCall(id="c1", name="add"), ToolCall(id="c2", name="transfer_to_bob")),
    )
    only = AssistantMessage(id="a2", tool_calls=(ToolCall(id="c3", name="transfer_to_bob"),))
    history = [
        UserMessage(content="hi"),
        mixed,
        ToolMessage(content="3", tool_call_id="c1"),
        ToolMessage(content="Transferred to bob.", tool_call_id="c2"),
        only,
        ToolMessage(content="Transferred to bob.", tool_call_id="c3"),
    ]
    kept = strip_handoffs(history, {"transfer_to_bob"})
    assert [m.role for m in kept] == ["user", "assistant", "tool"]
    assert [c.id for c in kept[1].tool_calls] == ["c1"]


def test_input_filters() -> None:
    history = [
        SystemMessage(content="sys"),
        UserMessage(content="q"),
        AssistantMessage(content="", tool_calls=(ToolCall(id="c1", name="add"),)),
        ToolMessage(content="3", tool_call_id="c1"),
        AssistantMessage(content="it is 3"),
    ]
    assert [m.role for m in remove_tool_messages(history)] == ["system", "user", "assistant"]
    # keep_last(2) would start on a tool result: it reaches back to the call.
    assert [m.role for m in keep_last(2)(history)] == ["system", "assistant", "tool", "assistant"]
    with pytest.raises(ConfigError):
        keep_last(0)


# -- create_handoff_agent ------------------------------------------------------------------------------


async def test_parallel_calls_with_handoffs_end_to_end() -> None:
    seen: list[int] = []

    @tool
    def record(n: int, ctx: ToolContext) -> str:
        """Record a number.

        Args:
            n: The number.
        """
        seen.append(n)
        return f"recorded {n}"

    model = ScriptedModel(
        [
            call("record", n=1)
            + call("transfer_to_bob")
            + call("record", n=2)
            + call("transfer_to_carol")
            + call("transfer_to_nobody")
        ]
    )
    handoffs = [create_handoff_tool(agent_name="bob"), create_handoff_tool(agent_name="carol")]
    alice = create_handoff_agent(model, [record, *handoffs], name="alice")
    out = await alice.ainvoke({"messages": [("user", "go")]})
    reply, *results = out["messages"][1:]
    assert reply.name == "alice"
    assert sorted(seen) == [1, 2]  # ordinary tools ran alongside the handoff
    assert [r.tool_call_id for r in results] == [c.id for c in reply.tool_calls]
    assert [r.is_error for r in results] == [False, False, False, True, True]
    run = out["run"]
    assert run.handoff.target == "bob" and run.finished
    assert (run.tool_calls, run.tool_errors, run.rejected_handoffs, run.steps) == (2, 0, 2, 1)
    assert model.calls == 1  # a handoff ends the agent's run


async def test_unknown_agent_is_retried_within_budget_never_a_crash() -> None:
    model = ScriptedModel([call("transfer_to_zed"), call("transfer_to_bob")])
    alice = create_handoff_agent(model, [create_handoff_tool(agent_name="bob")], name="alice")
    out = await alice.ainvoke({"messages": [("user", "go")]})
    assert out["run"].handoff.target == "bob"
    assert out["run"].rejected_handoffs == 1
    second = model.requests[1].messages[-1]
    assert isinstance(second, ToolMessage) and second.is_error and "zed" in second.text


async def test_step_budget_ends_with_a_final_answer_without_tools() -> None:
    model = ScriptedModel([call("add", a=1, b=1), call("add", a=2, b=2), "four"])
    agent = create_handoff_agent(model, [add], name="calc", options=AgentOptions(max_steps=2))
    out = await agent.ainvoke({"messages": [("user", "add")]})
    assert out["messages"][-1].text == "four" and out["run"].stop == "step_budget"
    assert model.requests[-1].tools == ()  # the final-answer turn withholds the tools
    assert out["run"].steps == 3


async def test_a_stop_tool_ends_the_run() -> None:
    model = ScriptedModel([call("add", a=1, b=2)])
    agent = create_handoff_agent(
        model, [add], name="calc", options=AgentOptions(stop_tools=("add",))
    )
    out = await agent.ainvoke({"messages": [("user", "add")]})
    assert out["run"].stop == "stop_tool" and out["messages"][-1].text == "3"


async def test_prompt_merges_with_a_conversations_own_system_message() -> None:
    model = ScriptedModel(["ok"])
    agent = create_handoff_agent(model, name="a", prompt="You are A.")
    await agent.ainvoke({"messages": [("system", "Be brief."), ("user", "hi")]})
    first = model.requests[0].messages[0]
    assert isinstance(first, SystemMessage) and first.text == "You are A.\n\nBe brief."
    assert sum(isinstance(m, SystemMessage) for m in model.requests[0].messages) == 1


async def test_a_new_invoke_starts_a_new_run() -> None:
    from hone.checkpoint import InMemorySaver

    model = ScriptedModel(["one", "two"])
    agent = create_handoff_agent(model, name="a", checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    first = await agent.ainvoke({"messages": [("user", "1")]}, config)
    second = await agent.ainvoke({"messages": [("user", "2")]}, config)
    assert first["run"] == AgentRun(steps=1, tokens=first["run"].tokens, stop="answered")
    assert second["run"].steps == 1  # counted afresh


async def test_langchain_conversations_stay_langchain() -> None:
    messages = pytest.importorskip("langchain_core.messages")
    model = ScriptedModel([call("add", a=1, b=2) + call("transfer_to_bob")])
    agent = create_handoff_agent(model, [add, create_handoff_tool(agent_name="bob")], name="alice")
    out = await agent.ainvoke({"messages": [messages.HumanMessage(content="go")]})
    assert all(isinstance(m, messages.BaseMessage) for m in out["messages"])
    assert out["messages"][1].name == "alice"
    assert [m.status for m in out["messages"][2:]] == ["success", "success"]


def test_create_agent_misconfiguration() -> None:
    with pytest.raises(ConfigError, match="needs a name"):
        create_handoff_agent(None, name="")
    with pytest.raises(ConfigError, match="cannot name a graph node"):
        create_handoff_agent(None, name="a:b")
    with pytest.raises(ConfigError, match="inside a ToolNode"):
        create_handoff_agent(None, ToolNode([create_handoff_tool(agent_name="b")]), name="a")
    twice = [create_handoff_tool(agent_name="b"), create_handoff_tool(agent_name="b")]
    with pytest.raises(ConfigError, match="two tools"):
        create_handoff_agent(None, twice, name="a")
    with pytest.raises(ConfigError, match="max_steps"):
        create_handoff_agent(None, name="a", options=AgentOptions(max_steps=0))


async def test_rollout_records_the_agents_calls_under_its_name() -> None:
    agent = create_handoff_agent(None, [add], name="calc")
    assert roles_of(agent) == ("calc",)
    policy = ScriptedModel([call("add", a=2, b=3), "5"])
    episodes = await rollout(graph_program(agent), "add 2 and 3", policy, roles=roles_of(agent))
    (episode,) = episodes
    assert episode.role == "calc" and [c.role for c in episode.calls] == ["calc", "calc"]
    assert episode.stop_reason == "answered"


def test_handoff_tool_is_a_tool() -> None:
    tool_ = create_handoff_tool(agent_name="bob", task=True)
    assert isinstance(tool_, HandoffTool)
    renamed = tool_.with_(name="ask_bob")
    assert isinstance(renamed, HandoffTool) and renamed.agent_name == "bob"


def test_the_docs_picture_is_the_agents_drawing() -> None:

    docs = Path(__file__).resolve().parents[2] / "docs" / "patterns.md"
    section = docs.read_text(encoding="utf-8").split("## Teams of agents")[1]
    drawn = re.search(r"```mermaid\n(.*?)```", section, re.DOTALL)
    assert drawn is not None
    assert drawn.group(1).strip() == draw_mermaid(create_handoff_agent(None, name="alice")).strip()


async def test_a_long_step_budget_is_not_cut_by_the_recursion_limit() -> None:
    model = ScriptedModel([call("add", a=i, b=1) for i in range(20)] + ["done"])
    agent = create_handoff_agent(model, [add], name="calc", options=AgentOptions(max_steps=20))
    out = await agent.ainvoke({"messages": [("user", "count")]})  # 41 super-steps, default 25
    assert out["run"].steps == 21 and out["messages"][-1].text == "done"


async def test_a_patterns_tool_failure_is_a_message_in_a_langchain_conversation_too() -> None:
    """hone's patterns answer every failure as a message (ERRORS_AS_VALUES), also when the
    conversation is in LangChain's messages, where a plain ToolNode follows LangGraph."""
    lc = pytest.importorskip("langchain_core.messages")

    @tool
    def boom(x: int) -> int:
        """Fail."""
        raise ValueError("bad input")

    model = ScriptedModel([call("boom", x=1), "recovered"])
    agent = create_handoff_agent(model, [boom], name="a")
    out = await agent.ainvoke({"messages": [lc.HumanMessage("go")]})
    answer = next(m for m in out["messages"] if getattr(m, "type", None) == "tool")
    assert answer.status == "error" and "ValueError: bad input" in answer.content
    assert out["messages"][-1].content == "recovered"
