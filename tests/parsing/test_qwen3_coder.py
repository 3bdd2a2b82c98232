"""parse_qwen3_coder: XML tool calls whose values the tool's JSON schema types."""

from __future__ import annotations

from typing import Any

import pytest

from hone.parsing import parse_qwen3_coder


def _tool(name: str, properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    parameters = {"type": "object", "properties": properties, **extra}
    return {"type": "function", "function": {"name": name, "parameters": parameters}}


def _call(name: str, **values: str) -> str:
    params = "".join(f"<parameter={k}>\n{v}\n</parameter>\n" for k, v in values.items())
    return f"<tool_call>\n<function={name}>\n{params}</function>\n</tool_call>"


@pytest.mark.parametrize(
    ("schema", "raw", "value"),
    [
        pytest.param({"type": "string"}, "007", "007", id="string-stays-text"),
        pytest.param({"type": "integer"}, "42", 42, id="integer"),
        pytest.param({"type": "integer"}, "42.0", 42, id="integer-written-as-float"),
        pytest.param({"type": "integer"}, "4.5", "4.5", id="not-an-integer-stays-text"),
        pytest.param({"type": "number"}, "-0.25", -0.25, id="number"),
        pytest.param({"type": "boolean"}, "True", True, id="python-bool"),
        pytest.param({"type": "boolean"}, "false", False, id="json-bool"),
        pytest.param({"type": "boolean"}, "yes", "yes", id="not-a-bool-stays-text"),
        pytest.param({"type": "array"}, '["a", 1]', ["a", 1], id="array"),
        pytest.param({"type": "object"}, "{'k': True}", {"k": True}, id="python-dict"),
        pytest.param({"type": "object"}, "[1]", "[1]", id="array-for-object-stays-text"),
        pytest.param({"type": ["integer", "null"]}, "null", None, id="type-list-null"),
        pytest.param({"anyOf": [{"type": "integer"}, {"type": "null"}]}, "None", None, id="none"),
        pytest.param(
            {"anyOf": [{"type": "string"}, {"type": "integer"}]}, "5", "5", id="str-or-int"
        ),
        pytest.param({"enum": [1, 2, 3]}, "2", 2, id="enum-of-integers"),
        pytest.param({"type": "string"}, "null", "null", id="null-word-in-a-string"),
        pytest.param({}, "12", "12", id="no-type-stays-text"),
        pytest.param({"$ref": "#/$defs/Point"}, '{"x": 1}', {"x": 1}, id="ref-to-object"),
        pytest.param(
            {"$ref": "#/$defs/Missing"}, '{"x": 1}', {"x": 1}, id="dangling-ref-is-object"
        ),
        pytest.param({"items": {"type": "string"}}, '["a"]', ["a"], id="items-implies-array"),
    ],
)
def test_values_are_typed_by_the_schema(schema: dict[str, Any], raw: str, value: Any) -> None:
    defs = {"Point": {"type": "object", "properties": {"x": {"type": "integer"}}}}
    tools = [_tool("f", {"v": schema}, **{"$defs": defs})]
    out = parse_qwen3_coder(_call("f", v=raw), tools=tools)
    assert out.errors == ()
    assert out.tool_calls[0].arguments == {"v": value}


def test_without_tools_every_value_is_text() -> None:
    out = parse_qwen3_coder(_call("f", n="3", flag="true"))
    assert out.tool_calls[0].arguments == {"n": "3", "flag": "true"}


def test_only_the_format_newlines_are_removed_from_values() -> None:
    code = "\n    indented()\n\n"
    out = parse_qwen3_coder(_call("write", content=code))
    assert out.tool_calls[0].arguments == {"content": code}


def test_several_functions_in_one_block_are_several_calls() -> None:
    text = (
        "<tool_call>\n<function=a>\n<parameter=x>\n1\n</parameter>\n</function>\n"
        "<function=b>\n</function>\n</tool_call>"
    )
    out = parse_qwen3_coder(text)
    assert [(c.name, c.arguments) for c in out.tool_calls] == [("a", {"x": "1"}), ("b", {})]


def test_text_around_calls_is_content_and_stray_closing_tags_are_dropped() -> None:
    out = parse_qwen3_coder("Before. " + _call("f", x="1") + " After.</tool_call>")
    assert out.content == "Before.  After."
    assert len(out.tool_calls) == 1


def test_a_function_without_a_name_is_an_error_in_the_format() -> None:
    out = parse_qwen3_coder("<tool_call>\n<function=>\n</function>\n</tool_call>")
    assert out.tool_calls == ()
    assert "does not name a tool" in out.errors[0]
    assert "<function=TOOL_NAME>" in out.errors[0]


def test_a_parameter_without_a_name_makes_a_call_with_an_error() -> None:
    out = parse_qwen3_coder("<function=f>\n<parameter=>\n1\n</parameter>\n</function>")
    (call,) = out.tool_calls
    assert call.error is not None and call.error in out.errors[0]


def test_an_empty_block_is_an_error() -> None:
    out = parse_qwen3_coder("<tool_call>\n</tool_call>")
    assert out.tool_calls == () and "empty" in out.errors[0]


def test_think_tags_inside_a_value_are_data() -> None:
    out = parse_qwen3_coder("<think>plan</think>" + _call("write", content="<think>x</think>"))
    assert out.reasoning == "plan"
    assert out.tool_calls[0].arguments == {"content": "<think>x</think>"}


def test_calls_drafted_inside_reasoning_are_not_calls() -> None:
    out = parse_qwen3_coder("<think>maybe " + _call("no") + "</think>" + _call("yes"))
    assert [c.name for c in out.tool_calls] == ["yes"]


def test_a_cut_off_call_is_reported_not_run_and_earlier_calls_are_kept() -> None:
    text = _call("first", x="1") + "\n<tool_call>\n<function=second>\n<parameter=x>\n12"
    lenient = parse_qwen3_coder(text)
    assert [c.name for c in lenient.tool_calls] == ["first", "second"]  # a natural stop
    cut = parse_qwen3_coder(text, truncated=True)
    assert [c.name for c in cut.tool_calls] == ["first"]
    assert cut.truncated and "cut off at the token limit" in cut.errors[0]
    assert "not run" in cut.errors[0]


def test_a_cut_off_json_block_is_reported_too() -> None:
    out = parse_qwen3_coder('<tool_call>\n{"name": "f", "arguments": {"x": 1', truncated=True)
    assert out.tool_calls == () and "cut off" in out.errors[0]
