"""with_review: the four decisions, parallel interrupts answered with an id map, each tool
run exactly once, re-asking on a bad answer."""

from __future__ import annotations

from collections import Counter
from typing import Any

import pytest

from hone.checkpoint import InMemorySaver
from hone.errors import ConfigError
from hone.graph import END, START, Command, MessagesState, StateGraph
from hone.graph.prebuilt import ReviewedTool, ToolNode, review_interrupt_id, with_review
from hone.messages import AssistantMessage, ToolCall, ToolMessage
from hone.tools import tool

RUNS: Counter[str] = Counter()


@tool
def send(to: str, body: str) -> str:
    """Send an email.

    Args:
        to: The recipient.
        body: The text.
    """
    RUNS[to] += 1
    return f"sent to {to}: {body}"


def build(*calls: dict[str, Any], saver: bool = True, **review: Any) -> Any:
    """model (one turn of ``calls``) -> tools (reviewed ``send``) -> END."""
    message = AssistantMessage(
        tool_calls=tuple(
            ToolCall(id=f"call_{i}", name="send", arguments=args) for i, args in enumerate(calls)
        )
    )

    def model(state: MessagesState) -> dict[str, Any]:
        return {"messages": [message]}

    graph = StateGraph(MessagesState).add_node("model", model)
    graph.add_node(ToolNode([with_review(send, **review)]))
    graph.add_edge(START, "model").add_edge("model", "tools").add_edge("tools", END)
    return graph.compile(checkpointer=InMemorySaver() if saver else None)


