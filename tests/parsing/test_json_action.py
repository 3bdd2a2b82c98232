"""parse_json_action: the JSON action protocol, with the aliases models reach for."""

from __future__ import annotations

from typing import Any

import pytest

from hone.parsing import parse_json_action


@pytest.mark.parametrize(
    ("text", "calls", "final"),
    [
        pytest.param(
            '{"type": "tool", "name": "search", "arguments": {"q": "hone"}}',
            [("search", {"q": "hone"})],
            None,
            id="tool",
        ),
        pytest.param('{"type": "final", "answer": "42"}', [], "42", id="final"),
        pytest.param('{"type": "final", "answer": {"x": 1}}', [], '{"x": 1}', id="final-object"),
        pytest.param('{"tool_name": "s", "args": {"a": 1}}', [("s", {"a": 1})], None, id="aliases"),
        pytest.param(
            '{"type": "tool", "name": "s", "input": "weather in Paris"}',
            [("s", {"input": "weather in Paris"})],
            None,
            id="plain-input",
        ),
        pytest.param(
            '{"name": "s", "arguments": "{\\"a\\": 1}"}', [("s", {"a": 1})], None, id="string-args"
        ),
        pytest.param('{"final_answer": "done"}', [], "done", id="untyped-final"),
        pytest.param(
            '{"action": "Final Answer", "action_input": "Paris"}', [], "Paris", id="langchain-final"
        ),
        pytest.param(
            '{"action": "search", "action_input": {"q": "x"}}',
            [("search", {"q": "x"})],
            None,
            id="langchain-tool",
        ),
        pytest.param(
            '[{"type": "tool", "name": "a", "arguments": {}}, {"type": "tool", "name": "b"}]',
            [("a", {}), ("b", {})],
            None,
            id="list-of-tools",
        ),
        pytest.param(
            "I'll search first.\n```json\n{'type': 'tool', 'name': 'search', 'arguments': {'q': 'x',},}\n```",
            [("search", {"q": "x"})],
            None,
            id="prose-fence-single-quotes",
        ),
        pytest.param(
            '<think>easy</think>{"type": "final", "answer": "4"', [], "4", id="think-and-unclosed"
        ),
    ],
)
def test_table(text: str, calls: list[tuple[str, dict[str, Any]]], final: str | None) -> None:
    out = parse_json_action(text)
    assert [(c.name, c.arguments) for c in out.tool_calls] == calls
    assert out.final_answer == final
    assert out.errors == ()


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param("The answer is 4.", "invalid JSON", id="prose"),
        pytest.param('{"type": "tool", "arguments": {}}', 'needs a "name"', id="no-name"),
        pytest.param('{"type": "final"}', 'needs an "answer"', id="no-answer"),
        pytest.param('{"type": "dance"}', "unknown action type", id="bad-type"),
        pytest.param(
            '{"name": "x", "answer": "y"}', "both a tool name and an answer", id="ambiguous"
        ),
        pytest.param('{"foo": 1}', "neither", id="neither"),
        pytest.param("[]", "list of actions is empty", id="empty-list"),
        pytest.param(
            '[{"type": "tool", "name": "a"}, {"type": "final", "answer": "b"}]',
            "mixes tool calls",
            id="mixed",
        ),
        pytest.param('{"a": 1} {"b": 2}', "2 separate JSON values", id="two-objects"),
    ],
)
def test_errors(text: str, fragment: str) -> None:
    out = parse_json_action(text)
    assert out.tool_calls == () and out.final_answer is None
    assert len(out.errors) == 1 and fragment in out.errors[0]
    assert out.errors[0].startswith("Your action could not be parsed: ")


def test_content_is_the_reply_without_reasoning() -> None:
    out = parse_json_action('<think>r</think>\n{"type": "final", "answer": "a"}')
    assert out.content == '{"type": "final", "answer": "a"}' and out.reasoning == "r"
    assert out.to_message().content == "a"


def test_bad_arguments_keep_the_call_with_an_error() -> None:
    out = parse_json_action('{"type": "tool", "name": "f", "arguments": [1, 2]}')
    (call,) = out.tool_calls
    assert call.error is not None and call.raw_arguments == "[1, 2]"
    assert len(out.errors) == 1 and call.error in out.errors[0]
