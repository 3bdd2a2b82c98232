"""AutoModeMiddleware: guarded tool calls run below a 0.5 risk probability and are answered
with an error at or above it (hone and LangChain conversations); unguarded tools are never
classified; what the classifier sees; configuration checks."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest
from langchain_core.decisions import (
    BaseDecisionModel,
    ClassifierResponse,
    Noul,
    NoulAnswer,
    Question,
    State,
)
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.messages import ToolMessage as LangChainToolMessage
from langchain_core.tools import tool as langchain_tool
from pydantic import Field, ValidationError

from hone.agents import create_agent
from hone.agents.middleware import AutoModeMiddleware
from hone.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage
from hone.models import ScriptedModel
from hone.tools import tool


class _Risk(BaseDecisionModel):
    model: str = "fake"
    probability: float = 0.0
    error: str | None = None
    requests: list[Any] = Field(default_factory=list)

    @property
    def _provider(self) -> str:
        return "fake"

    def _classify(self, state: State, questions: dict[str, Question]) -> ClassifierResponse:
        self.requests.append((state, questions))
        if self.error is not None:
            raise RuntimeError(self.error)
        return ClassifierResponse(
            model=self.model, answers={"is_risky": NoulAnswer(type="noul", noul=self.probability)}
        )


def _hone_agent(middleware: AutoModeMiddleware, runs: list[str]) -> Any:
    @tool
    def delete_file(path: str) -> str:
        """Delete a file at the supplied path."""
        runs.append(path)
        return "deleted"

    call = ToolCall(id="call_1", name="delete_file", arguments={"path": "/tmp/r.txt"})
    model = ScriptedModel([AssistantMessage(content="", tool_calls=(call,)), "done"])
    return create_agent(model, tools=[delete_file], middleware=[middleware])


@pytest.mark.parametrize(("probability", "blocked"), [(0.2, False), (0.5, True)])
def test_hone_calls_run_or_are_blocked(probability: float, blocked: bool) -> None:
    runs: list[str] = []
    middleware = AutoModeMiddleware(
        tools=["delete_file"], classifier=_Risk(probability=probability)
    )
    out = _hone_agent(middleware, runs).invoke({"messages": [UserMessage(content="Delete it")]})
    [answer] = [m for m in out["messages"] if isinstance(m, ToolMessage)]
    assert answer.is_error is blocked
    assert answer.tool_call_id == "call_1"
    assert runs == ([] if blocked else ["/tmp/r.txt"])
    if blocked:
        assert answer.content == (
            "The tool call `delete_file` was blocked because it was classified as risky "
            "(probability: 0.50). The tool was not executed."
        )


def test_classifier_sees_call_description_and_latest_30_messages() -> None:
    classifier = _Risk(probability=0.9)
    middleware = AutoModeMiddleware(tools=[" delete_file "], classifier=classifier)
    history = [UserMessage(content=f"message {i}") for i in range(31)]
    _hone_agent(middleware, []).invoke({"messages": history})
    [(state, questions)] = classifier.requests
    assert len(state["messages"]) == 30
    assert state["messages"][0].content == "message 2"
    assert state["tool_call"] == {
        "id": "call_1",
        "name": "delete_file",
        "args": {"path": "/tmp/r.txt"},
    }
    assert state["tool_description"] == "Delete a file at the supplied path."
    assert isinstance(questions["is_risky"], Noul)
    assert questions["is_risky"].criteria is None


def test_unguarded_tool_is_not_classified() -> None:
    runs: list[str] = []
    classifier = _Risk(probability=0.9)
    middleware = AutoModeMiddleware(tools=["other_tool"], classifier=classifier)
    _hone_agent(middleware, runs).invoke({"messages": [UserMessage(content="go")]})
    assert runs == ["/tmp/r.txt"]
    assert classifier.requests == []


class _ToolModel(GenericFakeChatModel):
    def bind_tools(self, tools: Sequence[Any], **kwargs: Any) -> Any:
        return self


@pytest.mark.parametrize("probability", [0.1, 0.95])
async def test_langchain_conversation_async(probability: float) -> None:
    runs: list[str] = []

    @langchain_tool
    def delete_file(path: str) -> str:
        """Delete a file at the supplied path."""
        runs.append(path)
        return "deleted"

    call = {"name": "delete_file", "args": {"path": "/x"}, "id": "c1", "type": "tool_call"}
    model = _ToolModel(messages=iter([AIMessage("", tool_calls=[call]), AIMessage("done")]))
    middleware = AutoModeMiddleware(tools=[delete_file], classifier=_Risk(probability=probability))
    agent = create_agent(model, tools=[delete_file], middleware=[middleware])
    out = await agent.ainvoke({"messages": [HumanMessage("Delete /x")]})
    [answer] = [m for m in out["messages"] if isinstance(m, LangChainToolMessage)]
    assert answer.status == ("error" if probability >= 0.5 else "success")
    assert runs == ([] if probability >= 0.5 else ["/x"])


def test_classifier_failure_ends_the_run_without_running_the_tool() -> None:
    runs: list[str] = []
    middleware = AutoModeMiddleware(tools=["delete_file"], classifier=_Risk(error="unavailable"))
    with pytest.raises(RuntimeError, match="unavailable"):
        _hone_agent(middleware, runs).invoke({"messages": [UserMessage(content="go")]})
    assert runs == []


@pytest.mark.parametrize("tools", [[], "delete_file", [42]])
def test_bad_tools_are_rejected(tools: Any) -> None:
    with pytest.raises(ValidationError):
        AutoModeMiddleware(tools=tools, classifier=_Risk())
