"""create_react_agent's structured final answer (``response_format`` → ``structured_response``)
and the structured step behind it."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any, TypedDict

import pytest
from pydantic import BaseModel

from hone.agent import FinalAnswer
from hone.agents import StructuredStep, create_react_agent, roles_of
from hone.checkpoint import InMemorySaver
from hone.errors import ConfigError
from hone.graph import draw_mermaid
from hone.messages import AssistantMessage, SystemMessage, ToolCall, UserMessage
from hone.models import ChatRequest, ScriptedModel
from hone.tools import tool
from hone.trajectory import graph_program, rollout

ADD = '<tool_call>{"name": "add", "arguments": {"a": 2, "b": 3}}</tool_call>'


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


class Answer(BaseModel):
    """The final answer."""

    value: int
    unit: str


class Pick(TypedDict):
    index: int


def ask(agent: Any, config: Any = None) -> dict[str, Any]:
    out: dict[str, Any] = agent.invoke({"messages": [("user", "2+3?")]}, config)
    return out


def test_structured_response_after_the_answer() -> None:
    model = ScriptedModel([ADD, "It is 5.", '{"value": 5, "unit": "apples"}'])
    out = ask(create_react_agent(model, [add], response_format=Answer))
    assert out["structured_response"] == Answer(value=5, unit="apples")
    # The conversation is the agent's; the structured call adds no message (LangGraph's rule).
    assert [m.role for m in out["messages"]] == ["user", "assistant", "tool", "assistant"]
    last = model.requests[-1]
    assert last.tools == () and last.response_format is not None
    assert last.response_format["json_schema"]["name"] == "Answer"
    assert [m.text for m in last.messages] == ["2+3?", "", "5", "It is 5."]


def test_a_reply_that_does_not_fit_is_shown_and_retried() -> None:
    model = ScriptedModel(
        [
            "It is 5.",
            "five apples",
            '{"value": "five", "unit": "apples"}',
            '{"value": 5, "unit": "x"}',
        ]
    )
    out = ask(create_react_agent(model, [add], response_format=Answer))
    assert out["structured_response"] == Answer(value=5, unit="x")
    retries = [r.messages[-1] for r in model.requests[2:]]
    assert all(isinstance(m, UserMessage) for m in retries)
    assert "not valid JSON" in retries[0].text
    assert "'five' is not of type 'integer'" in retries[1].text
    # Each retry sees its own failed reply before the problems.
    assert model.requests[3].messages[-2].text == '{"value": "five", "unit": "apples"}'


def test_no_fitting_reply_leaves_none_never_raises(caplog: pytest.LogCaptureFixture) -> None:
    model = ScriptedModel(["It is 5.", "no", "still no", "never"])
    out = ask(create_react_agent(model, [add], response_format=Answer))
    assert out["structured_response"] is None
    assert model.calls == 4  # the answer, then three attempts
    assert "no structured response fit 'Answer' in 3 attempts" in caplog.text


def test_prompt_pair_and_own_step() -> None:
    model = ScriptedModel(["5", '{"index": 1}'])
    out = ask(create_react_agent(model, [], response_format=("Pick the index.", Pick)))
    assert out["structured_response"] == {"index": 1}
    sent = model.requests[-1].messages
    assert isinstance(sent[0], SystemMessage) and sent[0].text == "Pick the index."

    model = ScriptedModel(["5", '{"index": 9}', '{"index": 0}'])
    step = StructuredStep(
        Pick, max_attempts=2, check=lambda v: None if v["index"] < 2 else "index too big"
    )
    out = ask(create_react_agent(model, [], response_format=step))
    assert out["structured_response"] == {"index": 0}
    assert model.requests[-1].messages[-1].text == "index too big"


def test_bad_formats_fail_at_build_time() -> None:
    with pytest.raises(ConfigError, match=r"\(prompt, schema\)"):
        create_react_agent(ScriptedModel(["x"]), [], response_format=(Answer, "prompt"))  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="pydantic model class"):
        create_react_agent(ScriptedModel(["x"]), [], response_format=42)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="max_attempts"):
        StructuredStep(Answer, max_attempts=0)


@pytest.mark.parametrize("limit", [3, 4, 5, 6, 7, 8])
def test_the_budget_keeps_a_step_for_the_structured_answer(limit: int) -> None:
    """With a final-answer turn, a looping agent still ends with its structured answer at
    every recursion limit that fits one tool-free answer and the structured call."""

    def reply(request: ChatRequest) -> AssistantMessage | str:
        if request.response_format is not None:
            return '{"value": 3, "unit": "u"}'
        return AssistantMessage(tool_calls=(ToolCall(name="add", arguments={"a": 1, "b": 2}),))

    model = ScriptedModel([reply], when_exhausted="cycle")
    agent = create_react_agent(model, [add], response_format=Answer, final_answer=FinalAnswer())
    out = ask(agent, {"recursion_limit": limit})
    assert out["structured_response"] == Answer(value=3, unit="u")


def test_langchain_messages_and_checkpointed_threads() -> None:
    messages = pytest.importorskip("langchain_core.messages")
    model = ScriptedModel(["5", '{"value": 5, "unit": "u"}', "6", '{"value": 6, "unit": "u"}'])
    agent = create_react_agent(model, [], response_format=Answer, checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    out = agent.invoke({"messages": [messages.HumanMessage("2+3?")]}, config)
    assert isinstance(out["messages"][-1], messages.AIMessage)
    assert out["structured_response"].value == 5
    again = agent.invoke({"messages": [messages.HumanMessage("and 3+3?")]}, config)
    assert again["structured_response"].value == 6 and len(again["messages"]) == 4
    assert agent.get_state(config).values["structured_response"].value == 6


def test_streams_the_structured_reply_and_draws_its_node() -> None:
    model = ScriptedModel(["5", '{"value": 5, "unit": "u"}'], chunk_size=3)
    agent = create_react_agent(model, [], response_format=Answer)
    chunks = list(agent.stream({"messages": [("user", "2+3?")]}, stream_mode="messages"))
    nodes = {meta["langgraph_node"] for _, meta in chunks}
    assert nodes == {"agent", "generate_structured_response"}
    streamed = "".join(
        c.content for c, m in chunks if m["langgraph_node"] == "generate_structured_response"
    )
    assert json.loads(streamed) == {"value": 5, "unit": "u"}
    picture = draw_mermaid(agent)
    assert "agent -.-> generate_structured_response" in picture
    assert "generate_structured_response --> __end__" in picture


async def test_rollout_records_the_structured_call_under_the_agents_role() -> None:
    agent = create_react_agent(None, [add], response_format=Answer, role="solver")
    assert roles_of(agent) == ()  # the ReAct graph has no pattern metadata; name the role

    def reply(request: ChatRequest) -> str:
        if request.response_format is not None:
            return "bad" if len(request.messages) == 4 else '{"value": 5, "unit": "u"}'
        return ADD if len(request.messages) == 1 else "5"

    program = graph_program(agent)
    policy = ScriptedModel([reply], when_exhausted="cycle")
    (episode,) = await rollout(program, "2+3?", policy, roles=["solver"])
    assert episode.role == "solver" and episode.status == "ok"
    assert [c.role for c in episode.calls] == ["solver"] * 4
    # The failed attempt and its parse error are in the trajectory.
    assert episode.calls[2].parse_errors and "not valid JSON" in episode.calls[2].parse_errors[0]
    assert episode.calls[3].messages[-1]["content"] == episode.calls[2].parse_errors[0]
    assert episode.output["structured_response"] == {"value": 5, "unit": "u"}


def test_the_docs_picture_is_the_compiled_graph() -> None:
    docs = Path(__file__).resolve().parents[2] / "docs" / "patterns.md"
    section = docs.read_text(encoding="utf-8").split("## ReAct with a structured answer")[1]
    drawn = re.search(r"```mermaid\n(.*?)```", section, re.DOTALL)
    assert drawn is not None
    agent = create_react_agent(None, [add], response_format=Answer)
    assert drawn.group(1).strip() == draw_mermaid(agent).strip()
