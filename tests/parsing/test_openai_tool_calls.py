"""parse_openai_tool_calls: native tool calls, including malformed argument strings."""

from __future__ import annotations

from typing import Any

from hone.parsing import parse_openai_tool_calls


def _call(name: str, arguments: Any, call_id: str = "call_1") -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def test_well_formed_calls_keep_ids_and_raw_strings() -> None:
    out = parse_openai_tool_calls([_call("f", '{"a": 1}'), _call("g", "", "call_2")], "hi")
    first, second = out.tool_calls
    assert (first.id, first.name, first.arguments, first.raw_arguments) == (
        "call_1",
        "f",
        {"a": 1},
        '{"a": 1}',
    )
    assert (second.id, second.arguments) == ("call_2", {})
    assert out.content == "hi" and out.errors == ()


def test_repairable_arguments_are_repaired() -> None:
    out = parse_openai_tool_calls([_call("f", "{'a': True,}")], None)
    assert out.tool_calls[0].arguments == {"a": True}
    assert out.tool_calls[0].raw_arguments == "{'a': True,}"
    assert out.errors == ()


def test_malformed_arguments_are_an_error_on_the_call_and_in_errors() -> None:
    out = parse_openai_tool_calls([_call("f", '{"a": "b" "c"}')], None)
    (call,) = out.tool_calls
    assert call.arguments == {} and call.raw_arguments == '{"a": "b" "c"}'
    assert call.error is not None and "not valid JSON" in call.error
    assert len(out.errors) == 1 and call.error in out.errors[0]


def test_non_object_arguments_are_an_error() -> None:
    out = parse_openai_tool_calls([_call("f", "[1, 2]")], None)
    assert out.tool_calls[0].error is not None and "must be a JSON object" in out.errors[0]


def test_dict_arguments_and_missing_ids() -> None:
    out = parse_openai_tool_calls([{"function": {"name": "f", "arguments": {"x": 1}}}], None)
    (call,) = out.tool_calls
    assert call.arguments == {"x": 1} and call.id.startswith("call_")


def test_nameless_and_non_dict_entries_are_errors() -> None:
    out = parse_openai_tool_calls([{"function": {"arguments": "{}"}}, 7], "")  # type: ignore[list-item]
    assert out.tool_calls == () and len(out.errors) == 2


def test_reasoning_left_in_content_is_split() -> None:
    out = parse_openai_tool_calls(None, "<think>plan</think>answer")
    assert (out.reasoning, out.content) == ("plan", "answer")


def test_hermes_blocks_in_content_are_read_when_the_server_had_no_tool_parser() -> None:
    out = parse_openai_tool_calls([], '<tool_call>{"name": "f", "arguments": {"a": 1}}</tool_call>')
    assert [(c.name, c.arguments) for c in out.tool_calls] == [("f", {"a": 1})]
    assert out.content == ""
