"""``create_supervisor``: context policies, the worker's answer reaching the supervisor,
parallel and unknown handoffs, loops and budgets, interrupts inside workers, hierarchical
teams, misconfiguration and per-role rollouts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from hone.agents import (
    Budget,
    ContextPolicy,
    create_handoff_agent,
    create_handoff_tool,
    create_supervisor,
    roles_of,
)
from hone.checkpoint import InMemorySaver
from hone.errors import ConfigError
from hone.graph import Command, draw_mermaid, interrupt
from hone.graph.prebuilt import create_react_agent
from hone.messages import ToolMessage, UserMessage
from hone.models import ScriptedModel
from hone.tools import tool
from hone.trajectory import graph_program, rollout


def call(name: str, **args: object) -> str:
    """A Hermes tool call, as a model writes it."""
    return f"<tool_call>\n{json.dumps({'name': name, 'arguments': args})}\n</tool_call>"


@tool
def search(query: str) -> str:
    """Search the notes.

    Args:
        query: What to look for.
    """
    return f"notes about {query}: the answer is 42"


def _team(
    supervisor: list[str], worker: list[str], **kwargs: Any
) -> tuple[Any, ScriptedModel, ScriptedModel]:
    ms, mw = ScriptedModel(supervisor), ScriptedModel(worker)
    research = create_handoff_agent(mw, [search], name="research", prompt="You research.")
    return create_supervisor([research], model=ms, **kwargs), ms, mw


_ASK = call("transfer_to_research", task="find the answer")
_WORK = [call("search", query="answer"), "The answer is 42."]


async def test_the_workers_answer_is_the_result_of_the_transfer() -> None:
    graph, ms, mw = _team([_ASK, "It is 42."], _WORK)
    out = await graph.ainvoke({"messages": [("user", "what is the answer?")]})
    roles = [(m.role, m.name) for m in out["messages"]]
    assert roles == [
        ("user", None),
        ("assistant", "supervisor"),
        ("tool", "transfer_to_research"),
        ("assistant", "supervisor"),
    ]
    result = out["messages"][2]
    assert (
        result.text == "The answer is 42."
        and result.tool_call_id == out["messages"][1].tool_calls[0].id
    )
    # the supervisor read the worker's real answer last, not "transferring back"
    assert ms.requests[1].messages[-1].text == "The answer is 42."
    # the worker saw the conversation and its transfer with the task
    seen = mw.requests[0].messages
    assert seen[1].text == "what is the answer?" and "Task: find the answer" in seen[-1].text
    assert out["handoff"] is None and out["usage"].finished


async def test_full_history_output() -> None:
    graph, ms, _mw = _team(
        [_ASK, "It is 42."], _WORK, context=ContextPolicy(output_mode="full_history")
    )
    out = await graph.ainvoke({"messages": [("user", "q")]})
    names = [m.name for m in out["messages"]]
    assert names == [
        None,
        "supervisor",
        "transfer_to_research",
        "research",
        "search",
        "research",
        "supervisor",
    ]
    assert ms.requests[1].messages[-1].text == "The answer is 42."


async def test_forward_sends_the_workers_answer_to_the_user_verbatim() -> None:
    graph, ms, _mw = _team([_ASK], _WORK, context=ContextPolicy(output_mode="forward"))
    out = await graph.ainvoke({"messages": [("user", "q")]})
    last = out["messages"][-1]
    assert last.name == "research" and last.text == "The answer is 42." and ms.calls == 1


async def test_handoff_messages_off() -> None:
    graph, _ms, mw = _team(
        [_ASK, "It is 42."], _WORK, context=ContextPolicy(handoff_messages=False)
    )
    out = await graph.ainvoke({"messages": [("user", "q")]})
    assert [(m.role, m.name) for m in out["messages"]] == [
        ("user", None),
        ("assistant", "research"),
        ("assistant", "supervisor"),
    ]
    assert mw.requests[0].messages[-1].text == "find the answer"
    assert isinstance(mw.requests[0].messages[-1], UserMessage)


async def test_workers_that_see_only_their_task() -> None:
    graph, _ms, mw = _team([_ASK, "It is 42."], _WORK, context=ContextPolicy(worker_input="task"))
    await graph.ainvoke({"messages": [("user", "a long conversation")]})
    assert [m.text for m in mw.requests[0].messages[1:]] == ["find the answer"]


class Lookup(BaseModel):
    """A typed task."""

    topic: str
    depth: int


async def test_typed_task_arguments_are_validated_and_retried() -> None:
    bad = call("transfer_to_research", topic="x", depth="deep")
    good = call("transfer_to_research", topic="x", depth=2)
    graph, ms, mw = _team(
        [bad, good, "done"], ["ok"], task=Lookup, context=ContextPolicy(worker_input="task")
    )
    out = await graph.ainvoke({"messages": [("user", "q")]})
    refusal = ms.requests[1].messages[-1]
    assert isinstance(refusal, ToolMessage) and refusal.is_error and "depth" in refusal.text
    assert json.loads(mw.requests[0].messages[-1].text) == {"topic": "x", "depth": 2}
    assert out["messages"][-1].text == "done"


async def test_parallel_transfers_run_the_first_and_answer_every_call() -> None:
    ms = ScriptedModel(
        [call("transfer_to_a", task="one") + call("transfer_to_b", task="two"), "both?"]
    )
    a = create_handoff_agent(ScriptedModel(["A did one."]), name="a")
    b = create_handoff_agent(ScriptedModel(["never"]), name="b")
    graph = create_supervisor([a, b], model=ms)
    out = await graph.ainvoke({"messages": [("user", "q")]})
    turn = out["messages"][1]
    results = {m.tool_call_id: m for m in out["messages"] if isinstance(m, ToolMessage)}
    assert set(results) == {c.id for c in turn.tool_calls}  # every call answered
    first, second = (results[c.id] for c in turn.tool_calls)
    assert first.text == "A did one." and second.is_error and "already transferred" in second.text
    request = ms.requests[1].messages
    assert {m.tool_call_id for m in request if isinstance(m, ToolMessage)} == set(results)


async def test_unknown_worker_is_told_and_retried() -> None:
    graph, ms, _mw = _team([call("transfer_to_ghost", task="boo"), _ASK, "42"], _WORK)
    out = await graph.ainvoke({"messages": [("user", "q")]})
    told = ms.requests[1].messages[-1]
    assert told.is_error and "no agent 'ghost'" in told.text and "research" in told.text
    assert out["messages"][-1].text == "42" and out["usage"].handoffs == 1


async def test_a_worker_asked_again_and_again_without_progress_is_a_loop() -> None:
    ms = ScriptedModel([_ASK, _ASK, _ASK, "I could not get further."])
    mw = ScriptedModel(["I do not know."], when_exhausted="cycle")
    research = create_handoff_agent(mw, name="research")
    graph = create_supervisor([research], model=ms, budget=Budget(max_revisits=0))
    out = await graph.ainvoke({"messages": [("user", "q")]})
    assert out["usage"].stop.limit == "loop" and out["usage"].stop.agent == "supervisor"
    assert mw.calls == 2  # the first answer was progress, the repeat was not
    last = out["messages"][-1]
    assert last.name == "supervisor" and last.text == "I could not get further."
    assert ms.requests[-1].tools == ()


@pytest.mark.parametrize(
    ("budget", "limit", "script"),
    [
        (Budget(max_turns=2), "turns", [_ASK, "final"]),  # the worker's turn was the last
        (Budget(max_tokens=1), "tokens", [_ASK, "final"]),  # spent before the first transfer
        (Budget(max_handoffs=1), "handoffs", [_ASK, _ASK, "final"]),
        (Budget(max_seconds=1e-9), "seconds", [_ASK, "final"]),  # wall time in agent turns
    ],
)
async def test_budgets_end_with_the_supervisors_answer(
    budget: Budget, limit: str, script: list[str]
) -> None:
    ms = ScriptedModel(script)
    mw = ScriptedModel(["first", "second"])
    graph = create_supervisor([create_handoff_agent(mw, name="research")], model=ms, budget=budget)
    out = await graph.ainvoke({"messages": [("user", "q")]})
    assert out["usage"].stop.limit == limit and out["usage"].stop.agent == "supervisor"
    assert out["messages"][-1].text == "final" and not out["messages"][-1].tool_calls
    assert ms.calls == len(script) and ms.requests[-1].tools == ()


@tool
def pay(amount: int) -> str:
    """Pay, once a human approves.

    Args:
        amount: The amount.
    """
    return f"paid {amount}: {interrupt({'amount': amount})}"


async def test_interrupt_inside_a_worker_resumes_the_right_node_once() -> None:
    ms = ScriptedModel([call("transfer_to_cashier", task="pay 5"), "Paid."])
    mc = ScriptedModel([call("pay", amount=5), "Done paying."])
    cashier = create_handoff_agent(mc, [pay], name="cashier")
    graph = create_supervisor([cashier], model=ms, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    paused = await graph.ainvoke({"messages": [("user", "pay")]}, config)
    assert paused["__interrupt__"][0].value == {"amount": 5}
    state = graph.get_state(config)
    assert state.next == ("cashier",)
    out = await graph.ainvoke(Command(resume="ok"), config)
    assert (ms.calls, mc.calls) == (2, 2)
    assert out["messages"][2].text == "Done paying." and out["messages"][-1].text == "Paid."


def _hierarchy() -> tuple[Any, dict[str, ScriptedModel]]:
    models = {
        "top": ScriptedModel(
            [
                call("transfer_to_research_team", task="find X"),
                call("transfer_to_writing_team", task="write X"),
                "Report written.",
            ]
        ),
        "research_lead": ScriptedModel([call("transfer_to_searcher", task="search X"), "X is 42."]),
        "searcher": ScriptedModel([call("search", query="X"), "Found: 42."]),
        "writing_lead": ScriptedModel([call("transfer_to_writer", task="write it"), "Written."]),
        "writer": ScriptedModel(["X = 42, the report."]),
    }
    searcher = create_handoff_agent(models["searcher"], [search], name="searcher")
    writer = create_handoff_agent(models["writer"], name="writer")
    research = create_supervisor(
        [searcher],
        model=models["research_lead"],
        supervisor_name="research_lead",
        name="research_team",
    )
    writing = create_supervisor(
        [writer], model=models["writing_lead"], supervisor_name="writing_lead", name="writing_team"
    )
    return create_supervisor(
        [research, writing], model=models["top"], context=ContextPolicy(worker_input="task")
    ), models


async def test_hierarchical_teams() -> None:
    graph, models = _hierarchy()
    out = await graph.ainvoke({"messages": [("user", "report on X")]})
    assert out["messages"][-1].text == "Report written."
    results = [m.text for m in out["messages"] if isinstance(m, ToolMessage)]
    assert results == ["X is 42.", "Written."]  # each team's answer, as the top's transfer results
    assert models["research_lead"].requests[0].messages[-1].text == "find X"
    assert all(m.calls == len(m._replies) for m in models.values())
    assert roles_of(graph) == ("supervisor", "research_lead", "searcher", "writing_lead", "writer")


async def test_rollout_gives_every_role_its_episode() -> None:
    graph, _ = _hierarchy()
    policy = ScriptedModel(
        [
            call("transfer_to_research_team", task="find X"),
            call("transfer_to_searcher", task="search X"),
            call("search", query="X"),
            "Found: 42.",
            "X is 42.",
            call("transfer_to_writing_team", task="write X"),
            call("transfer_to_writer", task="write it"),
            "X = 42, the report.",
            "Written.",
            "Report written.",
        ]
    )
    episodes = {
        e.role: e
        for e in await rollout(graph_program(graph), "report on X", policy, roles=roles_of(graph))
    }
    counts = {role: [c.role for c in e.calls] for role, e in episodes.items()}
    assert counts == {
        "supervisor": ["supervisor"] * 3,
        "research_lead": ["research_lead"] * 2,
        "searcher": ["searcher"] * 2,
        "writing_lead": ["writing_lead"] * 2,
        "writer": ["writer"],
    }
    assert episodes["supervisor"].messages[-1]["content"] == "Report written."


async def test_a_react_agent_worker_and_langchain_messages() -> None:
    messages = pytest.importorskip("langchain_core.messages")
    helper = create_react_agent(ScriptedModel(["helped"]), [], name="helper", role="helper")
    ms = ScriptedModel([call("transfer_to_helper", task="help"), "thanks"])
    graph = create_supervisor([helper], model=ms)
    out = await graph.ainvoke({"messages": [messages.HumanMessage(content="q")]})
    assert all(isinstance(m, messages.BaseMessage) for m in out["messages"])
    assert out["messages"][2].content == "helped" and out["messages"][-1].content == "thanks"


async def test_threads_keep_the_conversation() -> None:
    graph, ms, _mw = _team(["hi there", "again"], ["unused"], checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"messages": [("user", "hi")]}, config)
    out = await graph.ainvoke({"messages": [("user", "and?")]}, config)
    assert [m.text for m in out["messages"]] == ["hi", "hi there", "and?", "again"]
    assert "research" in ms.requests[0].messages[0].text  # the default prompt lists the workers


def test_drawing() -> None:
    graph, _, _ = _team(["x"], ["y"])
    text = draw_mermaid(graph)
    for edge in (
        "__start__ --> supervisor",
        "supervisor -.-> research",
        "research -.-> supervisor",
        "supervisor -.-> final_answer",
    ):
        assert edge in text


def test_misconfigured_supervisors_fail_at_build_time() -> None:
    w = create_handoff_agent(None, name="w")
    with pytest.raises(ConfigError, match="at least one agent"):
        create_supervisor([], model=None)
    with pytest.raises(ConfigError, match="named 'w'"):
        create_supervisor([w, create_handoff_agent(None, name="w")], model=None)
    with pytest.raises(ConfigError, match="own node"):
        create_supervisor([create_handoff_agent(None, name="supervisor")], model=None)
    with pytest.raises(ConfigError, match="has no name"):
        create_supervisor([create_react_agent(None, [], name="LangGraph")], model=None)
    with pytest.raises(ConfigError, match="reports back"):
        create_supervisor(
            [create_handoff_agent(None, [create_handoff_tool(agent_name="w")], name="v"), w],
            model=None,
        )
    with pytest.raises(ConfigError, match="not a worker"):
        create_supervisor([w], model=None, tools=[create_handoff_tool(agent_name="x")])
    with pytest.raises(ConfigError, match="carry no task"):
        create_supervisor(
            [w],
            model=None,
            tools=[create_handoff_tool(agent_name="w")],
            context=ContextPolicy(worker_input="task"),
        )
    with pytest.raises(ConfigError, match="output_mode"):
        ContextPolicy(output_mode="summary")  # type: ignore[arg-type]


async def test_custom_handoff_tools_replace_the_default_only_for_their_worker() -> None:
    """langgraph-supervisor #199: defaults were added next to custom handoff tools."""
    ms = ScriptedModel([call("ask_a", task="t"), "ok"])
    a = create_handoff_agent(ScriptedModel(["A."]), name="a")
    b = create_handoff_agent(ScriptedModel(["B."]), name="b")
    custom = create_handoff_tool(agent_name="a", name="ask_a", task=True, description="Ask A.")
    graph = create_supervisor([a, b], model=ms, tools=[custom])
    await graph.ainvoke({"messages": [("user", "q")]})
    offered = [t["function"]["name"] for t in ms.requests[0].tools]
    assert offered == ["ask_a", "transfer_to_b"]


