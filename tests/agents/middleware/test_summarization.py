"""SummarizationMiddleware: trigger and keep arguments, the safe cut around tool turns, the
summary message replacing old turns (RemoveMessage of all, then summary and kept turns), with
a hone summary model and a LangChain one."""

from __future__ import annotations

from typing import Any

import pytest

from hone.agents import create_agent
from hone.agents.middleware import SummarizationMiddleware
from hone.graph._messages import REMOVE_ALL_MESSAGES, RemoveMessage
from hone.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage
from hone.models import ScriptedModel


def _conversation(turns: int) -> list[Any]:
    out: list[Any] = []
    for i in range(turns):
        out += [
            UserMessage(content=f"q{i}", id=f"u{i}"),
            AssistantMessage(content=f"a{i}", id=f"a{i}"),
        ]
    return out


def test_arguments_are_checked() -> None:
    model = ScriptedModel(["s"])
    with pytest.raises(ValueError, match="Fractional trigger values must be between 0 and 1"):
        SummarizationMiddleware(model, trigger=("fraction", 1.5))
    with pytest.raises(ValueError, match="keep thresholds must be greater than 0"):
        SummarizationMiddleware(model, keep=("messages", 0))
    with pytest.raises(ValueError, match="Unsupported trigger metric: 'turns'"):
        SummarizationMiddleware(model, trigger={"turns": 3})  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="Model profile information is required"):
        SummarizationMiddleware(model, trigger=("fraction", 0.5))
    with pytest.warns(DeprecationWarning, match="messages_to_keep is deprecated"):
        legacy = SummarizationMiddleware(model, messages_to_keep=4)
    assert legacy.keep == ("messages", 4)


def test_trigger_clauses_and_semantics() -> None:
    middleware = SummarizationMiddleware(
        ScriptedModel(["s"]), trigger=[{"tokens": 10_000, "messages": 2}, ("messages", 6)]
    )
    assert middleware._trigger_clauses == [{"tokens": 10_000, "messages": 2}, {"messages": 6}]
    assert not middleware._should_summarize(_conversation(2), 100)
    assert middleware._should_summarize(_conversation(3), 100)
    assert middleware._should_summarize(_conversation(1), 10_000)


def test_safe_cut_keeps_tool_calls_with_their_results() -> None:
    call = AssistantMessage(tool_calls=(ToolCall(id="c1", name="f", arguments={}),))
    messages = [UserMessage(content="q"), call, ToolMessage(content="r", tool_call_id="c1")]
    middleware = SummarizationMiddleware(ScriptedModel(["s"]))
    assert middleware._find_safe_cutoff_point(messages, 2) == 1
    assert middleware._find_safe_cutoff(messages, 1) == 1


def test_agent_summarizes_old_turns_with_a_hone_model() -> None:
    summary_model = ScriptedModel(["the user asked q0 and q1"])
    middleware = SummarizationMiddleware(
        summary_model, trigger=("messages", 5), keep=("messages", 2)
    )
    agent = create_agent(ScriptedModel(["final"]), middleware=[middleware])
    history = [*_conversation(2), UserMessage(content="q2", id="u2")]
    result = agent.invoke({"messages": history})
    contents = [m.content for m in result["messages"]]
    assert contents == [
        "Here is a summary of the conversation to date:\n\nthe user asked q0 and q1",
        "a1",
        "q2",
        "final",
    ]
    prompt = summary_model.requests[0].messages[0].content
    assert '<message type="human">q0</message>' in prompt
    assert "q2" not in prompt  # kept turns are not summarised


def test_the_summary_stays_out_of_the_messages_stream() -> None:
    middleware = SummarizationMiddleware(
        ScriptedModel(["SUMMARY TEXT"]), trigger=("messages", 5), keep=("messages", 2)
    )
    agent = create_agent(ScriptedModel(["final answer"]), middleware=[middleware])
    history = [*_conversation(2), UserMessage(content="q2", id="u2")]
    streamed = "".join(
        str(chunk.content)
        for chunk, _meta in agent.stream({"messages": history}, stream_mode="messages")
    )
    assert "final answer" in streamed
    # The summary model's tokens are not streamed: the summary shows up once, as the
    # message the middleware puts in the state.
    assert streamed.count("SUMMARY TEXT") == 1


def test_below_the_trigger_nothing_changes() -> None:
    middleware = SummarizationMiddleware(ScriptedModel(["unused"]), trigger=("tokens", 10_000))
    assert middleware.before_model({"messages": _conversation(3)}, None) is None


def test_update_shape_over_hone_messages() -> None:
    middleware = SummarizationMiddleware(
        ScriptedModel(["S"]), trigger=("messages", 3), keep=("messages", 1)
    )
    update = middleware.before_model({"messages": _conversation(2)}, None)
    assert update is not None
    remove, summary, kept = update["messages"]
    assert isinstance(remove, RemoveMessage) and remove.id == REMOVE_ALL_MESSAGES
    assert isinstance(summary, UserMessage)
    assert summary.content == "Here is a summary of the conversation to date:\n\nS"
    assert kept.id == "a1"


async def test_async_with_a_langchain_summary_model_and_callable_summarizer() -> None:
    messages_module = pytest.importorskip("langchain_core.messages")
    fake = pytest.importorskip("langchain_core.language_models.fake_chat_models")
    summary_model = fake.GenericFakeChatModel(
        messages=iter([messages_module.AIMessage(content="  short summary  ")])
    )
    middleware = SummarizationMiddleware(
        summary_model, trigger=("messages", 3), keep=("messages", 1)
    )
    history = [
        messages_module.HumanMessage(content="hello"),
        messages_module.AIMessage(content="hi"),
        messages_module.HumanMessage(content="bye"),
    ]
    update = await middleware.abefore_model({"messages": history}, None)
    assert update is not None
    remove, summary, kept = update["messages"]
    assert isinstance(remove, messages_module.RemoveMessage)
    assert isinstance(summary, messages_module.HumanMessage)
    assert summary.content == "Here is a summary of the conversation to date:\n\nshort summary"
    assert summary.additional_kwargs == {"lc_source": "summarization"}
    assert kept is history[2]

    seen: list[Any] = []

    async def summarize(old: list[Any]) -> str:
        seen.extend(old)
        return "custom"

    custom = SummarizationMiddleware(
        summary_model, trigger=("messages", 3), keep=("messages", 1), summarizer=summarize
    )
    update = await custom.abefore_model({"messages": history}, None)
    assert update is not None and update["messages"][1].content.endswith("custom")
    assert [m.content for m in seen] == ["hello", "hi"]
    with pytest.raises(TypeError, match="coroutine function synchronously"):
        custom.before_model({"messages": history}, None)
