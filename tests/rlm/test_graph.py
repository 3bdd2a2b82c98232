"""The RLM as a compiled graph: invoke, stream, checkpoint, roles for rollouts."""

from __future__ import annotations

from typing import Any

import pytest

from hone.agents import roles_of
from hone.checkpoint import InMemorySaver
from hone.errors import ConfigError
from hone.messages import AssistantMessageChunk
from hone.models import ScriptedModel
from hone.rlm import RLMConfig, RLMUsage, create_rlm_agent, rlm_roles
from hone.trajectory import graph_program, rollout

from ._helpers import code, finish


def coder() -> ScriptedModel:
    return ScriptedModel([code("print(context.count('b'))"), finish(2)])


def test_invoke_returns_the_answer_and_what_was_spent() -> None:
    graph = create_rlm_agent(coder())
    out = graph.invoke({"context": "abcb", "question": "How many b?"})
    assert out["answer"] == 2 and out["ready"] is True
    assert out["stop_reason"] == "answered"
    assert isinstance(out["usage"], RLMUsage) and out["usage"].iterations == 2
    assert [m.text for m in out["transcript"] if m.name == "sandbox"] == ["2", "(no output)"]


def test_roles_of_the_graph_are_the_rlm_roles() -> None:
    graph = create_rlm_agent(coder(), config=RLMConfig(max_depth=2))
    assert roles_of(graph) == rlm_roles(2)


async def test_streams_tokens_and_one_event_per_block() -> None:
    graph = create_rlm_agent(coder())
    tokens: list[str] = []
    events: list[dict[str, Any]] = []
    async for mode, chunk in graph.astream(
        {"context": "abcb", "question": "How many b?"}, stream_mode=["messages", "custom"]
    ):
        if mode == "messages":
            message, _ = chunk
            if isinstance(message, AssistantMessageChunk):
                tokens.append(message.text)
            else:  # the transcript written to the state; its streamed replies are not repeated
                assert message.type != "ai"
        else:
            events.append(chunk["rlm"])
    assert "".join(tokens).startswith("```python\nprint(context.count('b'))")
    assert [(e["iteration"], e["status"], e["observation"]) for e in events] == [
        (1, "ok", "2"),
        (2, "ok", "(no output)"),
    ]


def test_a_checkpointer_keeps_each_run_on_its_thread() -> None:
    graph = create_rlm_agent(ScriptedModel([finish(1), finish(2)]), checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    graph.invoke({"context": "x", "question": "first?"}, config)
    graph.invoke({"context": "xy", "question": "second?"}, config)
    state = graph.get_state(config)
    assert state.values["answer"] == 2 and state.values["question"] == "second?"
    assert isinstance(state.values["usage"], RLMUsage)
    assert len(list(graph.get_state_history(config))) >= 4


async def test_a_graph_rollout_records_per_role() -> None:
    graph = create_rlm_agent(config=RLMConfig(max_depth=0))
    root = ScriptedModel([code("print(llm_query('hi'))"), finish("ok")])
    models = {"rlm": root, "llm_query": ScriptedModel(["hello"])}
    episodes = await rollout(
        graph_program(graph, make_input=lambda task: {"context": task["text"], "question": "q?"}),
        {"id": "g", "text": "abc"},
        models,
    )
    assert [(e.role, len(e.calls)) for e in episodes] == [("rlm", 2), ("llm_query", 1)]
    assert episodes[0].stop_reason == "answered"


def test_bad_state_is_a_precise_error() -> None:
    graph = create_rlm_agent(coder())
    with pytest.raises(ConfigError, match="question must be a non-empty str"):
        graph.invoke({"context": "abc"})
