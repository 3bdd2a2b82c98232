"""Trimming in whole turns: tool calls and their results stay together, the system prompt
stays, budgets are met exactly with the model's own chat template."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hone.errors import ContextBudgetError
from hone.memory import ApproximateCounter, ChatTemplateCounter, token_counter, trim_messages
from hone.messages import AssistantMessage, SystemMessage, ToolCall, ToolMessage, UserMessage
from hone.models import ScriptedModel


def _tool_turn(i: int, calls: int = 2, size: int = 20) -> list:
    ids = [f"c{i}_{k}" for k in range(calls)]
    return [
        AssistantMessage(content="", tool_calls=tuple(ToolCall(id=c, name="f") for c in ids)),
        *(ToolMessage(content="r" * size, tool_call_id=c) for c in ids),
    ]


def _conversation(turns: int) -> list:
    out: list = [SystemMessage(content="You are terse.")]
    for i in range(turns):
        out.append(UserMessage(content=f"question {i} " * 5))
        out.extend(_tool_turn(i))
        out.append(AssistantMessage(content=f"answer {i}"))
    return out


def assert_valid_openai_order(messages: list) -> None:
    """What OpenAI-style APIs demand: every tool message answers a call of the assistant
    message before its run of tool messages, and every call is answered."""
    open_calls: set[str] = set()
    for i, message in enumerate(messages):
        if isinstance(message, ToolMessage):
            assert message.tool_call_id in open_calls, f"orphan tool result at {i}"
            open_calls.discard(message.tool_call_id)
            continue
        assert not open_calls, f"unanswered tool calls before {i}"
        if isinstance(message, AssistantMessage):
            open_calls = {c.id for c in message.tool_calls}
    assert not open_calls, "unanswered tool calls at the end"


@settings(max_examples=60, deadline=None)
@given(
    turns=st.integers(1, 6),
    budget=st.integers(20, 600),
    strategy=st.sampled_from(["last", "first"]),
)
def test_trimming_never_orphans_tool_results(turns: int, budget: int, strategy: str) -> None:
    messages = _conversation(turns)
    counter = ApproximateCounter()
    try:
        kept = trim_messages(messages, max_tokens=budget, strategy=strategy)  # type: ignore[arg-type]
    except ContextBudgetError:
        return
    assert kept[0] is messages[0], "the system prompt must stay"
    assert counter.count(kept) <= budget
    assert_valid_openai_order(kept)
    body = kept[1:]
    if strategy == "last":
        assert body == messages[len(messages) - len(body) :], "not a suffix of whole turns"
    else:
        assert body == messages[1 : 1 + len(body)], "not a prefix of whole turns"


def test_keeps_the_most_that_fits() -> None:
    messages = _conversation(4)
    counter = ApproximateCounter()
    budget = counter.count(messages) - 1
    kept = trim_messages(messages, max_tokens=budget)
    assert counter.count(kept) <= budget
    # one more turn (the next older unit) would not fit
    dropped = len(messages) - len(kept)
    assert dropped >= 1
    assert kept[1] is not messages[1]


def test_tool_turn_goes_as_a_whole() -> None:
    messages = [
        SystemMessage(content="s"),
        UserMessage(content="u" * 40),
        *_tool_turn(0, calls=3, size=200),
    ]
    messages.append(AssistantMessage(content="final"))
    counter = ApproximateCounter()
    last_only = counter.count([messages[0], messages[-1]])
    kept = trim_messages(messages, max_tokens=last_only + 5)
    assert kept == [messages[0], messages[-1]], "part of a tool turn was kept"


def test_system_prompt_over_budget_is_an_error() -> None:
    messages = [SystemMessage(content="x" * 400), UserMessage(content="hi")]
    with pytest.raises(ContextBudgetError, match="system prompt alone"):
        trim_messages(messages, max_tokens=10)
    with pytest.raises(ContextBudgetError):
        trim_messages(messages, max_tokens=0)


def test_newest_turn_too_big_is_an_error_not_an_empty_context() -> None:
    messages = [SystemMessage(content="s"), UserMessage(content="y" * 1000)]
    with pytest.raises(ContextBudgetError, match="newest turn"):
        trim_messages(messages, max_tokens=20)


def test_start_on_human_drops_leading_non_user_turns() -> None:
    messages = _conversation(3)
    counter = ApproximateCounter()
    answer = len(messages) - 6  # "answer 1", then the last question's turn
    assert messages[answer].content == "answer 1"
    budget = counter.count([messages[0], *messages[answer:]])
    plain = trim_messages(messages, max_tokens=budget)
    assert plain[1] is messages[answer]
    kept = trim_messages(messages, max_tokens=budget, start_on="human")
    assert kept[1] is messages[answer + 1] and isinstance(kept[1], UserMessage)
    tool_only = counter.count([messages[0], *messages[-4:]])
    with pytest.raises(ContextBudgetError, match="no message of type"):
        trim_messages(messages, max_tokens=tool_only, start_on="human")


def test_chat_template_counts_are_exact_for_local_models() -> None:
    pytest.importorskip("transformers")
    from hone.models import load_model

    model = load_model("tiny:")
    counter = token_counter(model)
    assert isinstance(counter, ChatTemplateCounter)
    messages = _conversation(3)
    from hone.models import make_request

    exact = len(model.encode_prompt(make_request(messages)))
    assert counter.count(messages) == exact
    budget = exact - 1
    kept = trim_messages(messages, max_tokens=budget, token_counter=model)
    assert counter.count(kept) <= budget
    assert_valid_openai_order(kept)
    tools = [
        {
            "type": "function",
            "function": {
                "name": "f",
                "description": "d" * 50,
                "parameters": {"type": "object", "properties": {}},
            },
        }
    ]
    with_tools = trim_messages(messages, max_tokens=budget, token_counter=model, tools=tools)
    assert counter.count(with_tools, tools) <= budget
    assert len(with_tools) <= len(kept)


def test_remote_models_use_the_approximation() -> None:
    assert isinstance(token_counter(ScriptedModel(["hi"])), ApproximateCounter)


def test_langchain_messages_come_back_as_given() -> None:
    lc = pytest.importorskip("langchain_core.messages")
    messages = [
        lc.SystemMessage("sys"),
        lc.HumanMessage("old " * 50),
        lc.AIMessage("", tool_calls=[{"id": "t1", "name": "f", "args": {}}]),
        lc.ToolMessage("result " * 30, tool_call_id="t1"),
        lc.AIMessage("done"),
        lc.HumanMessage("new"),
    ]
    kept = trim_messages(messages, max_tokens=20)
    assert kept[0] is messages[0] and all(m in messages for m in kept)
    assert not any(isinstance(m, lc.ToolMessage) for m in kept[1:2])
    from langchain_core.messages.utils import count_tokens_approximately

    kept2 = trim_messages(messages, max_tokens=60, token_counter=count_tokens_approximately)
    assert count_tokens_approximately(kept2) <= 60
    for i, m in enumerate(kept2):
        if isinstance(m, lc.ToolMessage):
            assert isinstance(kept2[i - 1], lc.AIMessage | lc.ToolMessage)
