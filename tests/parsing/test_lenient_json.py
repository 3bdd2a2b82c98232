"""lenient_json: the mistakes models make, read when the intent is clear, refused otherwise."""

from __future__ import annotations

from typing import Any

import pytest

from hone.parsing import lenient_json


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param('{"a": 1}', {"a": 1}, id="strict"),
        pytest.param('```json\n{"a": [1, 2]}\n```', {"a": [1, 2]}, id="json-fence"),
        pytest.param('```\n{"a": 1}\n```', {"a": 1}, id="bare-fence"),
        pytest.param('```json\n{"a": 1}', {"a": 1}, id="unclosed-fence"),
        pytest.param('{"a": 1, "b": [1, 2,],}', {"a": 1, "b": [1, 2]}, id="trailing-commas"),
        pytest.param("{'a': 'it\\'s', 'b': \"x\"}", {"a": "it's", "b": "x"}, id="single-quotes"),
        pytest.param("{'say': 'a \"quoted\" word'}", {"say": 'a "quoted" word'}, id="dq-in-sq"),
        pytest.param(
            '{"t": True, "f": False, "n": None}', {"t": True, "f": False, "n": None}, id="py"
        ),
        pytest.param(
            '{query: "x", max_results: 3}', {"query": "x", "max_results": 3}, id="bare-keys"
        ),
        pytest.param("{\u201cq\u201d: \u201cParis\u201d}", {"q": "Paris"}, id="smart-quotes"),
        pytest.param("{\u2018q\u2019: \u2018Paris\u2019}", {"q": "Paris"}, id="smart-single"),
        pytest.param('{"a": {"b": [1, 2', {"a": {"b": [1, 2]}}, id="unclosed-at-end"),
        pytest.param('Sure! Here it is:\n{"a": 1}\nHope that helps.', {"a": 1}, id="prose-around"),
        pytest.param('Step [1]: {"a": 1}', {"a": 1}, id="objects-before-arrays"),
        pytest.param(
            '{"code": "if x:\n    return {\\"k\\": 1}"}',
            {"code": 'if x:\n    return {"k": 1}'},
            id="raw-newline",
        ),
        pytest.param(
            '{"city": "Zürich", "emoji": "🌧"}', {"city": "Zürich", "emoji": "🌧"}, id="unicode"
        ),
        pytest.param('{"s": "\\u00e9\\n"}', {"s": "é\n"}, id="escapes"),
        pytest.param("[1, 2, 3]", [1, 2, 3], id="array"),
        pytest.param("null", None, id="null"),
        pytest.param('"just a string"', "just a string", id="string"),
    ],
)
def test_reads_what_the_model_meant(text: str, expected: Any) -> None:
    assert lenient_json(text) == (expected, None)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        pytest.param("", "empty", id="empty"),
        pytest.param("   \n ", "empty", id="blank"),
        pytest.param("no json here", "unexpected character 'n'", id="prose"),
        pytest.param('{"a": 1} and {"b": 2}', "2 separate JSON values", id="two-objects"),
        pytest.param('{"a": "unterminated', "not closed", id="open-string"),
        pytest.param('{"a" 1}', "expected ':'", id="missing-colon"),
        pytest.param('{"a": 1 "b": 2}', "expected ',' or '}'", id="missing-comma"),
        pytest.param("[" * 500, "nested more than", id="too-deep"),
        pytest.param("9" * 5000, "number cannot be read", id="huge-int"),
    ],
)
def test_refuses_what_needs_a_guess(text: str, fragment: str) -> None:
    value, error = lenient_json(text)
    assert value is None
    assert error is not None and fragment in error


def test_error_gives_the_position() -> None:
    _, error = lenient_json('{\n  "a": 1\n  "b": 2\n}')
    assert error is not None and "line 3, column 3" in error
