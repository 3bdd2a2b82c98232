"""Guardrails on create_react_agent: blocking input checks, answers checked, every tool call
screened before any runs, results checked, allow-lists per role, approval gates."""

from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest
from langchain_core.messages import AIMessage, HumanMessage

from hone.agents import GuardrailContext, GuardrailResult, Guardrails, create_react_agent
from hone.checkpoint import InMemorySaver
from hone.errors import ConfigError, GuardrailTripwireError
from hone.graph import Command
from hone.messages import AssistantMessage, ToolCall, ToolMessage
from hone.models import ScriptedModel
from hone.tools import tool

RUNS: Counter[str] = Counter()


@tool
def search(query: str) -> str:
    """Search the web.

    Args:
        query: What to look for.
    """
    RUNS["search"] += 1
    return f"results for {query}"


@tool
def send(to: str) -> str:
    """Send an email.

    Args:
        to: The recipient.
    """
    RUNS["send"] += 1
    return f"sent to {to}"


@pytest.fixture(autouse=True)
def _reset() -> None:
    RUNS.clear()


def calls(*pairs: tuple[str, dict[str, Any]]) -> AssistantMessage:
    """A model turn calling ``(tool, args)`` pairs, ids call_0, call_1, ..."""
    return AssistantMessage(
        tool_calls=tuple(
            ToolCall(id=f"call_{i}", name=name, arguments=args)
            for i, (name, args) in enumerate(pairs)
        )
    )


def cfg(thread: str = "t") -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def no_secrets(messages: Any) -> GuardrailResult:
    if "secret" in messages[-1].text:
        return GuardrailResult.reject("I can't help with that.")
    return GuardrailResult.allow()


# -- input ---------------------------------------------------------------------------------


def test_a_rejected_input_means_no_model_call_and_no_tool() -> None:
    model = ScriptedModel([calls(("search", {"query": "x"})), "done"])
    agent = create_react_agent(model, [search], guardrails=Guardrails(input=[no_secrets]))
    out = agent.invoke({"messages": [("user", "tell me the secret")]})
    assert [(m.role, m.text) for m in out["messages"]] == [
        ("user", "tell me the secret"),
        ("assistant", "I can't help with that."),
    ]
    assert model.calls == 0 and RUNS == {}
    # The same agent answers inputs that pass.
    out = agent.invoke({"messages": [("user", "find x")]})
    assert out["messages"][-1].text == "done" and model.calls == 2 and RUNS["search"] == 1


def test_a_langchain_conversation_gets_a_langchain_refusal() -> None:
    model = ScriptedModel(["never"])
    agent = create_react_agent(model, [search], guardrails=Guardrails(input=[no_secrets]))
    out = agent.invoke({"messages": [HumanMessage("a secret please")]})
    assert isinstance(out["messages"][-1], AIMessage) and model.calls == 0


def test_input_guardrails_block_the_model_until_they_finish() -> None:
    model = ScriptedModel(["hello"])
    seen: list[int] = []

    async def slow(messages: Any, context: GuardrailContext) -> GuardrailResult:
        await asyncio.sleep(0.05)
        seen.append(model.calls)  # the model has not been called yet
        assert context.stage == "input" and context.agent == "helper"
        return GuardrailResult.allow()

    agent = create_react_agent(model, [search], guardrails=Guardrails(input=[slow]), name="helper")
    assert agent.invoke({"messages": [("user", "hi")]})["messages"][-1].text == "hello"
    assert seen == [0] and model.calls == 1


def test_an_input_tripwire_stops_the_run_before_the_model() -> None:
    def stop(messages: Any) -> GuardrailResult:
        return GuardrailResult.raise_exception("abuse detected")

    model = ScriptedModel(["never"])
    agent = create_react_agent(model, [search], guardrails=Guardrails(input=[stop]))
    with pytest.raises(GuardrailTripwireError, match="abuse detected") as info:
        agent.invoke({"messages": [("user", "hi")]})
    assert info.value.guardrail == "stop" and model.calls == 0


def test_input_guardrails_run_at_each_entry_not_each_model_call() -> None:
    seen: list[int] = []

    def count(messages: Any) -> GuardrailResult:
        seen.append(len(messages))
        return GuardrailResult.allow()

    model = ScriptedModel([calls(("search", {"query": "x"})), "one", "two"])
    agent = create_react_agent(
        model, [search], guardrails=Guardrails(input=[count]), checkpointer=InMemorySaver()
    )
    agent.invoke({"messages": [("user", "first")]}, cfg())
    agent.invoke({"messages": [("user", "second")]}, cfg())
    assert seen == [1, 5] and model.calls == 3  # two entries, three model calls


