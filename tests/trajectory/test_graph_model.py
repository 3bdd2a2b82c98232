"""Training a graph agent: rollouts give graph nodes the recording policy (``get_model``), an
agent built for serving trains without being rebuilt, and episodes record why the agent
stopped as data (``Episode.stop_reason``), whatever the final-answer prompt says."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from hone.agent import AgentOptions, AgentStep, FinalAnswer, arun_agent
from hone.errors import ContextOverflowError, TrajectoryError
from hone.graph import END, START, MessagesState, StateGraph, get_model
from hone.graph.prebuilt import create_react_agent
from hone.messages import AnyMessage
from hone.models import ChatRequest, Completion, ModelBackend, ScriptedModel
from hone.tools import tool
from hone.trajectory import Episode, graph_program, rollout

CALL = '<tool_call>{"name": "add", "arguments": {"a": 1, "b": 1}}</tool_call>'


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


def policy(*replies: str) -> ScriptedModel:
    return ScriptedModel(list(replies), name="policy")


async def test_a_serving_agent_trains_on_the_recording_policy() -> None:
    serving = ScriptedModel(["never used"], name="serving")
    agent = create_react_agent(serving, [add], prompt="Add.")
    [episode] = await rollout(graph_program(agent), "1+1?", policy(CALL, "2"), seed=3)
    assert serving.calls == 0
    assert [c.model for c in episode.calls] == ["policy", "policy"]
    assert all(c.has_tokens for c in episode.calls)
    assert episode.calls[0].messages[0] == {"role": "system", "content": "Add."}
    assert (episode.status, episode.stop_reason) == ("ok", "answered")
    assert episode.final_text == "2"


async def test_a_custom_final_answer_prompt_still_marks_the_spent_budget() -> None:
    final = FinalAnswer("Wrap it up and answer.")
    agent = create_react_agent(None, [add], final_answer=final)
    program = graph_program(agent, config={"recursion_limit": 4})
    [episode] = await rollout(program, "1+1?", policy(CALL, "2"))
    assert (episode.status, episode.stop_reason) == ("max_steps", "step_budget")
    assert episode.messages[-2] == {"role": "user", "content": "Wrap it up and answer."}
    assert episode.calls[-1].tools == []


async def test_run_agent_with_a_custom_prompt_is_marked_too() -> None:
    async def program(task: str, model: ModelBackend) -> list[Any]:
        options = AgentOptions(max_steps=1, final_answer=FinalAnswer("Answer, please."))
        return await arun_agent(model, [add], task, options=options)

    [episode] = await rollout(program, "1+1?", policy(CALL, "2"))
    assert (episode.status, episode.stop_reason) == ("max_steps", "step_budget")


@pytest.mark.parametrize(
    ("replies", "options", "expected"),
    [
        ([CALL], AgentOptions(max_steps=1, final_answer=None), ("max_steps", "step_budget")),
        (["2"], AgentOptions(), ("ok", "answered")),
    ],
)
async def test_run_agent_stops(
    replies: list[str], options: AgentOptions, expected: tuple[str, str]
) -> None:
    async def program(task: str, model: ModelBackend) -> list[Any]:
        return await arun_agent(model, [add], task, options=options)

    [episode] = await rollout(program, "1+1?", policy(*replies))
    assert (episode.status, episode.stop_reason) == expected


async def test_langgraphs_need_more_steps_answer_is_a_spent_budget() -> None:
    program = graph_program(create_react_agent(None, [add]), config={"recursion_limit": 2})
    [episode] = await rollout(program, "1+1?", policy(CALL))
    assert (episode.status, episode.stop_reason) == ("max_steps", "step_budget")


async def test_a_recursion_error_and_a_failure_are_stop_reasons() -> None:
    program = graph_program(create_react_agent(None, [add]), config={"recursion_limit": 3})
    [spent] = await rollout(program, "1+1?", ScriptedModel([CALL], when_exhausted="cycle"))
    assert (spent.status, spent.stop_reason) == ("max_steps", "step_budget")

    async def broken(task: str, model: ModelBackend) -> None:
        raise ContextOverflowError("too long")

    [overflow] = await rollout(broken, "x", policy("2"))
    assert (overflow.status, overflow.stop_reason) == ("context_overflow", "context_overflow")


async def test_a_program_without_an_agent_loop_has_no_stop_reason() -> None:
    async def one_call(task: str, model: ModelBackend) -> Completion:
        return await model.complete(ChatRequest(messages=()))

    [episode] = await rollout(one_call, "x", policy("2"))
    assert (episode.status, episode.stop_reason) == ("ok", None)


async def test_each_role_records_its_own_agents_stop() -> None:
    planner = create_react_agent(None, [add], role="planner")
    solver = create_react_agent(None, [add], role="solver", final_answer=FinalAnswer())

    async def program(task: str, models: Mapping[str, ModelBackend]) -> dict[str, Any]:
        plan = await planner.ainvoke({"messages": [("user", task)]})
        solved = await solver.ainvoke(
            {"messages": [("user", plan["messages"][-1].text)]}, {"recursion_limit": 4}
        )
        return {"planner": plan["messages"], "solver": solved["messages"]}

    models = {"planner": policy("Add one and one."), "solver": policy(CALL, "2")}
    episodes = {e.role: e for e in await rollout(program, "1+1?", models)}
    assert (episodes["planner"].status, episodes["planner"].stop_reason) == ("ok", "answered")
    assert episodes["solver"].stop_reason == "step_budget"
    assert episodes["solver"].status == "max_steps"


async def test_a_hand_built_graph_uses_get_model_and_the_agent_step() -> None:
    step = AgentStep(system="Reply briefly.")

    async def agent(state: MessagesState) -> dict[str, list[AnyMessage]]:
        turn = await step.arun(get_model(), state["messages"])
        return {"messages": list(turn.messages)}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", agent)
    graph.add_edge(START, "agent")
    graph.add_edge("agent", END)
    [episode] = await rollout(graph_program(graph.compile()), "hi", policy("hello"))
    assert episode.calls[0].messages[0]["content"] == "Reply briefly."
    assert (episode.stop_reason, episode.final_text) == ("answered", "hello")


def test_stop_reasons_round_trip_and_are_checked() -> None:
    episode = Episode(task_id="t", stop_reason="truncated")
    assert Episode.from_json(episode.to_json()).stop_reason == "truncated"
    old = episode.to_dict()
    del old["stop_reason"]
    old["version"] = 1  # written before stop reasons existed
    assert Episode.from_dict(old).stop_reason is None
    with pytest.raises(TrajectoryError, match="stop reason"):
        Episode.from_dict({**episode.to_dict(), "stop_reason": "bored"})


class Capped:
    """A wrapper a training loop might put around the program's model (as ``with_requests``
    does): it caps every request's ``max_tokens``."""

    def __init__(self, backend: ModelBackend) -> None:
        self.backend = backend
        self.name = backend.name

    async def complete(self, request: ChatRequest) -> Completion:
        options = request.options.with_(max_tokens=7)
        return await self.backend.complete(dataclasses.replace(request, options=options))

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        return [await self.complete(r) for r in requests]

    def stream(self, request: ChatRequest) -> Any:
        raise NotImplementedError


async def test_graph_nodes_get_the_model_the_program_was_given() -> None:
    inner = graph_program(create_react_agent(None, [add]))

    async def program(task: str, model: ModelBackend) -> Any:
        return await inner(task, Capped(model))

    [episode] = await rollout(program, "1+1?", policy("2"))
    assert episode.calls[0].sampling["max_tokens"] == 7
    assert episode.stop_reason == "answered"
