"""Replies cut off at the token limit: an unfinished call is reported, never repaired and run.

Every parser takes ``truncated=True`` when generation stopped at ``max_tokens``. A call the
cut left incomplete becomes an error saying so (phrased for the model); whole calls before
the cut are kept, and a reply that went on after a whole call is kept but flagged with an
error, so a reward can see it. Without ``truncated`` the lenient readers still repair.
"""

from __future__ import annotations

from typing import Any

import pytest

from hone.parsing import (
    get_parser,
    lenient_json,
    parse_hermes,
    parse_json_action,
    parse_openai_tool_calls,
    parse_react,
)
from hone.parsing._calls import CUT_OFF_AFTER_CALL_ERROR, cut_off_error

# (parser, a reply whose call the cut left incomplete but which lenient repair would run)
_REPAIRABLE = [
    ("hermes", '<tool_call>{"name": "f", "arguments": {"x": 12'),
    ("hermes", '{"name": "f", "arguments": {"x": 12'),
    ("qwen3_coder", "<tool_call>\n<function=f>\n<parameter=x>\n12"),
    ("llama3_json", '{"name": "f", "parameters": {"x": 12'),
    ("mistral", '[TOOL_CALLS]f[ARGS]{"x": 12'),
    ("mistral", '[TOOL_CALLS][{"name": "f", "arguments": {"x": 12'),
    ("json_action", '{"type": "tool", "name": "f", "arguments": {"x": 12'),
    ("structured_chat", 'Action:\n```json\n{"action": "f", "action_input": {"x": 12'),
    ("react", "Action: f\nAction Input: some text that was cu"),
    ("react", 'Action: f\nAction Input: {"x": 12'),
]


@pytest.mark.parametrize(("name", "text"), _REPAIRABLE)
def test_an_incomplete_call_runs_only_without_the_cut(name: Any, text: str) -> None:
    parser = get_parser(name)
    natural = parser(text)
    assert [c.name for c in natural.tool_calls] == ["f"] and not natural.truncated
    cut = parser(text, truncated=True)
    assert cut.tool_calls == () and cut.truncated
    assert len(cut.errors) == 1
    assert "cut off at the token limit" in cut.errors[0] and "not run" in cut.errors[0]


# (parser, a whole call followed by text up to the limit)
_AFTER_CALL = [
    ("hermes", '<tool_call>{"name": "f", "arguments": {}}</tool_call> and then I'),
    ("hermes", '<tool_call>{"name": "f", "arguments": {}} and then I'),
    ("qwen3_coder", "<tool_call>\n<function=f>\n</function>\n</tool_call>\nNext I will"),
    ("llama3_json", '{"name": "f", "parameters": {}} and then I'),
    ("mistral", '[TOOL_CALLS]f[ARGS]{"x": 1} and then I'),
    ("json_action", '{"type": "tool", "name": "f", "arguments": {}} and then I'),
    ("structured_chat", 'Action:\n```json\n{"action": "f"}\n```\nObservation: the'),
    ("react", "Action: f\nAction Input: x\nObservation: the result is"),
]


@pytest.mark.parametrize(("name", "text"), _AFTER_CALL)
def test_a_whole_call_before_the_cut_is_kept_and_flagged(name: Any, text: str) -> None:
    out = get_parser(name)(text, truncated=True)
    assert [c.name for c in out.tool_calls] == ["f"]
    assert out.truncated and out.errors == (CUT_OFF_AFTER_CALL_ERROR,)


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("hermes", '<tool_call>{"name": "f", "arguments": {}}</tool_call>'),
        ("hermes", '<tool_call>{"name": "f", "arguments": {}}'),  # cut right before the tag
        ("qwen3_coder", "<tool_call>\n<function=f>\n</function>"),
        ("llama3_json", '{"name": "f", "parameters": {}}'),
        ("mistral", "[TOOL_CALLS]f[ARGS]{}"),
        ("json_action", '{"type": "tool", "name": "f", "arguments": {}}'),
        ("react", 'Action: f\nAction Input: "quoted"'),
        ("react", "Action: f[inline input]"),
    ],
)
def test_a_call_that_ends_exactly_at_the_cut_is_whole(name: Any, text: str) -> None:
    out = get_parser(name)(text, truncated=True)
    assert [c.name for c in out.tool_calls] == ["f"] and out.errors == () and out.truncated


def test_text_cut_off_without_a_call_is_only_flagged() -> None:
    out = parse_hermes("The answer is that the", truncated=True)
    assert (out.content, out.errors, out.truncated) == ("The answer is that the", (), True)
    final = parse_react("Final Answer: Paris is the capi", truncated=True)
    assert final.final_answer == "Paris is the capi" and final.errors == () and final.truncated


def test_a_json_final_answer_cut_before_its_brace_is_not_taken() -> None:
    out = parse_json_action('{"type": "final", "answer": "42"', truncated=True)
    assert out.final_answer is None and "cut off" in out.errors[0]


def test_openai_arguments_cut_off_drop_only_the_last_call() -> None:
    calls = [
        {"id": "a", "function": {"name": "f", "arguments": '{"x": 1}'}},
        {"id": "b", "function": {"name": "g", "arguments": '{"x": 1'}},
    ]
    natural = parse_openai_tool_calls(calls, None)
    assert [c.id for c in natural.tool_calls] == ["a", "b"]
    cut = parse_openai_tool_calls(calls, None, truncated=True)
    assert [c.id for c in cut.tool_calls] == ["a"] and cut.truncated
    assert "cut off" in cut.errors[0]


def test_openai_hermes_fallback_passes_the_cut_on() -> None:
    out = parse_openai_tool_calls(
        None, '<tool_call>{"name": "f", "arguments": {"x": 1', truncated=True
    )
    assert out.tool_calls == () and out.truncated and "cut off" in out.errors[0]


@pytest.mark.parametrize(
    "text",
    ['{"a": [1, 2', '[{"a": 1}, {"b": 2', 'Sure: {"a": {"b": 1}', '```json\n{"a": 1\n```'],
)
def test_lenient_json_closes_brackets_only_when_allowed(text: str) -> None:
    value, error = lenient_json(text)
    assert error is None and value is not None
    assert lenient_json(text, allow_unclosed=False) == (
        None,
        "the JSON stops before its closing brackets",
    )


def test_lenient_json_without_repair_keeps_the_other_tolerances() -> None:
    assert lenient_json("{'a': True, b: [1,],}", allow_unclosed=False) == (
        {"a": True, "b": [1]},
        None,
    )


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("hermes", "Let me look that up.\n<tool_"),
        ("hermes", '<tool_call>{"name": "g", "arguments": {}}</tool_call>\n<tool_ca'),
        ("qwen3_coder", "Running it.\n<tool_cal"),
        ("qwen3_coder", "Running it.\n<funct"),
    ],
)
def test_a_cut_inside_the_opening_tag_is_reported(name: Any, text: str) -> None:
    out = get_parser(name)(text, truncated=True)
    assert out.errors == (cut_off_error("a <tool_call>"),)
    assert get_parser(name)(text).errors == ()  # a natural stop: the text is just text


def test_a_tag_like_ending_that_opens_no_call_is_not_a_cut_call() -> None:
    assert parse_hermes("Use the <b>bold</b> or <tab", truncated=True).errors == ()
