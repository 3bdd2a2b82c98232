"""split_thinking: reasoning blocks as Qwen3, DeepSeek-R1 and friends really emit them."""

from __future__ import annotations

from typing import Any

import pytest

from hone.parsing import get_parser, parse_openai_tool_calls, split_thinking
from hone.parsing._json import json_span_finder
from hone.parsing._thinking import UNCLOSED_THINK_ERROR


@pytest.mark.parametrize(
    ("text", "reasoning", "rest"),
    [
        pytest.param("<think>plan</think>\n\nanswer", "plan", "answer", id="both-tags"),
        pytest.param("plan it\n</think>\n\nanswer", "plan it", "answer", id="opening-in-prompt"),
        pytest.param("<think>\n\n</think>\n\nanswer", None, "answer", id="empty-block"),
        pytest.param("just an answer", None, "just an answer", id="no-tags"),
        pytest.param("", None, "", id="empty"),
        pytest.param("<think>a</think>x<think>b</think>y", "a\n\nb", "xy", id="two-blocks"),
        pytest.param("<THINKING>a</Thinking> y", "a", "y", id="thinking-any-case"),
        pytest.param("<think>a</think>b</think>c", "a", "bc", id="stray-close-dropped"),
        pytest.param("<think>a <think> b</think>c", "a\n\nb", "c", id="nested-open"),
        pytest.param("answer <think>more", "more", "answer", id="unclosed-after-answer"),
    ],
)
def test_splits(text: str, reasoning: str | None, rest: str) -> None:
    assert split_thinking(text) == (reasoning, rest, None)


def test_unclosed_think_is_all_reasoning_and_an_error() -> None:
    reasoning, rest, error = split_thinking("<think>Let me think about this step")
    assert (reasoning, rest, error) == ("Let me think about this step", "", UNCLOSED_THINK_ERROR)
    assert "</think>" in UNCLOSED_THINK_ERROR


def test_only_think_closed_has_no_answer_but_no_error() -> None:
    assert split_thinking("<think>hmm</think>") == ("hmm", "", None)


@pytest.mark.parametrize(
    ("parse", "text"),
    [
        ("json_action", '{"type": "final", "answer": "use <think> and </think>"}'),
        ("react", 'Action: f\nAction Input: {"q": "<think>x"}'),
        (
            "structured_chat",
            'Action:\n```json\n{"action": "f", "action_input": {"q": "</think>"}}\n```',
        ),
        ("llama3_json", '{"name": "f", "parameters": {"q": "<thinking>"}}'),
    ],
)
def test_think_tags_inside_json_are_data_for_every_json_format(parse: Any, text: str) -> None:
    out = get_parser(parse)(text)
    assert out.reasoning is None and out.errors == ()
    values = [c.arguments for c in out.tool_calls] + [out.final_answer]
    assert any("think" in str(v) for v in values)


def test_think_tags_inside_json_content_of_an_openai_reply_are_data() -> None:
    out = parse_openai_tool_calls(None, '<think>r</think>{"tag": "<think>"}')
    assert out.reasoning == "r" and out.content == '{"tag": "<think>"}'


def test_protected_spans_do_not_hide_reasoning_around_them() -> None:
    text = 'plan {"a": 1} more</think>{"b": "<think>"} tail'
    assert split_thinking(text, protect=json_span_finder) == (
        'plan {"a": 1} more',
        '{"b": "<think>"} tail',
        None,
    )
