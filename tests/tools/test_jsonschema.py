"""The compact JSON-schema validator used by Tool.from_schema."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from hone.tools._jsonschema import validate_json

SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "minLength": 1, "maxLength": 5, "pattern": "^[a-z]+$"},
        "count": {"type": "integer", "minimum": 0, "exclusiveMaximum": 10},
        "ratio": {"type": ["number", "null"]},
        "flag": {"type": "boolean"},
        "tags": {"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2},
        "point": {"$ref": "#/$defs/Point"},
        "choice": {"anyOf": [{"type": "integer"}, {"const": "auto"}]},
    },
    "required": ["name"],
    "additionalProperties": False,
    "$defs": {
        "Point": {
            "type": "object",
            "properties": {"x": {"type": "number"}, "y": {"type": "number"}},
            "required": ["x", "y"],
            "additionalProperties": False,
        }
    },
}


def test_a_valid_value_has_no_problems() -> None:
    value = {
        "name": "abc",
        "count": 9,
        "ratio": None,
        "flag": True,
        "tags": ["a"],
        "point": {"x": 1, "y": 2.5},
        "choice": "auto",
    }
    assert validate_json(value, SCHEMA) == []


def test_every_problem_is_reported_with_its_path() -> None:
    value = {
        "name": "ABCDEFG",
        "count": 10,
        "ratio": "x",
        "flag": 1,
        "tags": [1, "b", "c"],
        "point": {"x": 1},
        "choice": "manual",
        "zzz": 0,
    }
    assert validate_json(value, SCHEMA) == [
        "name: allows at most 5 characters",
        "name: must match the pattern '^[a-z]+$' (got 'ABCDEFG')",
        "count: must be < 10 (got 10)",
        "ratio: expected number or null, got str 'x'",
        "flag: expected boolean, got int 1",
        "tags: allows at most 2 items, got 3",
        "tags[0]: expected string, got int 1",
        "point.y: required field is missing",
        "choice: matches none of the allowed forms (got 'manual')",
        "zzz: unknown field (allowed fields: name, count, ratio, flag, tags, point, choice)",
    ]


def test_missing_required_and_type_mismatch_at_the_root() -> None:
    assert validate_json({}, SCHEMA) == ["name: required field is missing"]
    assert validate_json([], SCHEMA) == ["(value): expected object, got list []"]


def test_booleans_are_not_numbers_but_integral_floats_are_integers() -> None:
    assert validate_json(True, {"type": "integer"}) != []
    assert validate_json(2.0, {"type": "integer"}) == []
    assert validate_json(2.5, {"type": "integer"}) != []


def test_additional_properties_schema_and_all_of() -> None:
    schema = {"type": "object", "additionalProperties": {"type": "integer"}}
    assert validate_json({"a": 1, "b": "x"}, schema) == ["b: expected integer, got str 'x'"]
    combined = {"allOf": [{"type": "number"}, {"minimum": 3}]}
    assert validate_json(2, combined) == ["(value): must be >= 3 (got 2)"]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=5), children, max_size=3)
    ),
    max_leaves=10,
)


@given(json_values)
def test_never_raises_and_accepts_only_objects(value: Any) -> None:
    problems = validate_json(value, SCHEMA)
    assert all(isinstance(p, str) for p in problems)
    if not isinstance(value, dict):
        assert problems
