"""Guardrail results, signatures checked at build time, failures named, decisions recorded."""

from __future__ import annotations

import asyncio
import pickle
from typing import Any

import pytest

from hone.agents import (
    GuardrailContext,
    GuardrailEvent,
    GuardrailResult,
    Guardrails,
    ToolOutputGuardrail,
)
from hone.agents._guard import as_check, run_checks
from hone.errors import ConfigError, GuardrailError, GuardrailTripwireError
from hone.graph import END, START, MessagesState, StateGraph
from hone.messages import ToolCall, UserMessage
from hone.trajectory import rollout

CONTEXT = GuardrailContext(agent="a", stage="input")


def allow_all(messages: Any) -> GuardrailResult:
    return GuardrailResult.allow()


def test_results_say_what_they_need() -> None:
    assert GuardrailResult.allow().action == "allow"
    assert GuardrailResult.reject("no").message == "no"
    assert GuardrailResult.rewrite("x").content == "x"
    assert GuardrailResult.raise_exception("stop").action == "raise"
    with pytest.raises(ConfigError, match="reject\\(\\) needs the message"):
        GuardrailResult("reject")
    with pytest.raises(ConfigError, match="rewrite\\(\\) needs"):
        GuardrailResult("rewrite")
    with pytest.raises(ConfigError, match="unknown guardrail action"):
        GuardrailResult("block")  # type: ignore[arg-type]


def test_functions_and_objects_are_guardrails() -> None:
    class Checker:
        name = "checker"

        async def check(self, call: ToolCall, output: str, context: GuardrailContext) -> Any:
            return GuardrailResult.allow()

    def short(messages: Any) -> GuardrailResult:
        return GuardrailResult.allow()

    async def with_context(messages: Any, context: GuardrailContext) -> GuardrailResult:
        return GuardrailResult.allow()

    checker: ToolOutputGuardrail = Checker()
    assert as_check(checker, "tool_output").name == "checker"
    assert as_check(short, "input").takes_context is False
    assert as_check(with_context, "input").takes_context is True
    with pytest.raises(ConfigError, match="Checker is a class; give an instance"):
        Guardrails(tool_output=[Checker])


def test_wrong_signatures_fail_at_build_time_naming_the_guardrail() -> None:
    def three(a: Any, b: Any, c: Any, d: Any) -> GuardrailResult:
        return GuardrailResult.allow()

    with pytest.raises(ConfigError, match="input guardrail 'three' must take \\(messages\\)"):
        Guardrails(input=[three])
    with pytest.raises(ConfigError, match="tool_output guardrail 'allow_all' must take"):
        Guardrails(tool_output=[allow_all])
    with pytest.raises(ConfigError, match="is not a output guardrail"):
        Guardrails(output=[42])
    with pytest.raises(ConfigError, match="allowed_tools must be tool names"):
        Guardrails(allowed_tools="search")
    with pytest.raises(ConfigError, match="is a input guardrail, given as output"):
        Guardrails(output=[as_check(allow_all, "input")])


def run(checks: list[Any], stage: Any = "input", text: str | None = None) -> Any:
    ready = [as_check(c, stage) for c in checks]
    context = GuardrailContext(agent="a", stage=stage)
    if stage == "output":
        return asyncio.run(run_checks(ready, context, lambda t: (t,), text=text))
    return asyncio.run(run_checks(ready, context, lambda _: ([UserMessage(content="hi")],)))


def test_a_guardrail_that_raises_is_a_guardrail_error_naming_it() -> None:
    def broken(messages: Any) -> GuardrailResult:
        raise KeyError("oops")

    with pytest.raises(GuardrailError, match="input guardrail 'broken' raised KeyError") as info:
        run([broken])
    assert info.value.guardrail == "broken" and info.value.stage == "input"
    assert isinstance(info.value.__cause__, KeyError)


def test_wrong_returns_and_misplaced_rewrites_are_guardrail_errors() -> None:
    def returns_bool(messages: Any) -> bool:
        return True

    def rewrites(messages: Any) -> GuardrailResult:
        return GuardrailResult.rewrite("other")

    with pytest.raises(GuardrailError, match="'returns_bool' returned True; return"):
        run([returns_bool])
    with pytest.raises(GuardrailError, match="only output and tool_output guardrails can"):
        run([rewrites])


def test_checks_run_in_order_and_stop_at_the_first_refusal() -> None:
    seen: list[str] = []

    def first(reply: str) -> GuardrailResult:
        seen.append(f"first:{reply}")
        return GuardrailResult.rewrite(reply.upper())

    async def second(reply: str) -> GuardrailResult:
        seen.append(f"second:{reply}")
        return GuardrailResult.reject("refused")

    def third(reply: str) -> GuardrailResult:
        seen.append("third")
        return GuardrailResult.allow()

    verdict = run([first, second, third], "output", "hi")
    assert verdict.action == "reject" and verdict.text == "refused"
    assert seen == ["first:hi", "second:HI"]
    rewritten = run([first], "output", "hi")
    assert rewritten.action == "rewrite" and rewritten.text == "HI"


def test_a_tripwire_carries_the_recorded_event_and_pickles() -> None:
    def stop(messages: Any) -> GuardrailResult:
        return GuardrailResult.raise_exception("unsafe", info={"score": 0.9})

    with pytest.raises(GuardrailTripwireError, match="input guardrail 'stop' tripped: unsafe") as e:
        run([stop])
    event = e.value.event
    assert isinstance(event, GuardrailEvent) and event.info == {"score": 0.9}
    copy = pickle.loads(pickle.dumps(e.value))
    assert isinstance(copy, GuardrailTripwireError) and copy.message == "unsafe"
    assert copy.event == event


def _graph_with(checks: list[Any]) -> Any:
    bound = Guardrails(input=checks).bind(agent="a")

    def node(state: MessagesState) -> dict[str, Any]:
        return {"messages": [("assistant", "ok")]}

    graph = StateGraph(MessagesState)
    graph.add_node("guard_input", bound.input_node("node"), destinations=("node", END))
    graph.add_node("node", node)
    graph.add_edge(START, "guard_input").add_edge("node", END)
    return graph.compile()


def test_decisions_stream_in_custom_mode_but_plain_allows_do_not() -> None:
    def noted(messages: Any) -> GuardrailResult:
        return GuardrailResult.allow(info={"checked": len(messages)})

    app = _graph_with([allow_all, noted])
    chunks = list(app.stream({"messages": [("user", "hi")]}, stream_mode="custom"))
    assert chunks == [
        {
            "guardrail": {
                "guardrail": "noted",
                "stage": "input",
                "action": "allow",
                "agent": "a",
                "role": None,
                "message": None,
                "tool": None,
                "tool_call_id": None,
                "info": {"checked": 1},
            }
        }
    ]


def test_decisions_are_recorded_on_the_rollout_episode() -> None:
    def refuse(messages: Any) -> GuardrailResult:
        return GuardrailResult.reject("not today")

    app = _graph_with([refuse])

    async def program(task: Any, model: Any) -> Any:
        return await app.ainvoke({"messages": [("user", task)]})

    from hone.models import ScriptedModel

    (episode,) = asyncio.run(rollout(program, "hello", ScriptedModel(["unused"])))
    (record,) = episode.metadata["guardrails"]
    assert record["guardrail"] == "refuse" and record["action"] == "reject"
    assert record["message"] == "not today"
    assert episode.messages[-1] == {"role": "assistant", "content": "not today"}
