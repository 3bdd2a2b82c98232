"""create_plan_and_execute: routing, replanning on failure, budgets, bad plans, approval,
checkpoints, streaming and per-role rollouts."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from hone.agents import create_plan_and_execute, roles_of
from hone.checkpoint import InMemorySaver
from hone.errors import ConfigError, ModelConnectionError
from hone.graph import Command, draw_mermaid
from hone.graph.prebuilt import with_review
from hone.models import ChatRequest, ScriptedModel
from hone.tools import tool
from hone.trajectory import graph_program, rollout

DOCS = Path(__file__).resolve().parents[2] / "docs" / "patterns.md"

CALLS: list[str] = []


@tool
def lookup(key: str) -> str:
    """Look a value up.

    Args:
        key: what to look up.
    """
    CALLS.append(key)
    if key == "missing":
        raise KeyError(key)
    return f"value of {key}"


def call(key: str) -> str:
    return f"<tool_call>{json.dumps({'name': 'lookup', 'arguments': {'key': key}})}</tool_call>"


def plan(*steps: str) -> str:
    return json.dumps({"steps": list(steps)})


def replan(*steps: str) -> str:
    return json.dumps({"done": not steps, "steps": list(steps)})


def models(**replies: list[Any]) -> dict[str, ScriptedModel]:
    defaults: dict[str, list[Any]] = {
        "planner": [plan("a", "b")],
        "executor": ["did a", "did b"],
        "replanner": [replan("b"), replan()],
        "synthesizer": ["the answer"],
    }
    return {role: ScriptedModel(replies.get(role, default)) for role, default in defaults.items()}


def thread(name: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": name}}


@pytest.fixture(autouse=True)
def _clear_calls() -> None:
    CALLS.clear()


def test_plan_execute_replan_synthesize() -> None:
    m = models()
    agent = create_plan_and_execute(m, [lookup])
    chunks = list(agent.stream({"input": "do it"}, stream_mode=["updates", "values"]))
    updates = [next(iter(data)) for mode, data in chunks if mode == "updates"]
    assert updates == ["planner", "execute", "replanner", "execute", "replanner", "synthesize"]
    out = chunks[-1][1]
    assert out["response"] == "the answer" and out["plan"] == []
    assert out["past_steps"] == [
        {"step": "a", "result": "did a", "ok": True},
        {"step": "b", "result": "did b", "ok": True},
    ]
    # The executor sees the objective, the steps done with results, and the steps left.
    system = m["executor"].requests[1].messages[0].text
    assert "Objective: do it" in system and "did a" in system and "Steps left:\n1. b" in system
    assert m["executor"].requests[1].messages[1].text == "Carry out this step: b"
    # The synthesizer gets every result.
    assert "did b" in m["synthesizer"].requests[0].messages[1].text


def test_replanning_only_after_a_failed_step() -> None:
    m = models(
        planner=[plan("a", "missing", "c")],
        executor=["did a", call("missing"), "no luck", call("other"), "did it", "did c"],
        replanner=[replan("other", "c")],
    )
    agent = create_plan_and_execute(m, [lookup], replan_after="failure")
    out = agent.invoke({"input": "x"})
    assert [(s["step"], s["ok"]) for s in out["past_steps"]] == [
        ("a", True),
        ("missing", False),  # its last tool call failed
        ("other", True),
        ("c", True),
    ]
    assert m["replanner"].calls == 1 and "(FAILED)" in m["replanner"].requests[0].messages[1].text
    assert out["response"] == "the answer"


def test_an_executor_out_of_steps_fails_its_step() -> None:
    m = models(
        planner=[plan("loop")],
        executor=[call("k1"), call("k2"), "gave up"],
        replanner=[replan()],
    )
    out = create_plan_and_execute(m, [lookup], executor_steps=2).invoke({"input": "x"})
    assert out["past_steps"] == [{"step": "loop", "result": "gave up", "ok": False}]
    # The executor's last call was its final-answer turn, tools withheld.
    assert m["executor"].requests[-1].tools == ()


def test_a_plan_that_does_not_parse_is_retried_then_replaced() -> None:
    m = models(planner=["a plan in prose", '{"steps": []}', plan("a")], replanner=[replan()])
    out = create_plan_and_execute(m).invoke({"input": "x"})
    assert [s["step"] for s in out["past_steps"]] == ["a"]
    told = [r.messages[-1].text for r in m["planner"].requests[1:]]
    assert "not valid JSON" in told[0] and "has no steps" in told[1]

    m = models(planner=["no", "no", "no"], executor=["did it"], replanner=[replan()])
    out = create_plan_and_execute(m, max_attempts=3).invoke({"input": "the objective"})
    assert m["planner"].calls == 3
    assert out["past_steps"][0]["step"] == "the objective"  # run as one step, never a crash


def test_a_replanner_without_a_usable_reply_keeps_the_plan() -> None:
    m = models(replanner=["?", "??", replan()])
    out = create_plan_and_execute(m, max_attempts=2).invoke({"input": "x"})
    assert [s["step"] for s in out["past_steps"]] == ["a", "b"]
    assert out["response"] == "the answer"


async def test_the_step_budget_ends_with_a_synthesis() -> None:
    def reply(request: ChatRequest) -> str:
        text = request.messages[0].text
        if "plan before" in text:
            return plan("s1", "s2", "s3", "s4")
        if "revise a plan" in text:
            return replan("again", "and again")
        return "did it" if "one step" in text else "partial answer"

    agent = create_plan_and_execute(None, max_steps=2)
    assert roles_of(agent) == ("planner", "executor", "replanner", "synthesizer")
    program = graph_program(agent, make_input=lambda task: {"input": task})
    policy = ScriptedModel([reply], when_exhausted="cycle")
    episodes = {e.role: e for e in await rollout(program, "x", policy, roles=roles_of(agent))}
    assert len(episodes["executor"].calls) == 2  # the budget
    assert episodes["synthesizer"].stop_reason == "step_budget"
    assert episodes["synthesizer"].status == "max_steps"
    assert episodes["executor"].stop_reason == "answered"
    assert episodes["planner"].output["response"] == "partial answer"


async def test_rollout_records_every_role_and_the_bad_plan() -> None:
    def reply(request: ChatRequest) -> str:
        text = request.messages[0].text
        if "plan before" in text:
            return "prose" if len(request.messages) == 2 else plan("only step")
        if "revise a plan" in text:
            return replan()
        if "one step" in text:
            return call("k") if request.messages[-1].role == "user" else "found it"
        return "final"

    agent = create_plan_and_execute(None, [lookup])
    program = graph_program(agent, make_input=lambda task: {"input": task})
    policy = ScriptedModel([reply], when_exhausted="cycle")
    episodes = {e.role: e for e in await rollout(program, "x", policy, roles=roles_of(agent))}
    assert {role: len(e.calls) for role, e in episodes.items()} == {
        "planner": 2,
        "executor": 2,
        "replanner": 1,
        "synthesizer": 1,
    }
    for role, episode in episodes.items():
        assert {c.role for c in episode.calls} == {role}
    assert episodes["planner"].calls[0].parse_errors  # the bad plan is in the trajectory
    assert episodes["synthesizer"].stop_reason == "answered"


def test_the_human_accepts_edits_or_rejects_the_plan() -> None:
    agent = create_plan_and_execute(models(), approve_plan=True, checkpointer=InMemorySaver())
    paused = agent.invoke({"input": "x"}, thread("accept"))
    question = paused["__interrupt__"][0].value
    assert question["plan"] == ["a", "b"] and "accept" in question["allowed"]
    paused = agent.invoke(Command(resume=True), thread("accept"))
    # The replanner's new plan is reviewed too.
    assert paused["__interrupt__"][0].value["plan"] == ["b"]
    out = agent.invoke(Command(resume={"type": "accept"}), thread("accept"))
    assert out["response"] == "the answer"

    m = models(executor=["did z"], replanner=[replan()])
    agent = create_plan_and_execute(m, approve_plan=True, checkpointer=InMemorySaver())
    agent.invoke({"input": "x"}, thread("edit"))
    out = agent.invoke(Command(resume={"type": "edit", "plan": ["z"]}), thread("edit"))
    assert [s["step"] for s in out["past_steps"]] == ["z"]

    m = models()
    agent = create_plan_and_execute(m, approve_plan=True, checkpointer=InMemorySaver())
    agent.invoke({"input": "x"}, thread("reject"))
    out = agent.invoke(Command(resume={"type": "reject", "message": "too risky"}), thread("reject"))
    assert out["response"] == "The plan was rejected: too risky"
    assert m["executor"].calls == 0 and "__interrupt__" not in out


def test_feedback_replans_and_bad_answers_are_asked_again() -> None:
    m = models(planner=[plan("a"), plan("a2")], executor=["did a2"], replanner=[replan()])
    agent = create_plan_and_execute(m, approve_plan=True, checkpointer=InMemorySaver())
    agent.invoke({"input": "x"}, thread("t"))
    again = agent.invoke(Command(resume={"type": "edit", "plan": "a2"}), thread("t"))
    assert "needs 'plan'" in again["__interrupt__"][0].value["error"]
    again = agent.invoke(Command(resume="maybe"), thread("t"))
    assert "not a plan decision" in again["__interrupt__"][0].value["error"]
    again = agent.invoke(Command(resume={"type": "response", "message": "use a2"}), thread("t"))
    assert "use a2" in m["planner"].requests[1].messages[1].text
    assert again["__interrupt__"][0].value["plan"] == ["a2"]
    out = agent.invoke(Command(resume=True), thread("t"))
    assert [s["step"] for s in out["past_steps"]] == ["a2"] and out["feedback"] is None


def test_a_reviewed_tool_inside_the_executor_runs_once_after_resume() -> None:
    m = models(planner=[plan("look")], executor=[call("k"), "found"], replanner=[replan()])
    agent = create_plan_and_execute(m, [with_review(lookup)], checkpointer=InMemorySaver())
    paused = agent.invoke({"input": "x"}, thread("r"))
    assert paused["__interrupt__"][0].value["action_request"]["tool"] == "lookup"
    assert CALLS == []
    out = agent.invoke(Command(resume={"type": "accept"}), thread("r"))
    assert CALLS == ["k"] and out["past_steps"][0]["result"] == "found"
    assert m["planner"].calls == 1 and m["executor"].calls == 2


def test_a_crashed_run_resumes_from_its_checkpoint() -> None:
    state = {"crash": True}

    def executor(request: ChatRequest) -> str:
        if state.pop("crash", False):
            raise ModelConnectionError("server went away")
        return "did it"

    m = models(planner=[plan("a")], executor=[executor, executor], replanner=[replan()])
    agent = create_plan_and_execute(m, checkpointer=InMemorySaver())
    with pytest.raises(ModelConnectionError):
        agent.invoke({"input": "x"}, thread("c"))
    out = agent.invoke(None, thread("c"))
    assert out["response"] == "the answer"
    assert m["planner"].calls == 1  # the plan was saved; only the failed step ran again


def test_tokens_stream_from_every_role() -> None:
    agent = create_plan_and_execute(models())
    chunks = list(agent.stream({"input": "x"}, stream_mode="messages"))
    assert {meta["langgraph_node"] for _, meta in chunks} >= {"planner", "replanner", "synthesize"}


def test_misconfiguration_fails_at_build_time() -> None:
    with pytest.raises(ConfigError, match="max_steps must be at least 1"):
        create_plan_and_execute(models(), max_steps=0)
    with pytest.raises(ConfigError, match="replan_after"):
        create_plan_and_execute(models(), replan_after="never")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="needs a checkpointer"):
        create_plan_and_execute(models(), approve_plan=True)
    with pytest.raises(ConfigError, match="unknown: critic; missing: synthesizer"):
        create_plan_and_execute(
            {"planner": None, "executor": None, "replanner": None, "critic": None}
        )
    with pytest.raises(ConfigError, match=r"invoked with \{'input'"):
        create_plan_and_execute(models()).invoke({"plan": ["a"]})


def test_the_docs_picture_is_the_compiled_graph() -> None:
    section = DOCS.read_text(encoding="utf-8").split("## Plan-and-execute")[1]
    drawn = re.search(r"```mermaid\n(.*?)```", section, re.DOTALL)
    assert drawn is not None
    agent = create_plan_and_execute(None, approve_plan=True, checkpointer=InMemorySaver())
    assert drawn.group(1).strip() == draw_mermaid(agent).strip()
