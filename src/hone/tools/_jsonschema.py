"""A compact JSON-schema validator for tools defined from plain schema dicts.

It covers the subset function-calling schemas use: ``type`` (one or a list), ``properties``,
``required``, ``additionalProperties``, ``items``, ``enum``, ``const``, ``anyOf``/``oneOf``/
``allOf``, numeric and length bounds, ``pattern``, and local ``$ref`` (``#/$defs/...`` or
``#/definitions/...``). Unknown keywords are ignored, as the JSON-schema spec asks.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from hone.errors import ToolDefinitionError

__all__ = ["check_schema", "validate_json"]

_TYPE_CHECKS: dict[str, Callable[[Any], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: (
        (isinstance(v, int) and not isinstance(v, bool))
        or (isinstance(v, float) and v.is_integer())
    ),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, Mapping),
    "array": lambda v: isinstance(v, list | tuple),
    "null": lambda v: v is None,
}
_BOUNDS: tuple[tuple[str, Callable[[Any, Any], bool], str], ...] = (
    ("minimum", lambda v, b: v >= b, ">="),
    ("maximum", lambda v, b: v <= b, "<="),
    ("exclusiveMinimum", lambda v, b: v > b, ">"),
    ("exclusiveMaximum", lambda v, b: v < b, "<"),
)


def check_schema(schema: Any, *, tool_name: str) -> None:
    """Reject a ``parameters`` schema that cannot describe function arguments.

    Raises:
        ToolDefinitionError: not a dict, or not an object schema.
    """
    if not isinstance(schema, Mapping):
        raise ToolDefinitionError(
            f"the parameters of tool {tool_name!r} must be a JSON-schema dict, got {type(schema).__name__}"
        )
    if schema.get("type", "object") != "object":
        raise ToolDefinitionError(
            f"the parameters of tool {tool_name!r} must be an object schema "
            f'({{"type": "object", "properties": {{...}}}}), got type {schema.get("type")!r}'
        )
    for name in schema.get("required", ()):
        if name not in schema.get("properties", {}):
            raise ToolDefinitionError(
                f"tool {tool_name!r} requires {name!r} but its schema has no such property"
            )


def _at(path: str, key: str | int) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    return f"{path}.{key}" if path else key


def _resolve(ref: str, root: Mapping[str, Any]) -> Mapping[str, Any] | None:
    for prefix in ("#/$defs/", "#/definitions/"):
        if ref.startswith(prefix):
            found = root.get(prefix[2:-1], {}).get(ref.removeprefix(prefix))
            return found if isinstance(found, Mapping) else None
    return None


def _check_object(
    value: Mapping[str, Any], schema: Mapping[str, Any], path: str, root: Mapping[str, Any]
) -> list[str]:
    problems: list[str] = []
    properties: Mapping[str, Any] = schema.get("properties", {})
    for name in schema.get("required", ()):
        if name not in value:
            problems.append(f"{_at(path, name)}: required field is missing")
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in properties:
            problems += _validate(item, properties[key], _at(path, key), root)
        elif extra is False:
            allowed = ", ".join(properties) or "none"
            problems.append(f"{_at(path, key)}: unknown field (allowed fields: {allowed})")
        elif isinstance(extra, Mapping):
            problems += _validate(item, extra, _at(path, key), root)
    return problems


def _check_array(
    value: Any, schema: Mapping[str, Any], path: str, root: Mapping[str, Any]
) -> list[str]:
    problems: list[str] = []
    if "minItems" in schema and len(value) < schema["minItems"]:
        problems.append(
            f"{path or '(value)'}: needs at least {schema['minItems']} items, got {len(value)}"
        )
    if "maxItems" in schema and len(value) > schema["maxItems"]:
        problems.append(
            f"{path or '(value)'}: allows at most {schema['maxItems']} items, got {len(value)}"
        )
    items = schema.get("items")
    if isinstance(items, Mapping):
        for i, item in enumerate(value):
            problems += _validate(item, items, _at(path, i), root)
    return problems


def _check_scalar(value: Any, schema: Mapping[str, Any], where: str) -> list[str]:
    problems: list[str] = []
    if isinstance(value, int | float) and not isinstance(value, bool):
        for key, ok, sign in _BOUNDS:
            if key in schema and not ok(value, schema[key]):
                problems.append(f"{where}: must be {sign} {schema[key]} (got {value!r})")
    if isinstance(value, str):
        if "minLength" in schema and len(value) < schema["minLength"]:
            problems.append(f"{where}: needs at least {schema['minLength']} characters")
        if "maxLength" in schema and len(value) > schema["maxLength"]:
            problems.append(f"{where}: allows at most {schema['maxLength']} characters")
        if "pattern" in schema and not re.search(schema["pattern"], value):
            problems.append(
                f"{where}: must match the pattern {schema['pattern']!r} (got {value!r})"
            )
    return problems


def _check_combinators(
    value: Any, schema: Mapping[str, Any], path: str, root: Mapping[str, Any]
) -> list[str]:
    where = path or "(value)"
    problems: list[str] = []
    for sub in schema.get("allOf", ()):
        problems += _validate(value, sub, path, root)
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if options and not any(not _validate(value, sub, path, root) for sub in options):
            problems.append(f"{where}: matches none of the allowed forms (got {value!r})")
    return problems


def _validate(
    value: Any, schema: Mapping[str, Any], path: str, root: Mapping[str, Any]
) -> list[str]:
    where = path or "(value)"
    ref = schema.get("$ref")
    if isinstance(ref, str):
        target = _resolve(ref, root)
        if target is not None:
            schema = {**target, **{k: v for k, v in schema.items() if k != "$ref"}}
    declared = schema.get("type")
    if declared is not None:
        types = [declared] if isinstance(declared, str) else list(declared)
        if not any(_TYPE_CHECKS.get(t, lambda _: True)(value) for t in types):
            return [f"{where}: expected {' or '.join(types)}, got {type(value).__name__} {value!r}"]
    if "enum" in schema and value not in schema["enum"]:
        choices = ", ".join(repr(c) for c in schema["enum"])
        return [f"{where}: must be one of {choices} (got {value!r})"]
    if "const" in schema and value != schema["const"]:
        return [f"{where}: must be {schema['const']!r} (got {value!r})"]
    problems = _check_combinators(value, schema, path, root) + _check_scalar(value, schema, where)
    if isinstance(value, Mapping):
        problems += _check_object(value, schema, path, root)
    elif isinstance(value, list | tuple):
        problems += _check_array(value, schema, path, root)
    return problems


def validate_json(value: Any, schema: Mapping[str, Any]) -> list[str]:
    """Every problem with ``value`` under ``schema``, one line each; empty when it is valid."""
    return _validate(value, schema, "", schema)
