"""create_react_agent's versions: v2 sends each tool call to its own ``tools`` task, v1 runs
a turn in one; an agent whose tool node needs whole turns keeps v1's shape."""

from __future__ import annotations

from typing import Any

import pytest

from hone.agents import Guardrails
from hone.errors import ConfigError
from hone.graph import Send
from hone.graph.prebuilt import create_react_agent, with_review
from hone.graph.prebuilt._react_route import Routes
from hone.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage
from hone.models import ScriptedModel
from hone.tools import tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


def turn(*pairs: tuple[int, int]) -> AssistantMessage:
    return AssistantMessage(
        tool_calls=tuple(
            ToolCall(id=f"c{i}", name="add", arguments={"a": a, "b": b})
            for i, (a, b) in enumerate(pairs)
        )
    )


def routes(version: Any = "v2", **kw: Any) -> Routes:
    shape = {"tools": "tools", "entry": "agent", "post_hook": False, "structured": False}
    return Routes(version=version, **{**shape, **kw})


def test_v2_sends_each_call_with_the_state() -> None:
    state = {"messages": [UserMessage(content="hi"), turn((1, 2), (3, 4))]}
    sends = routes().after_model(state)
    assert isinstance(sends, list) and all(isinstance(s, Send) for s in sends)
    assert [s.node for s in sends] == ["tools", "tools"]
    first = sends[0].arg
    assert first["__type"] == "tool_call_with_context" and first["state"] is state
    assert first["tool_call"] == {
        "name": "add",
        "args": {"a": 1, "b": 2},
        "id": "c0",
        "type": "tool_call",
    }
    assert routes("v1").after_model(state) == "tools"


def test_a_call_that_could_not_be_parsed_is_sent_as_it_is() -> None:
    bad = ToolCall(id="x", name="add", raw_arguments="{oops", error="bad JSON")
    state = {"messages": [AssistantMessage(tool_calls=(bad,))]}
    (send,) = routes().after_model(state)
    assert send.arg["tool_call"] is bad  # the tool node answers with its error


@pytest.mark.parametrize("version", ["v1", "v2", None])
def test_every_version_answers_every_call_in_order(version: Any) -> None:
    model = ScriptedModel([turn((1, 2), (3, 4)), "done"])
    out = create_react_agent(model, [add], version=version).invoke({"messages": [("user", "hi")]})
    roles = [m.role for m in out["messages"]]
    assert roles == ["user", "assistant", "tool", "tool", "assistant"]
    assert [m.text for m in out["messages"][2:4]] == ["3", "7"]
    assert [m.tool_call_id for m in out["messages"][2:4]] == ["c0", "c1"]


def test_v2_runs_each_call_in_its_own_task() -> None:
    agent = create_react_agent(ScriptedModel([turn((1, 2), (3, 4)), "done"]), [add])
    updates = [u for u in agent.stream({"messages": [("user", "hi")]}) if "tools" in u]
    assert len(updates) == 2  # one update per task
    v1 = create_react_agent(ScriptedModel([turn((1, 2), (3, 4)), "done"]), [add], version="v1")
    assert len([u for u in v1.stream({"messages": [("user", "hi")]}) if "tools" in u]) == 1


def test_a_tool_round_takes_the_same_steps_in_both_versions() -> None:
    for version in ("v1", "v2"):
        model = ScriptedModel([turn((1, 2), (3, 4))], when_exhausted="cycle")
        agent = create_react_agent(model, [add], version=version)
        out = agent.invoke({"messages": [("user", "hi")]}, {"recursion_limit": 6})
        assert out["messages"][-1].text.startswith("Sorry, need more steps"), version
        assert model.calls == 3, version


def test_reviewed_tools_keep_v1_and_refuse_v2() -> None:
    agent = create_react_agent(ScriptedModel(["x"]), [with_review(add)])
    assert agent.builder.branches["agent"]  # built
    with pytest.raises(ConfigError, match="with_review"):
        create_react_agent(ScriptedModel(["x"]), [with_review(add)], version="v2")


def test_tool_guardrails_keep_v1_and_refuse_v2_and_post_hooks() -> None:
    guard = Guardrails(tool_input=[lambda call: None])
    create_react_agent(ScriptedModel(["x"]), [add], guardrails=guard)
    with pytest.raises(ConfigError, match="screen every call"):
        create_react_agent(ScriptedModel(["x"]), [add], guardrails=guard, version="v2")
    with pytest.raises(ConfigError, match="post_model_hook"):
        create_react_agent(
            ScriptedModel(["x"]), [add], guardrails=guard, post_model_hook=lambda s: {}
        )


def test_an_unknown_version_is_refused() -> None:
    with pytest.raises(ConfigError, match="'v1' or 'v2'"):
        create_react_agent(ScriptedModel(["x"]), [add], version="v3")  # type: ignore[arg-type]


def test_without_tools_there_is_no_tool_node() -> None:
    agent = create_react_agent(ScriptedModel(["hello"]), [])
    assert "tools" not in agent.builder.nodes
    # A call the model makes anyway ends the run, as in LangGraph.
    model = ScriptedModel([turn((1, 2))])
    out = create_react_agent(model, []).invoke({"messages": [("user", "hi")]})
    assert out["messages"][-1].tool_calls and model.calls == 1


def test_a_last_message_that_is_not_a_model_turn_ends_the_run() -> None:
    state = {"messages": [turn((1, 2)), ToolMessage(content="3", tool_call_id="c0")]}
    assert routes().after_model(state) == "__end__"
    feedback = {"messages": [AssistantMessage(content="<tool_call>{"), UserMessage(content="x")]}
    assert routes().after_model(feedback) == "agent"  # a parse error: the model tries again
