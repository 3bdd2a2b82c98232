"""``run_agent`` and ``create_react_agent`` take the same agent step: for the same conversation
they send byte-identical requests (messages, tools, sampling) and add the same messages."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pytest

from hone.agent import AgentOptions, FinalAnswer, arun_agent
from hone.graph.prebuilt import create_react_agent
from hone.messages import AssistantMessage, ToolCall, to_openai
from hone.models import ChatRequest, SamplingOptions, ScriptedModel
from hone.models._scripted import Reply
from hone.tools import tool


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


def call(call_id: str, a: int, b: int) -> AssistantMessage:
    # Fixed ids: the tool results quote them, so both runs must see the same ones.
    return AssistantMessage(
        tool_calls=(ToolCall(id=call_id, name="add", arguments={"a": a, "b": b}),)
    )


def wire(request: ChatRequest, *, unnamed_tool_results: bool = False) -> str:
    """What a request sends, as bytes would: messages, tools and sampling in the OpenAI shape
    (``unnamed_tool_results``: without the ``name`` of tool results)."""
    messages = [to_openai(m) for m in request.messages]
    if unnamed_tool_results:
        messages = [
            {k: v for k, v in m.items() if not (m["role"] == "tool" and k == "name")}
            for m in messages
        ]
    return json.dumps(
        {
            "messages": messages,
            "tools": [dict(t) for t in request.tools],
            "options": repr(request.options),
            "tool_choice": request.tool_choice,
        },
        sort_keys=True,
    )


SAMPLING = SamplingOptions(temperature=0.3, max_tokens=64)
SYSTEM = "You add numbers."
DEFAULT_FINAL = FinalAnswer()


async def both(
    replies: Sequence[Reply], *, max_steps: int, final_answer: FinalAnswer | None = DEFAULT_FINAL
) -> tuple[list[str], list[str], list[Any], list[Any]]:
    """The requests and resulting conversations of the loop and of the graph agent (whose
    recursion limit gives it the same budget)."""
    loop_model, graph_model = ScriptedModel(list(replies)), ScriptedModel(list(replies))
    options = AgentOptions(max_steps=max_steps, sampling=SAMPLING, final_answer=final_answer)
    history = await arun_agent(loop_model, [add], "What is 2 + 3?", system=SYSTEM, options=options)
    agent = create_react_agent(
        graph_model, [add], prompt=SYSTEM, options=SAMPLING, final_answer=final_answer
    )
    state = await agent.ainvoke(
        {"messages": [("user", "What is 2 + 3?")]}, {"recursion_limit": 2 * max_steps + 2}
    )
    return (
        [wire(r) for r in loop_model.requests],
        [wire(r) for r in graph_model.requests],
        [to_openai(m) for m in history[1:]],  # the loop keeps its system prompt in the history
        [to_openai(m) for m in state["messages"]],
    )


async def test_a_tool_round_then_an_answer() -> None:
    loop, graph, loop_msgs, graph_msgs = await both([call("c1", 2, 3), "It is 5."], max_steps=4)
    assert len(loop) == 2 and loop == graph
    assert loop_msgs == graph_msgs
    assert json.loads(loop[0])["messages"][0] == {"role": "system", "content": SYSTEM}


async def test_a_parse_error_is_phrased_once_for_both() -> None:
    replies: list[Reply] = ["<tool_call>{not json</tool_call>", call("c1", 2, 3), "5"]
    loop, graph, loop_msgs, graph_msgs = await both(replies, max_steps=4)
    assert len(loop) == 3 and loop == graph
    assert loop_msgs == graph_msgs
    feedback = loop_msgs[2]
    assert feedback["role"] == "user" and feedback["content"].startswith(
        "Your tool call could not be parsed"
    )


@pytest.mark.parametrize("max_steps", [1, 2, 3])
async def test_the_final_answer_turn_when_the_budget_is_spent(max_steps: int) -> None:
    replies = [call(f"c{i}", i, 1) for i in range(max_steps)] + [call("late", 0, 0)]
    loop, graph, loop_msgs, graph_msgs = await both(
        replies, max_steps=max_steps, final_answer=FinalAnswer("Answer now.")
    )
    assert len(loop) == max_steps + 1 and loop == graph
    assert loop_msgs == graph_msgs
    last = json.loads(loop[-1])
    assert last["messages"][-1] == {"role": "user", "content": "Answer now."}
    assert last["tools"] == []  # withheld
    assert loop_msgs[-1]["role"] == "assistant" and "tool_calls" not in loop_msgs[-1]


async def test_langchain_conversations_get_the_same_requests() -> None:
    langchain_messages = pytest.importorskip("langchain_core.messages")
    question = langchain_messages.HumanMessage(content="What is 2 + 3?")
    replies: list[Reply] = [call("c1", 2, 3), "5"]
    loop_model, graph_model = ScriptedModel(replies), ScriptedModel(replies)
    history = await arun_agent(loop_model, [add], [question], system=SYSTEM)
    agent = create_react_agent(graph_model, [add], prompt=SYSTEM)
    state = await agent.ainvoke({"messages": [question]})
    assert [type(m).__name__ for m in history[1:]] == [type(m).__name__ for m in state["messages"]]
    # ToolNode names LangChain tool results after their tool, as LangGraph's ToolNode does;
    # run_agent's results carry no name. Everything else is the same.
    unnamed = [wire(r, unnamed_tool_results=True) for r in graph_model.requests]
    assert [wire(r) for r in loop_model.requests] == unnamed
