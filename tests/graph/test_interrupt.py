"""Keyed interrupts and interrupt_many: ids derived from (task, key), answers by key, asked
again under the next id for the key, and misuse errors."""

from __future__ import annotations

from typing import Any, TypedDict

import pytest
from pydantic import BaseModel, ValidationError

from hone.checkpoint import InMemorySaver
from hone.errors import GraphError, is_invalid_resume
from hone.graph import START, Command, MessagesState, StateGraph, interrupt, interrupt_many
from hone.graph._interrupt import interrupt_id, keyed_interrupt_id
from hone.graph.prebuilt import ToolNode
from hone.messages import AssistantMessage, ToolCall


class S(TypedDict, total=False):
    order: list[str]
    out: dict[str, Any]


def _cfg() -> dict[str, Any]:
    return {"configurable": {"thread_id": "t"}}


def _graph(node: Any, saver: bool = True) -> Any:
    graph = StateGraph(S).add_node("ask", node).add_edge(START, "ask")
    return graph.compile(checkpointer=InMemorySaver() if saver else None)


def test_keyed_ids_do_not_depend_on_the_order_of_asking(driver: Any) -> None:
    order = ["a", "b"]
    runs: list[list[str]] = []

    def node(state: S) -> dict[str, Any]:
        runs.append(list(order))
        answers = {key: interrupt(f"{key}?", key=key) for key in order}
        return {"out": answers}

    app = _graph(node)
    first = driver.invoke(app, {"order": []}, _cfg())
    [asked_a] = first["__interrupt__"]
    task_id = app.get_state(_cfg()).tasks[0].id
    assert asked_a.value == "a?"
    assert asked_a.id == keyed_interrupt_id(f"ask:{task_id}", "a", 0)
    assert asked_a.id != interrupt_id(f"ask:{task_id}")
    # The resumed task asks in another order; the answer to "a" still belongs to key "a".
    order.reverse()
    second = driver.invoke(app, Command(resume={asked_a.id: "A"}), _cfg())
    [asked_b] = second["__interrupt__"]
    assert asked_b.value == "b?"
    assert asked_b.id == keyed_interrupt_id(f"ask:{task_id}", "b", 0)
    assert app.get_state(_cfg()).tasks[0].id == task_id
    out = driver.invoke(app, Command(resume={asked_b.id: "B"}), _cfg())
    assert out["out"] == {"b": "B", "a": "A"}
    assert runs == [["a", "b"], ["b", "a"], ["b", "a"]]


def test_interrupt_many_asks_all_pending_at_once(driver: Any) -> None:
    runs: list[str] = []

    def node(state: S) -> dict[str, Any]:
        runs.append("ask")
        answers = interrupt_many({"legal": "ok legally?", "budget": "ok on budget?"})
        # Asking again about one key is a new question (the key's next id).
        if answers["budget"] == "unsure":
            answers.update(interrupt_many({"budget": "sure now?"}))
        return {"out": answers}

    app = _graph(node)
    paused = driver.invoke(app, {"order": []}, _cfg())
    ids = {i.value: i.id for i in paused["__interrupt__"]}
    assert set(ids) == {"ok legally?", "ok on budget?"}
    again = driver.invoke(app, Command(resume={ids["ok legally?"]: "yes"}), _cfg())
    assert [i.value for i in again["__interrupt__"]] == ["ok on budget?"]
    again = driver.invoke(app, Command(resume={ids["ok on budget?"]: "unsure"}), _cfg())
    [follow_up] = again["__interrupt__"]
    task_id = app.get_state(_cfg()).tasks[0].id
    assert follow_up.id == keyed_interrupt_id(f"ask:{task_id}", "budget", 1)
    assert follow_up.value == "sure now?" and follow_up.id not in ids.values()
    out = driver.invoke(app, Command(resume="yes"), _cfg())
    assert out["out"] == {"legal": "yes", "budget": "yes"}
    assert interrupt_many.__doc__ and len(runs) == 4


def test_unkeyed_and_keyed_interrupts_mix() -> None:
    def node(state: S) -> dict[str, Any]:
        first = interrupt("first")
        return {"out": {"first": first, "named": interrupt("named", key="n")}}

    app = _graph(node)
    app.invoke({"order": []}, _cfg())
    app.invoke(Command(resume=1), _cfg())
    assert app.invoke(Command(resume=2), _cfg())["out"] == {"first": 1, "named": 2}


def test_misuse_is_reported() -> None:
    with pytest.raises(GraphError, match="inside a running graph node"):
        interrupt_many({"a": 1})

    def empty_many(state: S) -> None:
        interrupt_many({"": 1})

    with pytest.raises(GraphError, match="non-empty string"):
        _graph(empty_many).invoke({"order": []}, _cfg())

    def nothing(state: S) -> dict[str, Any]:
        return {"out": interrupt_many({})}

    assert _graph(nothing, saver=False).invoke({"order": []})["out"] == {}


