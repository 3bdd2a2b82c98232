"""parse_hermes on real-world Hermes/Qwen outputs, well-formed and not."""

from __future__ import annotations

import json
from typing import Any

import pytest

from hone.parsing import parse_hermes


def _calls(text: str) -> list[tuple[str, dict[str, Any]]]:
    return [(c.name, c.arguments) for c in parse_hermes(text).tool_calls]


@pytest.mark.parametrize(
    ("text", "calls", "content"),
    [
        pytest.param(
            '<tool_call>\n{"name": "add", "arguments": {"a": 1, "b": 2}}\n</tool_call>',
            [("add", {"a": 1, "b": 2})],
            "",
            id="canonical",
        ),
        pytest.param(
            'Let me check.\n<tool_call>{"name": "w", "arguments": {"c": "Paris"}}</tool_call>\nOne moment.',
            [("w", {"c": "Paris"})],
            "Let me check.\n\nOne moment.",
            id="prose-around",
        ),
        pytest.param(
            '<tool_call>{"name": "a", "arguments": {}}</tool_call>\n'
            '<tool_call>{"name": "b", "arguments": {"x": [1]}}</tool_call>',
            [("a", {}), ("b", {"x": [1]})],
            "",
            id="two-calls",
        ),
        pytest.param(
            '<tool_call>{"name": "f", "arguments": "{\\"q\\": \\"x\\"}"}</tool_call>',
            [("f", {"q": "x"})],
            "",
            id="arguments-as-json-string",
        ),
        pytest.param(
            '<tool_call>{"name": "f", "arguments": {"q": 1}}',
            [("f", {"q": 1})],
            "",
            id="unclosed-final-tag",
        ),
        pytest.param(
            '<tool_call>```json\n{"name": "f", "arguments": {"q": 1,}}\n```</tool_call>',
            [("f", {"q": 1})],
            "",
            id="fence-and-trailing-comma",
        ),
        pytest.param(
            "<tool_call>{'name': 'f', 'arguments': {'flag': True, 'x': None}}</tool_call>",
            [("f", {"flag": True, "x": None})],
            "",
            id="python-literal-dict",
        ),
        pytest.param(
            '<tool_call>{"name": "run", "arguments": {"code": "print(\\"<tool_call>\\")"}}</tool_call>',
            [("run", {"code": 'print("<tool_call>")'})],
            "",
            id="tag-text-inside-string-argument",
        ),
        pytest.param(
            '<tool_call>{"name": "f", "arguments": {"json": "{\\"a\\": [1, 2]}"}}</tool_call>',
            [("f", {"json": '{"a": [1, 2]}'})],
            "",
            id="nested-json-in-string",
        ),
        pytest.param(
            '<tool_call>{"name": "say", "arguments": {"t": "naïve café 日本 🎉"}}</tool_call>',
            [("say", {"t": "naïve café 日本 🎉"})],
            "",
            id="unicode",
        ),
        pytest.param(
            '<tool_call>{"name": "a", "arguments": {}}\n{"name": "b", "arguments": {}}</tool_call>',
            [("a", {}), ("b", {})],
            "",
            id="two-objects-in-one-block",
        ),
        pytest.param(
            '<tool_call>[{"name": "a", "arguments": {}}, {"name": "b"}]</tool_call>',
            [("a", {}), ("b", {})],
            "",
            id="list-in-block-and-missing-arguments",
        ),
        pytest.param(
            '<tool_call>{"name": "f", "parameters": {"x": 1}}</tool_call>',
            [("f", {"x": 1})],
            "",
            id="llama-parameters-key",
        ),
        pytest.param(
            '<tool_call>{"type": "function", "function": {"name": "f", "arguments": {"x": 1}}}</tool_call>',
            [("f", {"x": 1})],
            "",
            id="openai-shape",
        ),
        pytest.param(
            '```json\n{"name": "f", "arguments": {"x": 1}}\n```',
            [("f", {"x": 1})],
            "",
            id="bare-fenced-call-no-tags",
        ),
        pytest.param(
            'Example: {"name": "f", "arguments": {}}',
            [],
            'Example: {"name": "f", "arguments": {}}',
            id="prose-json-is-not-a-call",
        ),
        pytest.param(
            '<tool_call>{"name": "f", "arguments": {"a": 1}}}</tool_call>',
            [("f", {"a": 1})],
            "",
            id="extra-closing-brace",
        ),
        pytest.param(
            '<tool_call>{"name": "now", "arguments": null}</tool_call>',
            [("now", {})],
            "",
            id="null-arguments",
        ),
        pytest.param("The answer is 4.", [], "The answer is 4.", id="plain-answer"),
        pytest.param("", [], "", id="empty"),
        pytest.param("done</tool_call>", [], "done", id="stray-close-dropped"),
    ],
)
def test_table(text: str, calls: list[tuple[str, dict[str, Any]]], content: str) -> None:
    out = parse_hermes(text)
    assert [(c.name, c.arguments) for c in out.tool_calls] == calls
    assert out.content == content
    assert out.errors == ()


