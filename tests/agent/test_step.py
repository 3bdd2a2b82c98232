"""The agent step: requests, the turn's messages, the final-answer policy and stop reports,
alone and as ``run_agent`` uses them."""

from __future__ import annotations

import dataclasses

import pytest

from hone.agent import (
    AgentOptions,
    AgentStep,
    AgentStop,
    FinalAnswer,
    arun_agent,
    report_stop,
    run_agent,
    watch_stops,
)
from hone.errors import ConfigError
from hone.messages import AssistantMessage, SystemMessage, ToolCall, UserMessage
from hone.models import ChatRequest, Completion, SamplingOptions, ScriptedModel
from hone.tools import ToolRegistry, tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


@tool
def submit(answer: str) -> str:
    """Submit the final answer.

    Args:
        answer: The answer.
    """
    return f"submitted {answer}"


ADD = '<tool_call>{"name": "add", "arguments": {"a": 1, "b": 1}}</tool_call>'
SPECS = tuple(ToolRegistry([add]).specs())


def completion(message: AssistantMessage, **fields: object) -> Completion:
    return dataclasses.replace(Completion(message=message), **fields)  # type: ignore[arg-type]


class CutOff(ScriptedModel):
    """A scripted model whose replies stop at the token limit."""

    async def complete(self, request: ChatRequest) -> Completion:
        return dataclasses.replace(await super().complete(request), finish_reason="length")


def test_the_request_carries_system_prompt_tools_and_sampling() -> None:
    sampling = SamplingOptions(temperature=0.1)
    step = AgentStep(tools=SPECS, sampling=sampling, system="Be brief.")
    request = step.request([UserMessage(content="hi")])
    assert [m.role for m in request.messages] == ["system", "user"]
    assert request.tools == SPECS and request.options is sampling
    # A conversation that starts with its own system prompt keeps it.
    own = step.request([SystemMessage(content="Mine."), UserMessage(content="hi")])
    assert [m.text for m in own.messages] == ["Mine.", "hi"]


def test_the_final_request_appends_the_prompt_and_withholds_the_tools() -> None:
    step = AgentStep(tools=SPECS, final_answer=FinalAnswer("Answer now."))
    request = step.request([UserMessage(content="hi")], final=True)
    assert request.tools == ()
    assert isinstance(request.messages[-1], UserMessage)
    assert request.messages[-1].text == "Answer now."
    with pytest.raises(ConfigError, match="FinalAnswer"):
        AgentStep(final_answer=None).request([UserMessage(content="hi")], final=True)


def test_an_empty_final_answer_prompt_is_refused() -> None:
    with pytest.raises(ConfigError, match="empty"):
        FinalAnswer("  ")


def test_turns_and_their_stop_reasons() -> None:
    step = AgentStep()
    calls = AssistantMessage(tool_calls=(ToolCall(name="add", arguments={"a": 1, "b": 2}),))
    assert step.turn(completion(calls)).stop is None
    answer = step.turn(completion(AssistantMessage(content="3")))
    assert answer.stop == "answered" and answer.messages == (AssistantMessage(content="3"),)
    cut = step.turn(completion(AssistantMessage(content="3, and"), finish_reason="length"))
    assert cut.stop == "truncated"
    # Parse errors go back to the model once, as the parser phrased them.
    bad = step.turn(completion(AssistantMessage(content="?"), parse_errors=("one.", "two.")))
    assert bad.stop is None
    assert isinstance(bad.messages[1], UserMessage) and bad.messages[1].text == "one.\ntwo."
    # The final answer drops tool calls and always ends the agent.
    final = step.turn(completion(calls), final=True)
    assert final.stop == "step_budget" and final.reply.tool_calls == ()
    assert [m.role for m in final.messages] == ["user", "assistant"]


async def test_a_step_reports_only_the_turns_that_end_the_agent() -> None:
    model = ScriptedModel([ADD, "2"])
    step = AgentStep(tools=SPECS)
    with watch_stops() as stops:
        first = await step.arun(model, [UserMessage(content="1+1?")])
        assert stops == []
        await step.arun(model, [UserMessage(content="1+1?"), *first.messages])
    assert stops == [AgentStop("answered", model)]


def test_reports_outside_a_watch_go_nowhere() -> None:
    report_stop("answered", ScriptedModel(["x"]))  # no error, nothing kept


@pytest.mark.parametrize(
    ("replies", "options", "reason"),
    [
        (["2"], AgentOptions(), "answered"),
        ([ADD, ADD, "late"], AgentOptions(max_steps=2), "step_budget"),
        ([ADD, ADD], AgentOptions(max_steps=2, final_answer=None), "step_budget"),
        (
            ['<tool_call>{"name": "submit", "arguments": {"answer": "2"}}</tool_call>'],
            AgentOptions(stop_tools={"submit"}),
            "stop_tool",
        ),
    ],
)
def test_run_agent_reports_why_it_stopped(
    replies: list[str], options: AgentOptions, reason: str
) -> None:
    model = ScriptedModel(replies)
    with watch_stops() as stops:
        run_agent(model, [add, submit], "1+1?", options=options)
    assert [s.reason for s in stops] == [reason]
    assert stops[0].model is model


def test_a_cut_off_answer_is_reported_as_truncated() -> None:
    with watch_stops() as stops:
        history = run_agent(CutOff(["The answer is"]), [], "1+1?")
    assert history[-1].text == "The answer is"
    assert [s.reason for s in stops] == ["truncated"]


async def test_a_custom_final_answer_prompt_is_sent() -> None:
    model = ScriptedModel([ADD, "It is 2."])
    options = AgentOptions(max_steps=1, final_answer=FinalAnswer("Stop. Answer."))
    history = await arun_agent(model, [add], "1+1?", options=options)
    assert [m.role for m in history] == ["user", "assistant", "tool", "user", "assistant"]
    assert history[-2].text == "Stop. Answer." and model.requests[-1].tools == ()


def test_without_a_final_answer_the_run_ends_on_the_last_tool_results() -> None:
    model = ScriptedModel([ADD])
    history = run_agent(model, [add], "1+1?", options=AgentOptions(max_steps=1, final_answer=None))
    assert history[-1].role == "tool" and model.calls == 1
