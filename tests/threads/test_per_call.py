"""The per-call runtime: any backend; each tool call ends a call and the next call re-sends
the thread pruned on the text; problems go into the next call's user turn."""

from __future__ import annotations

import pytest

from hone.errors import ConfigError
from hone.messages import AssistantMessage, UserMessage, text_of
from hone.models import ChatRequest, ScriptedModel, TransformersModel
from hone.threads import (
    CONTINUE_PROMPT,
    LookupSuite,
    PruneRule,
    ThreadOptions,
    run_threads,
)
from hone.tools import tool


@tool
def lookup(key: str) -> int:
    """Look up a key.

    Args:
        key: The key.
    """
    return {"a": 1, "b": 2}[key]


CALL_A = '{"reasoning": {"thought": "Look up a.", "tooluse": {"tool_name": "lookup", "parameters": {"key": "a"}'


def _last_turns(request: ChatRequest) -> tuple[str, str]:
    *_, assistant, user = request.messages
    assert isinstance(assistant, AssistantMessage) and isinstance(user, UserMessage)
    return text_of(assistant.content), text_of(user.content)


def test_each_tool_call_ends_a_call_and_the_thread_is_sent_again() -> None:
    model = ScriptedModel(
        [
            CALL_A + ', "tool_result": "made up"}, "conclusion": "oops"',  # cut at the call
            ', "conclusion": "a is 1."}, "answer": "1"}',
        ]
    )
    result = run_threads(model, ["Find a."], [lookup])[0]
    assert result.stop == "answer" and result.answer == "1" and result.stats.calls == 2
    assert result.thread is not None and result.thread.reasoning.tooluse is not None
    assert result.thread.reasoning.tooluse.tool_result == "1"  # the runtime's, not the model's
    sent, asked = _last_turns(model.requests[1])
    assert sent == CALL_A + ', "tool_result": "1"}' and asked == CONTINUE_PROMPT
    assert model.requests[0].options.stop == ('"tool_result"',)
    assert len(result.completions) == 2  # each call is its own sample


def test_problems_go_into_the_next_call() -> None:
    model = ScriptedModel(
        [
            CALL_A.replace('"lookup"', '"lokup"'),
            '"lookup", "parameters": {"key": "a"}',
            ', "conclusion": "a is 1."}',  # the reply ends before the thread does
            ', "answer": "1"}',
        ]
    )
    result = run_threads(model, ["Find a."], [lookup])[0]
    assert result.stop == "answer" and len(result.errors) == 2
    sent, asked = _last_turns(model.requests[1])
    assert sent.endswith('"tool_name": ') and "unknown tool 'lokup'" in asked
    _, asked = _last_turns(model.requests[3])
    assert "not finished" in asked


def test_the_re_sent_text_is_pruned(tiny: TransformersModel) -> None:
    suite = LookupSuite(1, lookups=(6, 6), group_size=2, seed=3)
    options = ThreadOptions(prune=PruneRule(1), runtime="per_call")
    result = run_threads(
        tiny, suite.questions, suite.tools(), options=options, teacher=suite.tree_teacher()
    )[0]
    assert result.stop == "answer" and suite.check([result.answer]) == [True]
    assert result.stats.calls == suite.tasks[0].tool_calls + 1
    last = result.completions[-1]
    assert last.prompt_token_ids is not None and last.logprobs is not None
    single = run_threads(
        tiny,
        suite.questions,
        suite.tools(),
        options=ThreadOptions(prune=PruneRule(1)),
        teacher=suite.tree_teacher(),
    )[0]
    assert single.text == result.text
    # Re-sending costs far more tokens than writing results into one request.
    assert result.stats.processed_tokens > 3 * single.stats.processed_tokens


def test_context_overflow_ends_cleanly(tiny: TransformersModel) -> None:
    small = TransformersModel(tiny.model, tiny.tokenizer, max_context=300)
    result = run_threads(small, ["Find a."], [lookup], options=ThreadOptions(runtime="per_call"))[0]
    assert result.stop == "context_overflow" and "context" in result.detail


def test_misuse_is_refused(tiny: TransformersModel) -> None:
    with pytest.raises(ConfigError, match="single-request runtime needs a local"):
        run_threads(ScriptedModel(["x"]), ["t"], options=ThreadOptions(runtime="single_request"))
    teacher = LookupSuite(1, lookups=(2, 2)).tree_teacher()
    with pytest.raises(ConfigError, match="teacher forcing needs a local"):
        run_threads(ScriptedModel(["x"]), ["t"], teacher=teacher)