def cfg(thread: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


@pytest.fixture(autouse=True)
def _reset_runs() -> None:
    RUNS.clear()


def _tool_messages(out: dict[str, Any]) -> list[ToolMessage]:
    return [m for m in out["messages"] if isinstance(m, ToolMessage)]


def test_interrupt_describes_the_request() -> None:
    app = build({"to": "ada", "body": "hi"}, allow_respond=False, description="Check it")
    paused = app.invoke({"messages": [("user", "x")]}, cfg())
    (item,) = paused["__interrupt__"]
    assert item.value["action_request"] == {"tool": "send", "args": {"to": "ada", "body": "hi"}}
    assert item.value["config"] == {
        "allow_accept": True,
        "allow_edit": True,
        "allow_respond": False,
        "allow_reject": True,
    }
    assert item.value["description"] == "Check it"
    task = app.get_state(cfg()).tasks[0]
    assert item.id == review_interrupt_id(f"{task.name}:{task.id}", "call_0")
    assert RUNS == {}


@pytest.mark.parametrize(
    ("decision", "text", "is_error", "runs"),
    [
        ({"type": "accept"}, "sent to ada: hi", False, {"ada": 1}),
        (
            {"type": "edit", "args": {"to": "bob", "body": "yo"}},
            "sent to bob: yo",
            False,
            {"bob": 1},
        ),
        ({"type": "response", "message": "not today"}, "not today", False, {}),
        ({"type": "reject", "message": "spam"}, "rejected", True, {}),
    ],
)
def test_each_decision(decision: dict[str, Any], text: str, is_error: bool, runs: Any) -> None:
    app = build({"to": "ada", "body": "hi"})
    app.invoke({"messages": [("user", "x")]}, cfg())
    out = app.invoke(Command(resume=decision), cfg())
    (message,) = _tool_messages(out)
    assert text in message.text and message.is_error is is_error
    assert message.tool_call_id == "call_0"
    assert dict(RUNS) == runs


def test_parallel_calls_interrupt_together_and_resume_by_id() -> None:
    app = build({"to": "a", "body": "1"}, {"to": "b", "body": "2"}, {"to": "c", "body": "3"})
    paused = app.invoke({"messages": [("user", "x")]}, cfg())
    items = paused["__interrupt__"]
    assert len({i.id for i in items}) == 3
    by_to = {i.value["action_request"]["args"]["to"]: i.id for i in items}
    # Answer two of three: nothing runs yet, the third is asked again with the same id.
    partial = {by_to["a"]: {"type": "accept"}, by_to["b"]: {"type": "reject"}}
    again = app.invoke(Command(resume=partial), cfg())
    assert [i.id for i in again["__interrupt__"]] == [by_to["c"]]
    assert RUNS == {}
    out = app.invoke(
        Command(resume={by_to["c"]: {"type": "edit", "args": {"to": "cc", "body": "3"}}}), cfg()
    )
    texts = [m.text for m in _tool_messages(out)]
    assert texts[0] == "sent to a: 1" and "rejected" in texts[1] and texts[2] == "sent to cc: 3"
    assert dict(RUNS) == {"a": 1, "cc": 1}


def test_bad_or_disallowed_answers_ask_again_with_the_error() -> None:
    app = build({"to": "ada", "body": "hi"}, allow_edit=False)
    app.invoke({"messages": [("user", "x")]}, cfg())
    again = app.invoke(Command(resume={"type": "edit", "args": {"to": "x"}}), cfg())
    assert "not allowed" in again["__interrupt__"][0].value["error"]
    again = app.invoke(Command(resume="yes please"), cfg())
    assert "not a review decision" in again["__interrupt__"][0].value["error"]
    again = app.invoke(Command(resume={"type": "response"}), cfg())
    assert "needs 'message'" in again["__interrupt__"][0].value["error"]
    out = app.invoke(Command(resume={"type": "accept"}), cfg())
    assert _tool_messages(out)[0].text == "sent to ada: hi" and dict(RUNS) == {"ada": 1}


def test_invalid_arguments_skip_review() -> None:
    app = build({"to": "ada"})
    out = app.invoke({"messages": [("user", "x")]}, cfg())
    assert "__interrupt__" not in out
    assert _tool_messages(out)[0].is_error


def test_misuse_is_reported() -> None:
    with pytest.raises(ConfigError, match="at least one"):
        with_review(
            send, allow_accept=False, allow_edit=False, allow_respond=False, allow_reject=False
        )
    # Without a checkpointer the run pauses as LangGraph's does; it cannot be resumed.
    app = build({"to": "ada", "body": "hi"}, saver=False)
    assert "__interrupt__" in app.invoke({"messages": [("user", "x")]})


def test_with_review_wraps_lists_and_keeps_the_schema() -> None:
    reviewed = with_review([send, with_review(send)])
    assert all(isinstance(t, ReviewedTool) for t in reviewed)
    assert reviewed[1].target is send
    assert reviewed[0].spec() == send.spec()


def test_reviewed_tool_run_by_the_executor_in_a_custom_node() -> None:
    from hone.tools import ExecutionOptions, aexecute_tool_calls

    reviewed = with_review(send)
    call = ToolCall(id="c1", name="send", arguments={"to": "ada", "body": "hi"})

    async def node(state: MessagesState) -> dict[str, Any]:
        # A node that runs tools itself lets the graph's interrupt through the executor.
        execution = ExecutionOptions(propagate=(Exception,))
        return {"messages": await aexecute_tool_calls([call], [reviewed], execution=execution)}

    graph = StateGraph(MessagesState).add_node("run", node).add_edge(START, "run")
    app = graph.compile(checkpointer=InMemorySaver())
    paused = app.invoke({"messages": [("user", "x")]}, cfg())
    assert paused["__interrupt__"][0].value["tool_call_id"] == "c1"
    out = app.invoke(Command(resume={"type": "edit", "args": {"to": "bo", "body": "yo"}}), cfg())
    assert _tool_messages(out)[0].text == "sent to bo: yo" and dict(RUNS) == {"bo": 1}


def test_public_surface() -> None:
    import hone.graph.prebuilt as prebuilt

    assert prebuilt.__all__ == sorted(
        prebuilt.__all__, key=lambda n: (not n.isupper(), not n[0].isupper(), n)
    )
    aliases = {"AsyncToolCallWrapper", "HandleToolErrors", "Prompt", "ToolCallWrapper"}
    assert all(getattr(prebuilt, n).__doc__ for n in prebuilt.__all__ if n not in aliases)