def test_the_docs_picture_is_the_supervisors_drawing() -> None:

    docs = Path(__file__).resolve().parents[2] / "docs" / "patterns.md"
    section = docs.read_text(encoding="utf-8").split("## Supervisor and hierarchical teams")[1]
    drawn = re.search(r"```mermaid\n(.*?)```", section, re.DOTALL)
    assert drawn is not None
    workers = [create_handoff_agent(None, name="research"), create_handoff_agent(None, name="math")]
    assert drawn.group(1).strip() == draw_mermaid(create_supervisor(workers, model=None)).strip()


async def test_a_handoff_tools_input_filter_narrows_the_workers_view() -> None:
    from hone.agents import keep_last

    ms = ScriptedModel([call("ask_w", task="sum up"), "ok"])
    mw = ScriptedModel(["summary"])
    narrow = create_handoff_tool(agent_name="w", name="ask_w", task=True, input_filter=keep_last(2))
    graph = create_supervisor([create_handoff_agent(mw, name="w")], model=ms, tools=[narrow])
    await graph.ainvoke({"messages": [("user", "first"), ("assistant", "a"), ("user", "second")]})
    seen = [m.text for m in mw.requests[0].messages]
    assert seen[0] == "second" and "first" not in seen  # then the transfer call and its result
    assert seen[-1].startswith("Transferred to w.")
