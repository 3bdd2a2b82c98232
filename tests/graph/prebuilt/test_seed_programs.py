"""The seed book's chapter 1-2 programs, as tests.

(a) a stateful tool agent with a checkpointer: independent threads, and a branch forked from
an earlier checkpoint with both histories intact; (b) a hierarchical state machine whose
WORKING superstate is a subgraph with its own substates, an event that leaves the superstate
from any substate, and resumes that re-enter the right substate (also after a restart);
(c) the human-in-the-loop demos from ``examples/hitl``.
"""

from __future__ import annotations

import importlib.util
import re
import sys
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, TypedDict

import pytest

from hone.checkpoint import InMemorySaver, SqliteSaver
from hone.graph import END, START, Command, CompiledGraph, StateGraph, interrupt
from hone.graph.prebuilt import create_react_agent
from hone.messages import ToolMessage, UserMessage
from hone.models import ChatRequest, ScriptedModel
from hone.tools import tool

# --------------------------------------------------------------- (a) tool agent


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def _arithmetic(request: ChatRequest) -> str:
    """A deterministic model: 'add X Y' -> call add; a tool result -> state the answer."""
    last = request.messages[-1]
    if isinstance(last, ToolMessage):
        return f"The answer is {last.text}."
    a, b = re.findall(r"-?\d+", last.text)[:2]
    return f'<tool_call>{{"name": "add", "arguments": {{"a": {a}, "b": {b}}}}}</tool_call>'


def _agent() -> CompiledGraph:
    model = ScriptedModel([_arithmetic], when_exhausted="cycle")
    return create_react_agent(model, [add], checkpointer=InMemorySaver())


def _cfg(thread: str, checkpoint_id: str | None = None) -> dict[str, Any]:
    conf = {"thread_id": thread}
    if checkpoint_id is not None:
        conf["checkpoint_id"] = checkpoint_id
    return {"configurable": conf}


def _asks(messages: list[Any]) -> list[str]:
    return [m.text for m in messages if isinstance(m, UserMessage)]


def test_threads_stay_independent() -> None:
    agent = _agent()
    agent.invoke({"messages": [("user", "add 1 2")]}, _cfg("a"))
    agent.invoke({"messages": [("user", "add 10 20")]}, _cfg("b"))
    a = agent.invoke({"messages": [("user", "add 3 4")]}, _cfg("a"))
    b = agent.get_state(_cfg("b")).values
    assert _asks(a["messages"]) == ["add 1 2", "add 3 4"]
    assert a["messages"][-1].text == "The answer is 7."
    assert _asks(b["messages"]) == ["add 10 20"] and b["messages"][-1].text == "The answer is 30."


def test_fork_from_an_earlier_checkpoint_keeps_both_histories() -> None:
    agent = _agent()
    agent.invoke({"messages": [("user", "add 1 2")]}, _cfg("a"))
    agent.invoke({"messages": [("user", "add 3 4")]}, _cfg("a"))
    original = agent.get_state(_cfg("a"))
    # The checkpoint where the first exchange had finished.
    fork_point = next(
        s
        for s in agent.get_state_history(_cfg("a"))
        if not s.next and len(s.values.get("messages", [])) == 4
    )
    forked = agent.invoke(
        {"messages": [("user", "add 100 200")]},
        _cfg("a", fork_point.config["configurable"]["checkpoint_id"]),
    )
    assert _asks(forked["messages"]) == ["add 1 2", "add 100 200"]
    assert forked["messages"][-1].text == "The answer is 300."
    # The latest state is the fork; the original branch is still there, unchanged.
    assert _asks(agent.get_state(_cfg("a")).values["messages"]) == ["add 1 2", "add 100 200"]
    kept = agent.get_state(_cfg("a", original.config["configurable"]["checkpoint_id"]))
    assert _asks(kept.values["messages"]) == ["add 1 2", "add 3 4"]
    assert kept.values["messages"][-1].text == "The answer is 7."
    ids = {s.config["configurable"]["checkpoint_id"] for s in agent.get_state_history(_cfg("a"))}
    assert {
        original.config["configurable"]["checkpoint_id"],
        fork_point.config["configurable"]["checkpoint_id"],
    } <= ids


# ------------------------------------------------- (b) hierarchical state machine

SUBSTATES = ("PLANNING", "EXECUTING", "REVIEWING")


class Machine(TypedDict, total=False):
    log: list[str]
    substates: list[str]
    outcome: str


def _substate(name: str, then: str, entered: Counter[str]) -> Callable[[Machine], Command[Any]]:
    def node(state: Machine) -> Command[Any]:
        entered[name] += 1
        event = interrupt({"state": f"WORKING.{name}", "events": ["next", "abort"]})
        visited = [*state.get("substates", []), name]
        if event == "abort":
            # The abort event leaves the WORKING superstate from whichever substate is active.
            return Command(
                graph=Command.PARENT,
                goto="done",
                update={"substates": [*visited[:-1], f"{name}!abort"], "outcome": "aborted"},
            )
        return Command(goto=then, update={"substates": visited})

    return node


