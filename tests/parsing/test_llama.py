"""parse_llama3_json: Llama 3.x JSON tool calls and built-in tool calls."""

from __future__ import annotations

from hone.parsing import parse_llama3_json


def test_a_call_in_prose_is_read_and_the_prose_is_content() -> None:
    out = parse_llama3_json('Let me check. {"name": "f", "parameters": {"x": 1}}')
    assert [(c.name, c.arguments) for c in out.tool_calls] == [("f", {"x": 1})]
    assert out.content == "Let me check."


def test_json_that_is_not_a_call_is_content() -> None:
    text = '{"name": "Ada", "born": 1815}'
    out = parse_llama3_json(text)
    assert (out.tool_calls, out.content, out.errors) == ((), text, ())


def test_unreadable_call_json_is_an_error_in_the_format() -> None:
    out = parse_llama3_json('<|python_tag|>{"name": "f", "parameters": {"x": 1 "y": 2}')
    assert out.tool_calls == ()
    assert '"parameters"' in out.errors[0]


def test_arguments_that_are_not_an_object_make_a_call_with_an_error() -> None:
    out = parse_llama3_json('{"name": "f", "parameters": [1, 2]}')
    (call,) = out.tool_calls
    assert call.error is not None and call.error in out.errors[0]


def test_builtin_calls_take_keyword_literals_only() -> None:
    ok = parse_llama3_json('<|python_tag|>brave_search.call(query="x", count=3)')
    assert ok.tool_calls[0].arguments == {"query": "x", "count": 3}
    positional = parse_llama3_json('<|python_tag|>brave_search.call("x")')
    assert positional.tool_calls == () and "keyword" in positional.errors[0]
    not_literal = parse_llama3_json("<|python_tag|>brave_search.call(query=os.getcwd())")
    assert not_literal.tool_calls == () and "literal" in not_literal.errors[0]


def test_builtin_form_needs_the_python_tag() -> None:
    out = parse_llama3_json('Call brave_search.call(query="x") to search.')
    assert out.tool_calls == () and out.errors == ()


def test_reasoning_is_split_and_json_in_it_is_not_a_call() -> None:
    out = parse_llama3_json(
        '<think>maybe {"name": "g", "parameters": {}}</think>{"name": "f", "parameters": {}}'
    )
    assert [c.name for c in out.tool_calls] == ["f"]
    assert out.reasoning == 'maybe {"name": "g", "parameters": {}}'
