"""create_react_agent end to end with a scripted model and an in-memory checkpointer."""

from __future__ import annotations

from typing import Any

from hone.checkpoint import InMemorySaver
from hone.graph import END
from hone.graph.prebuilt import ToolNode, create_react_agent
from hone.messages import AssistantMessage, SystemMessage, ToolMessage, UserMessage
from hone.models import ChatRequest, SamplingOptions, ScriptedModel
from hone.tools import tool

ADD = '<tool_call>{"name": "add", "arguments": {"a": 2, "b": 3}}</tool_call>'


@tool
def add(a: int, b: int) -> int:
    """Add two numbers."""
    return a + b


def cfg(thread: str) -> dict[str, Any]:
    return {"configurable": {"thread_id": thread}}


def test_agent_calls_tools_until_the_model_answers() -> None:
    model = ScriptedModel([ADD, "The sum is 5.", "Still 5."])
    agent = create_react_agent(
        model,
        [add],
        prompt="You add numbers.",
        checkpointer=InMemorySaver(),
        options=SamplingOptions(temperature=0.0),
    )
    out = agent.invoke({"messages": [("user", "2+3?")]}, cfg("a"))
    roles = [m.role for m in out["messages"]]
    assert roles == ["user", "assistant", "tool", "assistant"]
    assert out["messages"][2].text == "5" and out["messages"][-1].text == "The sum is 5."
    first: ChatRequest = model.requests[0]
    assert isinstance(first.messages[0], SystemMessage) and first.options.temperature == 0.0
    assert [t["function"]["name"] for t in first.tools] == ["add"]
    assert isinstance(model.requests[1].messages[-1], ToolMessage)
    # The thread remembers the conversation.
    again = agent.invoke({"messages": [("user", "and now?")]}, cfg("a"))
    assert len(again["messages"]) == 6 and again["messages"][-1].text == "Still 5."
    assert len(model.requests[2].messages) == 6  # system prompt + five messages


def test_parse_errors_go_back_to_the_model() -> None:
    model = ScriptedModel(["<tool_call>{bad json</tool_call>", ADD, "5"])
    out = create_react_agent(model, [add]).invoke({"messages": [("user", "2+3?")]})
    feedback = out["messages"][2]
    assert isinstance(feedback, UserMessage) and "could not be parsed" in feedback.text
    assert out["messages"][-1].text == "5" and model.calls == 3


def test_callable_prompt_and_ready_tool_node() -> None:
    def prompt(state: Any) -> list[Any]:
        return [("system", "Be brief."), *state["messages"][-1:]]

    model = ScriptedModel([AssistantMessage(content="ok")])
    agent = create_react_agent(model, ToolNode([add]), prompt=prompt)
    agent.invoke({"messages": [("user", "one"), ("user", "two")]})
    sent = model.requests[0].messages
    assert [m.text for m in sent] == ["Be brief.", "two"]


async def test_async_invoke_and_graph_shape() -> None:
    agent = create_react_agent(ScriptedModel([ADD, "5"]), [add])
    out = await agent.ainvoke({"messages": [("user", "2+3?")]})
    assert out["messages"][-1].text == "5"
    shape = agent.get_graph()
    assert set(shape.nodes) >= {"agent", "tools"}
    edges = {(e.source, e.target) for e in shape.edges}
    assert {("agent", "tools"), ("tools", "agent"), ("agent", END)} <= edges