# -- output --------------------------------------------------------------------------------


def redact(reply: AssistantMessage) -> GuardrailResult:
    if "555-" in reply.text:
        return GuardrailResult.rewrite(reply.text.replace("555-0199", "[redacted]"))
    return GuardrailResult.allow()


def test_the_answer_is_rewritten_before_it_enters_the_state() -> None:
    model = ScriptedModel([calls(("search", {"query": "bob"})), "Call Bob at 555-0199."])
    agent = create_react_agent(model, [search], guardrails=Guardrails(output=[redact]))
    out = agent.invoke({"messages": [("user", "bob's number?")]})
    assert out["messages"][-1].text == "Call Bob at [redacted]."
    assert RUNS["search"] == 1  # turns with tool calls are not answers: not checked


def test_a_rejected_answer_is_replaced_and_a_tripwire_raises() -> None:
    def on_topic(reply: AssistantMessage) -> GuardrailResult:
        if "poem" in reply.text:
            return GuardrailResult.reject("I can only talk about orders.")
        return GuardrailResult.allow()

    model = ScriptedModel(["Here is a poem."])
    agent = create_react_agent(model, [search], guardrails=Guardrails(output=[on_topic]))
    out = agent.invoke({"messages": [("user", "hi")]})
    assert out["messages"][-1].text == "I can only talk about orders."

    def stop(reply: AssistantMessage) -> GuardrailResult:
        return GuardrailResult.raise_exception()

    agent = create_react_agent(ScriptedModel(["x"]), [search], guardrails=Guardrails(output=[stop]))
    with pytest.raises(GuardrailTripwireError, match="output guardrail 'stop' tripped"):
        agent.invoke({"messages": [("user", "hi")]})


# -- tool calls ----------------------------------------------------------------------------


def only_safe_recipients(call: ToolCall) -> GuardrailResult:
    if call.name == "send" and not str(call.arguments["to"]).endswith("@example.com"):
        return GuardrailResult.reject("Only @example.com recipients are allowed.")
    return GuardrailResult.allow()


def test_a_rejected_call_does_not_run_and_the_model_reads_why() -> None:
    model = ScriptedModel(
        [calls(("send", {"to": "eve@evil.test"}), ("send", {"to": "ann@example.com"})), "ok"]
    )
    agent = create_react_agent(
        model, [send], guardrails=Guardrails(tool_input=[only_safe_recipients])
    )
    out = agent.invoke({"messages": [("user", "email them")]})
    refused, sent = (m for m in out["messages"] if isinstance(m, ToolMessage))
    assert refused.is_error and refused.text == "Only @example.com recipients are allowed."
    assert not sent.is_error and sent.text == "sent to ann@example.com"
    assert RUNS == {"send": 1}
    assert model.requests[1].messages[-2] == refused  # what the model read


def test_a_tripwire_on_any_call_means_no_call_of_the_turn_runs() -> None:
    def stop_eve(call: ToolCall) -> GuardrailResult:
        if call.arguments.get("to") == "eve@evil.test":
            return GuardrailResult.raise_exception("exfiltration attempt")
        return GuardrailResult.allow()

    turn = calls(("search", {"query": "x"}), ("send", {"to": "eve@evil.test"}))
    agent = create_react_agent(
        ScriptedModel([turn]), [search, send], guardrails=Guardrails(tool_input=[stop_eve])
    )
    with pytest.raises(GuardrailTripwireError, match="exfiltration attempt"):
        agent.invoke({"messages": [("user", "go")]})
    assert RUNS == {}  # the search, first in the turn, never ran either


def test_tool_results_are_rewritten_rejected_or_raised_on() -> None:
    def shorten(call: ToolCall, output: str) -> GuardrailResult:
        return GuardrailResult.rewrite(output[:7])

    model = ScriptedModel([calls(("search", {"query": "cats"})), "ok"])
    agent = create_react_agent(model, [search], guardrails=Guardrails(tool_output=[shorten]))
    out = agent.invoke({"messages": [("user", "cats?")]})
    assert out["messages"][2].text == "results" and not out["messages"][2].is_error

    def withhold(call: ToolCall, output: str) -> GuardrailResult:
        return GuardrailResult.reject("withheld")

    model = ScriptedModel([calls(("search", {"query": "cats"})), "ok"])
    agent = create_react_agent(model, [search], guardrails=Guardrails(tool_output=[withhold]))
    message = agent.invoke({"messages": [("user", "cats?")]})["messages"][2]
    assert message.text == "withheld" and message.is_error

    def stop(call: ToolCall, output: str) -> GuardrailResult:
        return GuardrailResult.raise_exception("bad output")

    model = ScriptedModel([calls(("search", {"query": "cats"})), "ok"])
    agent = create_react_agent(model, [search], guardrails=Guardrails(tool_output=[stop]))
    with pytest.raises(GuardrailTripwireError, match="bad output"):
        agent.invoke({"messages": [("user", "cats?")]})
    assert model.calls == 1  # the model never read the result


