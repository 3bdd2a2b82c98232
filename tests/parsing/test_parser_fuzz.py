"""Property tests: no input makes a parser raise, and well-formed calls round-trip.

The text strategy mixes random text with the tags, keywords and JSON fragments the parsers
look for, so that fuzzing reaches their interesting branches rather than only the
"no markup at all" path. Together these tests run over 10,000 examples.
"""

from __future__ import annotations

import json
import string
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hone.parsing import (
    ParsedOutput,
    get_parser,
    lenient_json,
    parse_hermes,
    parse_json_action,
    parse_openai_tool_calls,
    parse_react,
    split_thinking,
)
from hone.parsing._calls import INTERNAL_ERROR

_FRAGMENTS = [
    "<think>", "</think>", "<thinking>", "</think >", "<tool_call>", "</tool_call>", "< tool_call >",
    "{", "}", "[", "]", '"', "'", "\u201c", "\u201d", "\u2018", ",", ":", "\\", "\\u00e9", "\n",
    '"name"', '"arguments"', '"parameters"', '"function"', "name", "arguments", '"f"', "True",
    "None", "null", "false", "1", "-0.5e3", "NaN", "```", "```json\n", '{"name": "f", ',
    '"arguments": {"a": 1}}', '"arguments": "{\\"a\\": 1}"', '{"type": "tool", ', '{"type": "final", ',
    '"type"', '"tool"', '"final"', '"answer": ', '"input": ', '"args": ', '"tool_name": ',
    '"action": ', '"action_input": ', "Final Answer", "Thought: ", "Action: ", "Action Input: ",
    "Observation: ", "Final Answer: ", "**Action:** ", "search[", "f(", "\x00", "\ud800", "🎉",
    "<function=", "<function=f>", "</function>", "<parameter=", "<parameter=x>", "</parameter>",
    "[TOOL_CALLS]", "[ARGS]", "[CALL_ID]", "[THINK]", "[/THINK]", "<|python_tag|>", ".call(",
    "<|eom_id|>", "</s>", "Action:\n```json\n", '{"action": ', '"Final Answer"',
]  # fmt: skip

_NOISE = st.lists(st.one_of(st.sampled_from(_FRAGMENTS), st.text(max_size=12)), max_size=24).map(
    "".join
)
_TEMPLATES = [
    '<tool_call>\n{{"name": "{name}", "arguments": {args}}}\n</tool_call>',
    'Let me see.</think>\n\n<tool_call>{{"name": "{name}", "arguments": {args}}}</tool_call>',
    '{{"type": "tool", "name": "{name}", "arguments": {args}}}',
    '[{{"type": "tool", "tool_name": "{name}", "args": {args}}}]',
    '```json\n{{"type": "final", "answer": {args}}}\n```',
    "Thought: t\nAction: {name}\nAction Input: {args}\nObservation: o",
    "<think>t</think>Final Answer: {args}",
    '<tool_call>{{"name": "{name}", "arguments": {quoted}}}</tool_call>',
    "<tool_call>\n<function={name}>\n<parameter=x>\n{args}\n</parameter>\n</function>\n</tool_call>",
    '<|python_tag|>{{"name": "{name}", "parameters": {args}}}; {{"name": "g", "parameters": {{}}}}',
    "<|python_tag|>{name}.call(q={quoted})",
    '[TOOL_CALLS][{{"name": "{name}", "arguments": {args}}}]',
    "[TOOL_CALLS]{name}[CALL_ID]abc123def[ARGS]{args}[TOOL_CALLS]g[ARGS]{{}}",
    'Thought: t\nAction:\n```json\n{{"action": "{name}", "action_input": {args}}}\n```\nObservation: o',
]
_MUTATIONS = ["keep", "truncate", "insert", "delete"]


def _mutate(text: str, mode: str, at: int, noise: str) -> str:
    at %= len(text) + 1
    if mode == "truncate":
        return text[:at]
    if mode == "insert":
        return text[:at] + noise + text[at:]
    if mode == "delete":
        return text[:at] + text[at + len(noise) :]
    return text


# Well-formed outputs of every protocol, then damaged: truncated, with noise spliced in, or
# with a span cut out, so that fuzzing reaches the success paths and their near misses.
_DAMAGED = st.builds(
    lambda template, name, args, mode, at, noise: _mutate(
        template.format(name=name, args=args, quoted=json.dumps(args)), mode, at, noise
    ),
    st.sampled_from(_TEMPLATES),
    st.sampled_from(["f", "search", "get_weather", "ns.tool", "x-1", "", " "]),
    st.dictionaries(st.text(max_size=6), st.one_of(st.integers(), st.text(max_size=6))).map(
        json.dumps
    ),
    st.sampled_from(_MUTATIONS),
    st.integers(min_value=0, max_value=200),
    _NOISE,
)
_TEXT = st.one_of(_NOISE, _DAMAGED)

