"""parse_react: ReAct steps, including the Observation models invent for themselves."""

from __future__ import annotations

from typing import Any

import pytest

from hone.parsing import parse_react


@pytest.mark.parametrize(
    ("text", "calls", "final", "reasoning"),
    [
        pytest.param(
            'Thought: I should search.\nAction: search\nAction Input: {"q": "paris"}',
            [("search", {"q": "paris"})],
            None,
            "I should search.",
            id="json-input",
        ),
        pytest.param(
            "Thought: look it up\nAction: lookup\nAction Input: Paris, France",
            [("lookup", {"input": "Paris, France"})],
            None,
            "look it up",
            id="plain-input",
        ),
        pytest.param(
            'Action: search\nAction Input: "cats"',
            [("search", {"input": "cats"})],
            None,
            None,
            id="quoted",
        ),
        pytest.param(
            'Thought: go\nAction: search\nAction Input: {"q": "x"}\nObservation: 3 results\n'
            "Thought: I know\nFinal Answer: made up",
            [("search", {"q": "x"})],
            None,
            "go",
            id="hallucinated-observation",
        ),
        pytest.param(
            "Thought: simple\nFinal Answer: 4\nand that is all",
            [],
            "4\nand that is all",
            "simple",
            id="final",
        ),
        pytest.param(
            "I know this one.\nFinal Answer: Paris",
            [],
            "Paris",
            "I know this one.",
            id="implicit-thought",
        ),
        pytest.param(
            '**Thought:** hm\n**Action:** `calc`\n**Action Input:** ```json\n{"e": "2+2",}\n```',
            [("calc", {"e": "2+2"})],
            None,
            "hm",
            id="markdown-and-fence",
        ),
        pytest.param(
            "Action: search[cats]", [("search", {"input": "cats"})], None, None, id="paper-form"
        ),
        pytest.param("Action: now\nAction Input:", [("now", {})], None, None, id="empty-input"),
        pytest.param(
            "<think>deep</think>\nThought: shallow\nFinal Answer: ok",
            [],
            "ok",
            "deep\n\nshallow",
            id="think",
        ),
    ],
)
def test_table(
    text: str, calls: list[tuple[str, dict[str, Any]]], final: str | None, reasoning: str | None
) -> None:
    out = parse_react(text)
    assert [(c.name, c.arguments) for c in out.tool_calls] == calls
    assert out.final_answer == final
    assert out.reasoning == reasoning
    assert out.errors == ()


def test_content_stops_before_the_invented_observation() -> None:
    out = parse_react("Action: f\nAction Input: {}\nObservation: fake")
    assert out.content == "Action: f\nAction Input: {}"


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param("", "neither an Action nor a Final Answer", id="empty"),
        pytest.param("The capital is Paris.", "neither", id="no-keywords"),
        pytest.param(
            "Action: search the web\nAction Input: x", "just the tool name", id="bad-name"
        ),
        pytest.param("Action:\nAction Input: x", "does not name a tool", id="no-name"),
        pytest.param("Observation: I already know", "neither", id="observation-only"),
    ],
)
def test_errors(text: str, fragment: str) -> None:
    out = parse_react(text)
    assert out.tool_calls == () and out.final_answer is None
    assert len(out.errors) == 1 and fragment in out.errors[0]
    assert "Final Answer:" in out.errors[0]


def test_unreadable_json_input_keeps_the_call_with_an_error() -> None:
    out = parse_react('Action: f\nAction Input: {"a": ')
    (call,) = out.tool_calls
    assert call.name == "f" and call.error is not None and call.raw_arguments == '{"a":'
    assert len(out.errors) == 1 and call.error in out.errors[0]
