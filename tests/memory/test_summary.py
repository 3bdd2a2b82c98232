"""The running summary: old turns folded by the model, the newest kept, the history intact;
and short-term memory in run_agent and in create_react_agent's pre_model_hook."""

from __future__ import annotations

from typing import Any, NotRequired

import pytest

from hone.agent import AgentOptions, run_agent
from hone.checkpoint import InMemorySaver
from hone.errors import ConfigError, ContextBudgetError
from hone.graph import END, START, MessagesState, StateGraph
from hone.graph.prebuilt import create_react_agent
from hone.memory import (
    ApproximateCounter,
    RunningSummary,
    SummarizationNode,
    SummaryPolicy,
    TrimPolicy,
    summarize_messages,
    trim_messages,
)
from hone.messages import AssistantMessage, SystemMessage, ToolMessage, UserMessage, text_of
from hone.models import ScriptedModel
from hone.tools import tool


def _history(n: int) -> list[Any]:
    out: list[Any] = [SystemMessage(content="sys")]
    for i in range(n):
        out.append(UserMessage(id=f"u{i}", content=f"fact {i}: the code is {i * 7} " * 3))
        out.append(AssistantMessage(id=f"a{i}", content=f"noted {i}"))
    return out


def _summarizer(text: str = "SUMMARY") -> ScriptedModel:
    return ScriptedModel([text], when_exhausted="cycle")


def test_no_summary_while_it_fits() -> None:
    history = _history(2)
    result = summarize_messages(history, running_summary=None, model=_summarizer(), max_tokens=1000)
    assert result.messages == history and result.running_summary is None


def test_summarises_old_turns_and_keeps_new_ones() -> None:
    history = _history(10)
    model = _summarizer("codes 0..7")
    counter = ApproximateCounter()
    result = summarize_messages(
        history, running_summary=None, model=model, max_tokens=120, max_summary_tokens=30
    )
    state = result.running_summary
    assert isinstance(state, RunningSummary) and state.summary == "codes 0..7"
    assert result.messages[0] is history[0]
    note = result.messages[1]
    assert isinstance(note, UserMessage) and "codes 0..7" in text_of(note.content)
    kept = result.messages[2:]
    assert kept == history[len(history) - len(kept) :], "kept turns are the newest, unchanged"
    assert state.summarized_count == len(history) - 1 - len(kept)
    assert state.last_summarized_message_id == history[state.summarized_count].id
    assert counter.count(result.messages) <= 120
    request = model.requests[0]
    assert "fact 0" in text_of(request.messages[-1].content), "old turns go to the model"
    assert request.options.max_tokens == 30
    assert len(history) == 21, "the history itself is never changed"


def test_running_summary_resumes_and_resets() -> None:
    history = _history(10)
    model = _summarizer("S1")
    first = summarize_messages(
        history, running_summary=None, model=model, max_tokens=120, max_summary_tokens=30
    )
    grown = [*history, UserMessage(id="u10", content="one more")]
    again = summarize_messages(
        grown,
        running_summary=first.running_summary,
        model=model,
        max_tokens=120,
        max_summary_tokens=30,
    )
    calls = model.calls
    assert again.messages[-1] is grown[-1]
    assert "S1" in text_of(again.messages[1].content)
    # An edited history (the summarised ids no longer match) is summarised from the start.
    edited = [
        history[0],
        *[m.model_copy(update={"id": f"x{i}"}) for i, m in enumerate(history[1:])],
    ]
    fresh = summarize_messages(
        edited,
        running_summary=first.running_summary,
        model=model,
        max_tokens=120,
        max_summary_tokens=30,
    )
    assert model.calls == calls + 1
    assert "Previous summary:\n(none)" in text_of(model.requests[-1].messages[-1].content)
    assert fresh.running_summary is not None


def test_bad_budgets() -> None:
    with pytest.raises(ContextBudgetError):
        summarize_messages(
            _history(3),
            running_summary=None,
            model=_summarizer(),
            max_tokens=50,
            max_summary_tokens=50,
        )
    with pytest.raises(ContextBudgetError):
        summarize_messages(
            [SystemMessage(content="s" * 800), UserMessage(content="hi")],
            running_summary=None,
            model=_summarizer(),
            max_tokens=100,
            max_summary_tokens=20,
        )
    with pytest.raises(ConfigError):
        SummarizationNode(_summarizer(), max_tokens=100, output_messages_key="messages")