_JSON_LEAF = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
)
_JSON = st.recursive(
    _JSON_LEAF,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
_ARGUMENTS = st.dictionaries(st.text(max_size=10), _JSON, max_size=5)
_NAME = st.from_regex(r"[A-Za-z_][A-Za-z0-9_.-]{0,30}", fullmatch=True)
_SETTINGS = settings(max_examples=2500, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _check(out: ParsedOutput) -> None:
    """What every parser output must satisfy, whatever the input."""
    assert isinstance(out, ParsedOutput)
    assert INTERNAL_ERROR not in out.errors, "a parser bug was caught by the safety net"
    for call in out.tool_calls:
        assert call.name and call.name == call.name.strip()
        assert isinstance(call.arguments, dict)
        if call.error is not None:
            assert any(call.error in error for error in out.errors)
    assert all(isinstance(error, str) and error for error in out.errors)
    out.to_message()  # validates as an AssistantMessage


@_SETTINGS
@given(_TEXT)
def test_parse_hermes_never_raises(text: str) -> None:
    _check(parse_hermes(text))


@_SETTINGS
@given(_TEXT)
def test_parse_json_action_never_raises(text: str) -> None:
    out = parse_json_action(text)
    _check(out)
    assert not (out.final_answer is not None and out.tool_calls)


@_SETTINGS
@given(_TEXT)
def test_parse_react_never_raises(text: str) -> None:
    out = parse_react(text)
    _check(out)
    assert not (out.final_answer is not None and out.tool_calls)
    assert len(out.tool_calls) <= 1


@_SETTINGS
@given(
    st.one_of(_TEXT, _JSON.map(json.dumps).flatmap(lambda s: st.sampled_from([s, s[:-1], s + ","])))
)
def test_lenient_json_never_raises(text: str) -> None:
    value, error = lenient_json(text)
    assert error is None or (value is None and isinstance(error, str) and error)


_SCHEMA = st.sampled_from(
    [{"type": t} for t in ("string", "integer", "number", "boolean", "object", "array", "null")]
    + [{"anyOf": [{"type": "integer"}, {"type": "null"}]}, {"$ref": "#/$defs/X"}, {"enum": [1]}, {}]
)
_TOOLS = st.lists(
    st.builds(
        lambda name, props: {
            "type": "function",
            "function": {"name": name, "parameters": {"type": "object", "properties": props}},
        },
        st.sampled_from(["f", "search", "get_weather", "x-1"]),
        st.dictionaries(st.sampled_from(["x", "q", "input", "n"]), _SCHEMA, max_size=3),
    ),
    max_size=2,
)


@pytest.mark.parametrize("name", ["qwen3_coder", "llama3_json", "mistral", "structured_chat"])
@settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=_TEXT, tools=_TOOLS, truncated=st.booleans())
def test_newer_parsers_never_raise(
    name: Any, text: str, tools: list[dict[str, Any]], truncated: bool
) -> None:
    out = get_parser(name)(text, tools=tools, truncated=truncated)
    _check(out)
    assert out.truncated is truncated
    assert not (out.final_answer is not None and out.tool_calls)


@settings(max_examples=500, deadline=None)
@given(text=_TEXT, truncated=st.booleans())
def test_older_parsers_never_raise_when_cut_off(text: str, truncated: bool) -> None:
    for parse in (parse_hermes, parse_json_action, parse_react):
        out = parse(text, truncated=truncated)
        _check(out)
        assert out.truncated is truncated


@settings(max_examples=1000, deadline=None)
@given(_TEXT)
def test_split_thinking_never_raises(text: str) -> None:
    reasoning, rest, error = split_thinking(text)
    assert rest == rest.strip()
    assert reasoning is None or (reasoning and reasoning == reasoning.strip())
    assert error is None or rest == ""


@settings(max_examples=1000, deadline=None)
@given(
    st.lists(
        st.one_of(
            st.builds(
                lambda name, args, call_id: {
                    "id": call_id,
                    "function": {"name": name, "arguments": args},
                },
                st.one_of(st.none(), _NAME, st.text(max_size=5)),
                st.one_of(st.none(), _TEXT, _ARGUMENTS, _ARGUMENTS.map(json.dumps)),
                st.one_of(st.none(), st.text(max_size=8)),
            ),
            _JSON,
        ),
        max_size=3,
    ),
    st.one_of(st.none(), _TEXT),
)
def test_parse_openai_tool_calls_never_raises(tool_calls: list[Any], content: str | None) -> None:
    _check(parse_openai_tool_calls(tool_calls, content))


@settings(max_examples=500, deadline=None)
@given(_NAME, _ARGUMENTS, st.text(alphabet=string.ascii_letters + " .,!?\n", max_size=30))
def test_hermes_round_trip(name: str, arguments: dict[str, Any], prose: str) -> None:
    call = json.dumps({"name": name, "arguments": arguments}, ensure_ascii=False)
    out = parse_hermes(f"{prose}<tool_call>\n{call}\n</tool_call>")
    assert out.errors == ()
    (parsed,) = out.tool_calls
    assert (parsed.name, parsed.arguments) == (name, arguments)
    assert parsed.raw_arguments is not None and json.loads(parsed.raw_arguments) == arguments
    assert out.content == prose.strip()


@settings(max_examples=500, deadline=None)
@given(_JSON)
def test_lenient_json_reads_any_json_fenced_in_prose(value: Any) -> None:
    text = json.dumps(value, indent=2, ensure_ascii=False)
    assert lenient_json(text) == (value, None)
    if isinstance(value, dict):
        assert lenient_json(f"Here you go:\n```json\n{text}\n```\nDone.") == (value, None)
