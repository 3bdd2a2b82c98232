"""parse_structured_chat: LangChain's structured-chat agent steps."""

from __future__ import annotations

import json
from typing import Any

from hone.parsing import parse_structured_chat

TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "lookup",
            "parameters": {"type": "object", "properties": {"term": {"type": "string"}}},
        },
    }
]


def _blob(value: Any) -> str:
    return f"Action:\n```json\n{json.dumps(value)}\n```"


def test_final_answer_is_matched_without_regard_to_case_or_underscores() -> None:
    out = parse_structured_chat(_blob({"action": "final_answer", "action_input": "done"}))
    assert out.final_answer == "done" and out.tool_calls == ()
    assert out.to_message().text == "done"


def test_a_plain_input_goes_to_input_when_the_tool_is_unknown() -> None:
    out = parse_structured_chat(_blob({"action": "other", "action_input": "x"}), tools=TOOLS)
    assert out.tool_calls[0].arguments == {"input": "x"}
    known = parse_structured_chat(_blob({"action": "lookup", "action_input": "x"}), tools=TOOLS)
    assert known.tool_calls[0].arguments == {"term": "x"}


def test_a_blob_without_an_action_is_an_error_in_the_format() -> None:
    out = parse_structured_chat(_blob({"tool": "lookup"}))
    assert out.tool_calls == () and out.final_answer is None
    assert '"action"' in out.errors[0] and "```json" in out.errors[0]


def test_an_unreadable_blob_is_an_error() -> None:
    out = parse_structured_chat(
        'Action:\n```json\n{"action": "lookup", "action_input": {x: }}\n```'
    )
    assert out.tool_calls == () and "cannot be read" in out.errors[0]


def test_an_action_line_without_a_blob_is_an_error_not_an_answer() -> None:
    out = parse_structured_chat("Thought: search\nAction: lookup")
    assert out.final_answer is None and "no JSON blob" in out.errors[0]


def test_a_code_fence_in_an_answer_is_not_a_blob() -> None:
    text = "Here is the code:\n```python\nprint(1)\n```"
    out = parse_structured_chat(text)
    assert out.final_answer == text and out.errors == ()


def test_backticks_inside_a_blob_string_do_not_end_it() -> None:
    value = {"action": "lookup", "action_input": {"term": "use ``` for code"}}
    out = parse_structured_chat(f"Action:\n```json\n{json.dumps(value, indent=2)}\n```")
    assert out.tool_calls[0].arguments == {"term": "use ``` for code"}


def test_think_tags_inside_the_blob_are_data() -> None:
    value = {"action": "lookup", "action_input": {"term": "<think>"}}
    out = parse_structured_chat(_blob(value))
    assert out.tool_calls[0].arguments == {"term": "<think>"} and out.reasoning is None