def _machine(checkpointer: Any, entered: Counter[str]) -> CompiledGraph:
    working = StateGraph(Machine)
    nexts = ("executing", "reviewing", END)
    for name, then in zip(SUBSTATES, nexts, strict=True):
        working.add_node(name.lower(), _substate(name, then, entered), destinations=[then])
    working.add_edge(START, "planning")
    machine = StateGraph(Machine)
    machine.add_node("idle", lambda s: {"log": ["IDLE"], "substates": []})
    machine.add_node("working", working.compile())
    machine.add_node(
        "done", lambda s: {"log": [*s["log"], "DONE"], "outcome": s.get("outcome") or "completed"}
    )
    machine.add_edge(START, "idle").add_edge("idle", "working")
    machine.add_edge("working", "done").add_edge("done", END)
    return machine.compile(checkpointer=checkpointer)


def _active(result: dict[str, Any]) -> str:
    return str(result["__interrupt__"][0].value["state"])


def test_state_machine_walks_the_substates_and_resumes_where_it_paused() -> None:
    entered: Counter[str] = Counter()
    machine = _machine(InMemorySaver(), entered)
    result = machine.invoke({}, _cfg("m"))
    seen = [_active(result)]
    while "__interrupt__" in result:
        result = machine.invoke(Command(resume="next"), _cfg("m"))
        if "__interrupt__" in result:
            seen.append(_active(result))
            snapshot = machine.get_state(_cfg("m"))
            assert snapshot.next == ("working",)
    assert seen == [f"WORKING.{n}" for n in SUBSTATES]
    assert result["substates"] == list(SUBSTATES) and result["outcome"] == "completed"
    assert result["log"] == ["IDLE", "DONE"]
    # Each substate ran once when entered and once when resumed: never re-entered from PLANNING.
    assert entered == {name: 2 for name in SUBSTATES}


@pytest.mark.parametrize("at", range(len(SUBSTATES)))
def test_abort_leaves_the_superstate_from_any_substate(at: int) -> None:
    entered: Counter[str] = Counter()
    machine = _machine(InMemorySaver(), entered)
    machine.invoke({}, _cfg("m"))
    for _ in range(at):
        machine.invoke(Command(resume="next"), _cfg("m"))
    result = machine.invoke(Command(resume="abort"), _cfg("m"))
    assert "__interrupt__" not in result and result["outcome"] == "aborted"
    assert result["substates"] == [*SUBSTATES[:at], f"{SUBSTATES[at]}!abort"]
    assert result["log"] == ["IDLE", "DONE"]
    assert all(entered[name] == 0 for name in SUBSTATES[at + 1 :])


def test_history_survives_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "machine.db"
    first = SqliteSaver(path)
    machine = _machine(first, Counter())
    machine.invoke({}, _cfg("m"))
    machine.invoke(Command(resume="next"), _cfg("m"))
    first.close()
    # A new process: a fresh saver and graph over the same file re-enter EXECUTING.
    entered: Counter[str] = Counter()
    again = _machine(SqliteSaver(path), entered)
    result = again.invoke(Command(resume="next"), _cfg("m"))
    assert _active(result) == "WORKING.REVIEWING"
    assert entered == {"EXECUTING": 1, "REVIEWING": 1}
    final = again.invoke(Command(resume="next"), _cfg("m"))
    assert final["substates"] == list(SUBSTATES) and final["outcome"] == "completed"


# ------------------------------------------------------------ (c) the HITL demos

EXAMPLES = Path(__file__).resolve().parents[3] / "examples" / "hitl"


def _example(name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"hitl_{name}", EXAMPLES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    # Registered while it loads: typing resolves a module's annotations through sys.modules.
    monkeypatch.setitem(sys.modules, spec.name, module)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("approve_or_reject", ["outcome: done: transfer", "outcome: cancelled by the reviewer"]),
        ("edit_state", ["sent to Ada: Dear Ada, the meeting moves to Tuesday."]),
        ("review_tool_calls", ["booked 2 seat(s) to Paris'", "No flights today"]),
        ("validate_input", ["accepted age: 42"]),
        ("breakpoints", ["after 2 pause(s)"]),
        ("parallel_interrupts", ["runs per file: {'a.txt': 1}", "legal=approved"]),
    ],
)
def test_hitl_demo(
    name: str,
    expected: list[str],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _example(name, monkeypatch).main()
    out = capsys.readouterr().out
    for line in expected:
        assert line in out