def test_invalid_calls_are_not_screened() -> None:
    seen: list[str] = []

    def spy(call: ToolCall) -> GuardrailResult:
        seen.append(call.name)
        return GuardrailResult.allow()

    turn = calls(("search", {"wrong": 1}), ("nope", {}), ("search", {"query": "x"}))
    model = ScriptedModel([turn, "ok"])
    agent = create_react_agent(model, [search], guardrails=Guardrails(tool_input=[spy]))
    agent.invoke({"messages": [("user", "go")]})
    assert seen == ["search"] and RUNS["search"] == 1


# -- allow-lists per role --------------------------------------------------------------------

TEAM = Guardrails(allowed_tools={"researcher": ["search"], "writer": ["send"]})


def test_an_allow_list_per_role_hides_and_refuses_other_tools() -> None:
    model = ScriptedModel([calls(("send", {"to": "ann@example.com"})), "ok"])
    agent = create_react_agent(model, [search, send], role="researcher", guardrails=TEAM)
    out = agent.invoke({"messages": [("user", "go")]})
    assert [t["function"]["name"] for t in model.requests[0].tools] == ["search"]
    refused = out["messages"][2]
    assert refused.is_error and "'send' is not allowed for role 'researcher'" in refused.text
    assert "Allowed tools: search" in refused.text and RUNS == {}
    writer = create_react_agent(
        ScriptedModel([calls(("send", {"to": "ann@example.com"})), "ok"]),
        [search, send],
        role="writer",
        guardrails=TEAM,
    )
    writer.invoke({"messages": [("user", "go")]})
    assert RUNS == {"send": 1}


def test_allow_list_mistakes_are_build_errors() -> None:
    with pytest.raises(ConfigError, match="no entry for 'editor'"):
        create_react_agent(ScriptedModel(["x"]), [search], role="editor", guardrails=TEAM)
    with pytest.raises(ConfigError, match="names tools it does not have: \\['send'\\]"):
        create_react_agent(
            ScriptedModel(["x"]), [search], guardrails=Guardrails(allowed_tools=["send"])
        )


# -- approval gates --------------------------------------------------------------------------


def approval_agent(guardrails: Guardrails) -> Any:
    model = ScriptedModel([calls(("send", {"to": "ann@example.com"})), "done"])
    return create_react_agent(model, [send], guardrails=guardrails, checkpointer=InMemorySaver())


def test_a_sensitive_tool_waits_for_approval_and_runs_exactly_once() -> None:
    screened: list[str] = []

    def spy(call: ToolCall) -> GuardrailResult:
        screened.append(call.id)
        return GuardrailResult.allow()

    agent = approval_agent(Guardrails(require_approval=["send"], tool_input=[spy]))
    paused = agent.invoke({"messages": [("user", "email ann")]}, cfg())
    (question,) = paused["__interrupt__"]
    assert question.value["action_request"] == {"tool": "send", "args": {"to": "ann@example.com"}}
    assert RUNS == {}
    out = agent.invoke(Command(resume={"type": "accept"}), cfg())
    assert out["messages"][-1].text == "done" and RUNS == {"send": 1}
    assert screened == ["call_0"]  # screened once, not again on resume
    agent.invoke(Command(resume={"type": "accept"}), cfg())  # nothing pending: no rerun
    assert RUNS == {"send": 1}


def test_a_rejected_approval_never_runs_the_tool() -> None:
    agent = approval_agent(Guardrails(require_approval=["send"]))
    agent.invoke({"messages": [("user", "email ann")]}, cfg())
    out = agent.invoke(Command(resume={"type": "reject", "message": "not now"}), cfg())
    refusal = out["messages"][2]
    assert refusal.is_error and "rejected" in refusal.text and "not now" in refusal.text
    assert RUNS == {}


def test_a_call_the_guardrails_refuse_is_never_put_to_the_reviewer() -> None:
    agent = approval_agent(Guardrails(require_approval=["send"], allowed_tools=[]))
    out = agent.invoke({"messages": [("user", "email ann")]}, cfg())
    assert "__interrupt__" not in out and "not allowed" in out["messages"][2].text
    assert RUNS == {}
