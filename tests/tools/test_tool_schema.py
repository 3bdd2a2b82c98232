"""Signature and docstring to JSON schema (hone.tools._schema)."""

from __future__ import annotations

import enum
from typing import Annotated, Any, Literal

import pytest
from pydantic import BaseModel, Field

from hone.errors import ToolArgumentsError
from hone.tools import ToolContext, tool
from hone.tools._schema import clean_schema


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Address(BaseModel):
    """A postal address."""

    street: str = Field(description="Street and number.")
    zip_code: int | None = None


class Node(BaseModel):
    name: str
    children: list[Node] = []


@tool
def locate(
    address: Address,
    color: Color,
    mode: Literal["fast", "exact"] = "fast",
    tags: list[str] | None = None,
    limit: Annotated[int, Field(ge=1, description="Explicit text.")] = 3,
) -> str:
    """Find a place.

    Args:
        address: Where to look.
        color: Marker color.
        mode: How hard to try.
        limit: Overridden by the Field description.
    """
    return "ok"


def test_description_and_parameter_texts_come_from_the_docstring() -> None:
    assert locate.description == "Find a place."
    props = locate.parameters["properties"]
    assert props["address"]["description"] == "Where to look."
    assert props["color"]["description"] == "Marker color."
    assert props["mode"]["description"] == "How hard to try."
    assert "description" not in props["tags"]
    # an explicit Field description wins over the docstring
    assert props["limit"]["description"] == "Explicit text."
    assert props["limit"]["minimum"] == 1


def test_required_lists_only_parameters_without_defaults() -> None:
    assert locate.parameters["required"] == ["address", "color"]
    props = locate.parameters["properties"]
    assert props["mode"]["default"] == "fast"
    assert props["tags"]["default"] is None


def test_types_map_to_json_schema() -> None:
    props = locate.parameters["properties"]
    assert props["mode"]["enum"] == ["fast", "exact"]
    assert props["color"] == {
        "enum": ["red", "blue"],
        "type": "string",
        "description": "Marker color.",
    }
    assert props["tags"]["anyOf"] == [
        {"items": {"type": "string"}, "type": "array"},
        {"type": "null"},
    ]


def test_nested_models_are_inlined_and_closed() -> None:
    params = locate.parameters
    address = params["properties"]["address"]
    assert address["type"] == "object"
    assert address["additionalProperties"] is False
    assert address["required"] == ["street"]
    assert address["properties"]["street"] == {
        "description": "Street and number.",
        "type": "string",
    }
    assert params["additionalProperties"] is False
    assert "$defs" not in params


def test_no_titles_anywhere() -> None:
    def walk(node: Any) -> None:
        if isinstance(node, dict):
            assert "title" not in node or isinstance(node["title"], dict)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(locate.parameters)


def test_a_parameter_named_title_survives() -> None:
    @tool
    def note(title: str) -> str:
        """Make a note."""
        return title

    assert list(note.parameters["properties"]) == ["title"]


def test_recursive_models_keep_their_definitions() -> None:
    @tool
    def walk_tree(tree: Node) -> int:
        """Count nodes."""
        return 1 + sum(int(walk_tree(c)) for c in tree.children)

    params = walk_tree.parameters
    assert params["properties"]["tree"]["properties"]["children"]["items"] == {
        "$ref": "#/$defs/Node"
    }
    assert params["$defs"]["Node"]["additionalProperties"] is False
    values = walk_tree.validate({"tree": {"name": "a", "children": [{"name": "b"}]}})
    assert isinstance(values["tree"], Node)
    assert walk_tree(values["tree"]) == 2


def test_strict_mode_requires_every_property() -> None:
    strict = tool(strict=True)(locate.fn)
    params = strict.parameters
    assert params["required"] == ["address", "color", "mode", "tags", "limit"]
    assert params["properties"]["address"]["required"] == ["street", "zip_code"]
    assert "default" not in params["properties"]["tags"]  # nullable, not defaulted
    assert strict.spec()["function"]["strict"] is True
    assert "strict" not in locate.spec()["function"]


def test_no_parameters_gives_an_empty_closed_object() -> None:
    @tool
    def now() -> str:
        """The time."""
        return "noon"

    assert now.parameters == {
        "type": "object",
        "properties": {},
        "required": [],
        "additionalProperties": False,
    }


def test_context_parameter_is_hidden_from_the_schema() -> None:
    @tool
    def save(note: str, ctx: ToolContext) -> str:
        """Save a note."""
        return ctx.call_id

    assert list(save.parameters["properties"]) == ["note"]
    assert save.context_param == "ctx"


def test_parameter_names_that_clash_with_pydantic_attributes() -> None:
    @tool
    def odd(schema: str, json: int, model_config: bool = False) -> str:
        """Odd names."""
        return f"{schema}{json}{model_config}"

    assert odd.parameters["required"] == ["schema", "json"]
    assert odd.validate({"schema": "s", "json": 1}) == {
        "schema": "s",
        "json": 1,
        "model_config": False,
    }


def test_validation_problems_name_the_field() -> None:
    with pytest.raises(ToolArgumentsError) as info:
        locate.validate({"address": {"street": 5}, "mode": "slow", "extra": 1})
    problems = "\n".join(info.value.problems)
    assert "address.street: Input should be a valid string (got 5)" in problems
    assert "color: required field is missing" in problems
    assert "mode: Input should be 'fast' or 'exact'" in problems
    assert "extra: unknown field (allowed fields: address, color, mode, tags, limit)" in problems


def test_lax_coercion_keeps_small_model_mistakes_harmless() -> None:
    values = locate.validate({"address": {"street": "Main 1"}, "color": "red", "limit": "4"})
    assert values["limit"] == 4
    assert values["color"] is Color.RED
    assert isinstance(values["address"], Address)


def test_clean_schema_turns_discriminated_unions_into_anyof() -> None:
    schema = {
        "type": "object",
        "properties": {
            "x": {
                "oneOf": [{"$ref": "#/$defs/A"}],
                "discriminator": {"propertyName": "k", "mapping": {"a": "#/$defs/A"}},
            }
        },
        "$defs": {"A": {"type": "object", "title": "A", "properties": {"k": {"const": "a"}}}},
    }
    out = clean_schema(schema)
    assert out["properties"]["x"] == {
        "anyOf": [
            {
                "type": "object",
                "properties": {"k": {"const": "a"}},
                "additionalProperties": False,
                "required": [],
            }
        ]
    }
