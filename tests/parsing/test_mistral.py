"""parse_mistral: calls after [TOOL_CALLS], in the v3 list and v11+ named forms."""

from __future__ import annotations

import re

from hone.parsing import parse_mistral


def test_calls_without_an_id_get_nine_letters_or_digits() -> None:
    out = parse_mistral('[TOOL_CALLS][{"name": "f", "arguments": {}}][TOOL_CALLS]g[ARGS]{}')
    assert len(out.tool_calls) == 2
    assert all(re.fullmatch(r"[A-Za-z0-9]{9}", c.id) for c in out.tool_calls)
    assert out.tool_calls[0].id != out.tool_calls[1].id


def test_bad_named_arguments_make_a_call_with_an_error() -> None:
    out = parse_mistral("[TOOL_CALLS]f[ARGS]{'x': }")
    (call,) = out.tool_calls
    assert call.name == "f" and call.error is not None
    assert "[TOOL_CALLS]" in out.errors[0]  # the hint shows the format


def test_text_that_is_not_a_call_after_the_token_is_an_error() -> None:
    out = parse_mistral("[TOOL_CALLS] I will now call the weather tool")
    assert out.tool_calls == () and "not valid JSON" in out.errors[0]


def test_an_empty_list_is_an_error() -> None:
    out = parse_mistral("[TOOL_CALLS][]")
    assert out.tool_calls == () and "empty" in out.errors[0]


def test_a_name_cut_off_before_its_arguments_is_reported() -> None:
    out = parse_mistral("[TOOL_CALLS]get_weat", truncated=True)
    assert out.tool_calls == () and "cut off" in out.errors[0]
