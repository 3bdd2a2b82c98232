"""create_react_agent when its steps run out (LangGraph's answer by default, hone's
final-answer turn when asked), which model it calls, and the stops it reports."""

from __future__ import annotations

import warnings
from typing import Any

import pytest

from hone.agent import FinalAnswer, watch_stops
from hone.errors import ConfigError
from hone.graph import use_model
from hone.graph.prebuilt import create_react_agent
from hone.messages import AssistantMessage, AssistantMessageChunk, ToolCall
from hone.models import ScriptedModel
from hone.tools import tool

SORRY = "Sorry, need more steps to process this request."


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


CALL = AssistantMessage(tool_calls=(ToolCall(name="add", arguments={"a": 1, "b": 2}),))


def looping() -> ScriptedModel:
    """A model that calls a tool every time."""
    return ScriptedModel([CALL], when_exhausted="cycle")


def outcome(agent: Any, limit: int) -> tuple[str, str]:
    """How a run with ``recursion_limit=limit`` ends: ('ok', last text) or ('recursion', '')."""
    try:
        state = agent.invoke({"messages": [("user", "hi")]}, {"recursion_limit": limit})
    except RecursionError:  # hone's GraphRecursionError and LangGraph's both are one
        return "recursion", ""
    last = state["messages"][-1]
    return "ok", getattr(last, "text", None) or str(last.content)


LIMITS = [1, 2, 3, 4, 5, 6, 7]


def test_steps_running_out_end_as_in_langgraph() -> None:
    """Calls made and how each run ends, for every small recursion limit, are LangGraph's."""
    prebuilt = pytest.importorskip("langgraph.prebuilt")
    chat_models = pytest.importorskip("langchain_core.language_models.chat_models")
    from langchain_core.messages import AIMessage
    from langchain_core.outputs import ChatGeneration, ChatResult
    from langchain_core.tools import tool as langchain_tool

    @langchain_tool
    def lc_add(a: int, b: int) -> int:
        """Add two integers."""
        return a + b

    class Looping(chat_models.BaseChatModel):  # type: ignore[misc,name-defined]
        calls: int = 0

        def _generate(self, messages: Any, stop: Any = None, **kwargs: Any) -> ChatResult:
            self.calls += 1
            call = {"id": f"c{self.calls}", "name": "lc_add", "args": {"a": 1, "b": 2}}
            return ChatResult(
                generations=[ChatGeneration(message=AIMessage("", tool_calls=[call]))]
            )

        @property
        def _llm_type(self) -> str:
            return "looping"

        def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
            return self

    for limit in LIMITS:
        theirs_model, ours_model = Looping(), looping()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = prebuilt.create_react_agent(theirs_model, [lc_add])
        ours = create_react_agent(ours_model, [add])
        assert outcome(ours, limit) == outcome(theirs, limit), limit
        assert ours_model.calls == theirs_model.calls, limit


def test_by_default_the_agent_apologises_instead_of_raising() -> None:
    with watch_stops() as stops:
        assert outcome(create_react_agent(looping(), [add]), 4) == ("ok", SORRY)
    assert [s.reason for s in stops] == ["step_budget"]


def test_a_final_answer_turn_instead_never_hits_the_limit() -> None:
    for limit in LIMITS[1:]:
        model = looping()
        agent = create_react_agent(model, [add], final_answer=FinalAnswer("Answer now."))
        with watch_stops() as stops:
            state = agent.invoke({"messages": [("user", "hi")]}, {"recursion_limit": limit})
        *_, prompt, answer = state["messages"]
        assert prompt.role == "user" and prompt.text == "Answer now."
        assert answer.role == "assistant" and answer.tool_calls == ()
        assert model.requests[-1].tools == ()  # withheld
        assert all(r.tools for r in model.requests[:-1])
        assert [s.reason for s in stops] == ["step_budget"]


def test_an_answer_reports_answered() -> None:
    with watch_stops() as stops:
        create_react_agent(ScriptedModel(["hello"]), [add]).invoke({"messages": [("user", "hi")]})
    assert [s.reason for s in stops] == ["answered"]


def test_the_run_model_replaces_the_built_one() -> None:
    serving, policy = ScriptedModel(["serving"]), ScriptedModel(["policy"])
    agent = create_react_agent(serving, [add])
    with use_model(policy):
        state = agent.invoke({"messages": [("user", "hi")]})
    assert state["messages"][-1].text == "policy" and serving.calls == 0
    # Without a run model the built one answers.
    assert agent.invoke({"messages": [("user", "hi")]})["messages"][-1].text == "serving"


def test_an_agent_built_without_a_model_needs_the_run_to_give_one() -> None:
    agent = create_react_agent(None, [add])
    with pytest.raises(ConfigError, match="use_model"):
        agent.invoke({"messages": [("user", "hi")]})
    with use_model(ScriptedModel(["given"])):
        assert agent.invoke({"messages": [("user", "hi")]})["messages"][-1].text == "given"


def test_an_agent_asks_for_its_role() -> None:
    planner, solver = ScriptedModel(["plan"]), ScriptedModel(["solve"])
    agent = create_react_agent(None, [add], role="solver")
    with use_model({"planner": planner, "solver": solver}):
        assert agent.invoke({"messages": [("user", "hi")]})["messages"][-1].text == "solve"
    assert planner.calls == 0


def test_the_final_answer_streams_in_messages_mode() -> None:
    model = ScriptedModel([CALL, "It is three."])
    agent = create_react_agent(model, [add], final_answer=FinalAnswer())
    chunks = [
        chunk
        for chunk, _ in agent.stream(
            {"messages": [("user", "hi")]}, {"recursion_limit": 4}, stream_mode="messages"
        )
        if isinstance(chunk, AssistantMessageChunk)
    ]
    assert "".join(c.content for c in chunks) == "It is three."


def test_langgraphs_deprecated_config_schema_is_the_context_schema() -> None:
    from typing_extensions import TypedDict

    from hone.graph.prebuilt import create_react_agent
    from hone.models import ScriptedModel

    class Config(TypedDict):
        model: str

    with pytest.warns(DeprecationWarning, match="`config_schema` is deprecated"):
        agent = create_react_agent(ScriptedModel(["hi"]), [], config_schema=Config)
    assert agent.context_schema is Config
    with pytest.raises(TypeError, match=r"got unexpected keyword arguments: \{'extra': 'x'\}"):
        create_react_agent(ScriptedModel(["hi"]), [], extra="x")