class _SummaryState(MessagesState):
    summarized_messages: NotRequired[list[Any]]
    context: NotRequired[dict[str, Any]]


def test_summarization_node_in_a_graph_keeps_history() -> None:
    seen: list[int] = []

    def reply(state: _SummaryState) -> dict[str, Any]:
        view = state["summarized_messages"]
        seen.append(len(view))
        return {"messages": [AssistantMessage(content="ok")]}

    graph = StateGraph(_SummaryState)
    graph.add_node(
        "summarize", SummarizationNode(_summarizer(), max_tokens=120, max_summary_tokens=30)
    )
    graph.add_node("reply", reply)
    graph.add_edge(START, "summarize")
    graph.add_edge("summarize", "reply")
    graph.add_edge("reply", END)
    app = graph.compile(checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    for i in range(8):
        out = app.invoke({"messages": [("user", f"fact {i}: the code is {i * 7} " * 3)]}, config)
    assert len(out["messages"]) == 16, "the stored history lost messages"
    assert isinstance(out["context"]["running_summary"], RunningSummary)
    assert seen[-1] < 16
    state = app.get_state(config)
    assert isinstance(state.values["context"]["running_summary"], RunningSummary), (
        "not checkpointed"
    )


@tool
def lookup(key: str) -> str:
    """Look a key up."""
    return f"value of {key} " * 20


def _tool_reply(i: int) -> str:
    return f'<tool_call>{{"name": "lookup", "arguments": {{"key": "k{i}"}}}}</tool_call>'


def test_run_agent_trims_what_the_model_sees_only() -> None:
    model = ScriptedModel([_tool_reply(i) for i in range(4)] + ["done"])
    policy = TrimPolicy(max_tokens=400)
    history = run_agent(
        model,
        [lookup],
        [("user", "start " * 10)],
        system="sys",
        options=AgentOptions(context=policy),
    )
    counter = ApproximateCounter()
    assert len(history) == 1 + 1 + 4 * 2 + 1, "the returned history must be whole"
    for request in model.requests:
        assert counter.count(request.messages, request.tools) <= 400
        assert isinstance(request.messages[0], SystemMessage)
        ids = {
            c.id for m in request.messages if isinstance(m, AssistantMessage) for c in m.tool_calls
        }
        assert all(m.tool_call_id in ids for m in request.messages if isinstance(m, ToolMessage))
    assert len(model.requests[-1].messages) < len(history) - 1


def test_run_agent_with_a_running_summary() -> None:
    model = ScriptedModel([_tool_reply(i) for i in range(5)] + ["done"])
    summarizer = _summarizer("earlier lookups: k0..k2")
    policy = SummaryPolicy(max_tokens=260, max_summary_tokens=40, model=summarizer)
    history = run_agent(model, [lookup], [("user", "go")], options=AgentOptions(context=policy))
    assert len(history) == 1 + 5 * 2 + 1
    assert summarizer.calls >= 1
    last = model.requests[-1].messages
    assert any("earlier lookups" in text_of(m.content) for m in last if isinstance(m, UserMessage))


def test_react_agent_pre_model_hook_trims_the_model_input() -> None:
    model = ScriptedModel([_tool_reply(i) for i in range(4)] + ["done"])

    def hook(state: dict[str, Any]) -> dict[str, Any]:
        return {"llm_input_messages": trim_messages(state["messages"], max_tokens=200)}

    agent = create_react_agent(model, [lookup], pre_model_hook=hook)
    out = agent.invoke({"messages": [("user", "start")]})
    assert len(out["messages"]) == 1 + 4 * 2 + 1, "the state keeps the whole history"
    assert all(ApproximateCounter().count(r.messages) <= 200 for r in model.requests)
    assert len(model.requests[-1].messages) < len(out["messages"])
    assert "pre_model_hook" in agent.get_graph().nodes


def test_react_agent_with_summarization_node() -> None:
    model = ScriptedModel([_tool_reply(i) for i in range(4)] + ["done"])
    node = SummarizationNode(
        _summarizer("S"),
        max_tokens=300,
        max_summary_tokens=40,
        output_messages_key="llm_input_messages",
    )
    agent = create_react_agent(model, [lookup], pre_model_hook=node, checkpointer=InMemorySaver())
    out = agent.invoke({"messages": [("user", "start")]}, {"configurable": {"thread_id": "x"}})
    assert len(out["messages"]) == 10
    assert isinstance(out["context"]["running_summary"], RunningSummary)
