"""graph_program: compiled graphs (hone's, or anything with ``ainvoke``) as rollout programs."""

from __future__ import annotations

from typing import Annotated, Any, TypedDict

import pytest

from hone.errors import ConfigError
from hone.graph import END, START, StateGraph, add_messages, get_model
from hone.messages import AnyMessage
from hone.models._protocol import ChatRequest, ModelBackend
from hone.models._scripted import ScriptedModel
from hone.trajectory import graph_program, rollout, rollout_group


class State(TypedDict):
    messages: Annotated[list[AnyMessage], add_messages]


async def respond(state: State) -> dict[str, Any]:
    model: ModelBackend = get_model()
    completion = await model.complete(ChatRequest(messages=tuple(state["messages"])))
    return {"messages": [completion.message]}


def build() -> Any:
    graph = StateGraph(State)
    graph.add_node("respond", respond)
    graph.add_edge(START, "respond")
    graph.add_edge("respond", END)
    return graph.compile()


async def test_a_hone_graph_runs_as_a_program() -> None:
    model = ScriptedModel(["first", "second"])
    episodes = await rollout_group(graph_program(build()), "hello", model, group_size=2, seed=1)
    assert [e.final_text for e in episodes] == ["first", "second"]
    for episode in episodes:
        assert [m["role"] for m in episode.messages] == ["user", "assistant"]
        assert len(episode.calls) == 1 and episode.calls[0].has_tokens
        assert episode.calls[0].sampling["seed"] is not None


class FakeGraph:
    """Anything with LangGraph's ``ainvoke(input, config)``."""

    def __init__(self) -> None:
        self.configs: list[Any] = []

    async def ainvoke(self, input: Any, config: Any = None) -> Any:
        self.configs.append(config)
        model = config["configurable"]["model"]
        completion = await model.complete(ChatRequest(messages=(input["prompt"],)))
        return {"answer": completion.message.text, "steps": 1}


async def test_an_ainvoke_object_with_custom_input_and_output() -> None:
    from hone.messages import UserMessage

    fake = FakeGraph()
    program = graph_program(
        fake,
        make_input=lambda task: {"prompt": UserMessage(content=task["q"])},
        get_output=lambda state: state["answer"],
        config={"configurable": {"user": "u1"}, "recursion_limit": 5},
    )
    model = ScriptedModel(["yes"], when_exhausted="cycle")
    [first] = await rollout(program, {"id": "a", "q": "ok?"}, model)
    await rollout(program, {"id": "a", "q": "ok?"}, model)
    assert first.output == "yes" and first.messages[-1]["content"] == "yes"
    assert fake.configs[0]["recursion_limit"] == 5
    assert fake.configs[0]["configurable"]["user"] == "u1"
    assert (
        fake.configs[0]["configurable"]["thread_id"] != fake.configs[1]["configurable"]["thread_id"]
    )


async def test_a_graph_factory_receives_the_model() -> None:
    seen: list[Any] = []

    def factory(model: Any) -> FakeGraph:
        seen.append(model)
        return FakeGraph()

    program = graph_program(factory, make_input=lambda task: {"prompt": task})
    from hone.messages import UserMessage

    [episode] = await rollout(program, UserMessage(content="x"), ScriptedModel(["y"]))
    assert episode.status == "ok" and seen and seen[0].name == "scripted"


async def test_default_input_refuses_odd_tasks() -> None:
    [episode] = await rollout(graph_program(FakeGraph()), 42, ScriptedModel(["y"]))
    assert episode.status == "error" and "make_input" in (episode.error or "")
    with pytest.raises(ConfigError):
        await graph_program(FakeGraph())(3.5, None)