def test_think_is_split_first_and_calls_inside_it_are_ignored() -> None:
    text = (
        'maybe <tool_call>{"name": "no", "arguments": {}}</tool_call>?\n</think>\n\n'
        '<tool_call>{"name": "yes", "arguments": {}}</tool_call>'
    )
    out = parse_hermes(text)
    assert [c.name for c in out.tool_calls] == ["yes"]
    assert out.reasoning is not None and "maybe" in out.reasoning
    assert out.content == ""


def test_ids_are_fresh_and_raw_arguments_are_the_json() -> None:
    text = '<tool_call>{"name": "f", "arguments": {"a": "é"}}</tool_call>' * 2
    first, second = parse_hermes(text).tool_calls
    assert first.id.startswith("call_") and first.id != second.id
    assert first.raw_arguments is not None and json.loads(first.raw_arguments) == {"a": "é"}


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param(
            '<tool_call>{"arguments": {"a": 1}}</tool_call>', 'no "name"', id="missing-name"
        ),
        pytest.param(
            '<tool_call>{"name": "", "arguments": {}}</tool_call>', 'no "name"', id="empty-name"
        ),
        pytest.param("<tool_call></tool_call>", "block is empty", id="empty-block"),
        pytest.param(
            '<tool_call>{"name": "f", "arguments": {"a": "tr', "not closed", id="truncated"
        ),
        pytest.param("<tool_call>call f with a=1</tool_call>", "invalid JSON", id="not-json"),
        pytest.param("<tool_call>42</tool_call>", "expected a JSON object", id="number"),
    ],
)
def test_errors_are_values_phrased_for_the_model(text: str, fragment: str) -> None:
    out = parse_hermes(text)
    assert out.tool_calls == ()
    assert len(out.errors) == 1
    assert out.errors[0].startswith("Your tool call could not be parsed: ")
    assert fragment in out.errors[0]
    assert out.errors[0].endswith('Emit <tool_call>{"name": ..., "arguments": {...}}</tool_call>')


def test_bad_arguments_keep_the_call_with_an_error() -> None:
    out = parse_hermes('<tool_call>{"name": "f", "arguments": "not json"}</tool_call>')
    (call,) = out.tool_calls
    assert call.name == "f" and call.arguments == {} and call.raw_arguments == "not json"
    assert call.error is not None and len(out.errors) == 1 and call.error in out.errors[0]


def test_only_think_unclosed_reports_the_truncation() -> None:
    out = parse_hermes("<think>I need to call the tool <tool_call>{")
    assert out.tool_calls == ()
    assert out.reasoning == "I need to call the tool <tool_call>{"
    assert len(out.errors) == 1 and "</think>" in out.errors[0]


def test_to_message_carries_everything() -> None:
    out = parse_hermes('<think>r</think>hi<tool_call>{"name": "f", "arguments": {}}</tool_call>')
    message = out.to_message()
    assert (message.content, message.reasoning, message.tool_calls) == ("hi", "r", out.tool_calls)


@pytest.mark.parametrize("key", ["</THINK>", "<think>", "<think>x</think>"])
def test_think_tags_inside_a_tool_call_are_data(key: str) -> None:
    payload = json.dumps({"name": "A", "arguments": {key: None}})
    out = parse_hermes(f"<tool_call>\n{payload}\n</tool_call>")
    assert out.errors == () and out.reasoning is None
    assert [(c.name, c.arguments) for c in out.tool_calls] == [("A", {key: None})]


def test_a_tool_call_drafted_inside_reasoning_stays_reasoning() -> None:
    out = parse_hermes(
        '<think>draft <tool_call>{"name": "x", "arguments": {}}</tool_call></think>ok'
    )
    assert out.tool_calls == () and out.content == "ok"
    assert out.reasoning is not None and "draft" in out.reasoning