def test_empty_key_is_refused() -> None:
    def empty_key(state: S) -> None:
        interrupt("x", key="")

    with pytest.raises(GraphError, match="non-empty string"):
        _graph(empty_key).invoke({"order": []}, _cfg())


def test_without_a_checkpointer_the_run_stops_at_the_questions() -> None:
    """As LangGraph's ``interrupt()``: the run stops, but there is nothing to resume."""

    def no_saver(state: S) -> dict[str, Any]:
        return {"out": interrupt_many({"a": "A?", "b": "B?"})}

    out = _graph(no_saver, saver=False).invoke({"order": []})
    assert [i.value for i in out["__interrupt__"]] == ["A?", "B?"]
    assert "out" not in out
    with pytest.raises(RuntimeError, match="without checkpointer"):
        _graph(no_saver, saver=False).invoke(Command(resume={"x" * 32: 1}))


def test_keyed_and_plain_ids_are_exposed_in_the_snapshot() -> None:
    def node(state: S) -> dict[str, Any]:
        return {"out": interrupt_many({"a": "A?", "b": "B?"})}

    app = _graph(node)
    paused = app.invoke({"order": []}, _cfg())
    snap = app.get_state(_cfg())
    [task] = snap.tasks
    expected = [keyed_interrupt_id(f"ask:{task.id}", key, 0) for key in ("a", "b")]
    assert [i.id for i in paused["__interrupt__"]] == expected
    assert [i.id for i in snap.interrupts] == expected == [i.id for i in task.interrupts]
    # Resuming with one plain value while two questions wait is ambiguous.
    with pytest.raises(GraphError, match="must specify the interrupt id"):
        app.invoke(Command(resume="both"), _cfg())
    out = app.invoke(Command(resume=dict(zip(expected, ["x", "y"], strict=True))), _cfg())
    assert out["out"] == {"a": "x", "b": "y"} and "__interrupt__" not in out


class _Approval(BaseModel):
    ok: bool


def test_response_schema_is_shown_and_validates_the_answer() -> None:
    seen: list[Any] = []

    def ask(state: S) -> dict[str, Any]:
        answer = interrupt("approve?", response_schema=_Approval)
        seen.append(answer)
        return {"out": {"ok": answer.ok}}

    graph, cfg = _graph(ask), _cfg()
    [asked] = graph.invoke({"order": []}, cfg)["__interrupt__"]
    assert asked.response_schema == _Approval.model_json_schema()
    with pytest.raises(ValidationError):
        graph.invoke(Command(resume={"ok": "maybe"}), cfg)
    # Nothing of the bad answer was kept: the interrupt is answered again.
    assert graph.invoke(Command(resume={"ok": True}), cfg)["out"] == {"ok": True}
    assert seen == [_Approval(ok=True)]


def test_a_json_schema_is_passed_on_unchecked() -> None:
    schema = {"type": "object", "properties": {"ok": {"type": "boolean"}}}
    graph, cfg = _graph(lambda s: {"out": {"a": interrupt("q", response_schema=schema)}}), _cfg()
    [asked] = graph.invoke({"order": []}, cfg)["__interrupt__"]
    assert asked.response_schema == schema
    assert graph.invoke(Command(resume="anything"), cfg)["out"] == {"a": "anything"}


@pytest.mark.parametrize("handle_tool_errors", [True, False])
def test_a_rejected_answer_in_a_tool_fails_the_run_whatever_the_tool_errors_setting(
    handle_tool_errors: bool,
) -> None:
    """A tool's ``interrupt(response_schema=...)`` answered badly is the person's error, not
    the model's: the run fails (as on LangGraph) and the interrupt can be answered again."""

    def refund(amount: int) -> str:
        """Refund an amount once a person approves."""
        answer = interrupt(f"refund {amount}?", response_schema=_Approval)
        return f"approved={answer.ok}"

    node = ToolNode([refund], handle_tool_errors=handle_tool_errors)
    graph = StateGraph(MessagesState).add_node("tools", node).add_edge(START, "tools")
    compiled, cfg = graph.compile(checkpointer=InMemorySaver()), _cfg()
    call = ToolCall(id="c1", name="refund", arguments={"amount": 3})
    compiled.invoke({"messages": [AssistantMessage(content="", tool_calls=[call])]}, cfg)
    with pytest.raises(ValidationError) as rejected:
        compiled.invoke(Command(resume={"ok": "maybe"}), cfg)
    assert is_invalid_resume(rejected.value)
    assert compiled.get_state(cfg).next == ("tools",)  # still waiting for an answer
    out = compiled.invoke(Command(resume={"ok": True}), cfg)
    assert out["messages"][-1].content == "approved=True"
    assert not is_invalid_resume(ValueError("a tool's own error"))
