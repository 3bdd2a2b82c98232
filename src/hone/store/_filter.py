"""Search filters: parsed once into conditions, then evaluated in Python (the in-memory store)
or compiled to SQL (SQLite's JSON functions, PostgreSQL's ``jsonb``), with one meaning.

The language is LangGraph's: ``{"field": value}`` matches equal values, ``{"field": {"$op":
operand}}`` compares (``$eq $ne $gt $gte $lt $lte``; several operators must all hold), a
nested dict without ``$`` keys matches nested fields (``{"a": {"b": 1}}`` is ``{"a.b": 1}``).
What LangGraph's stores leave to each backend, hone fixes:

* equality is JSON equality: numbers equal numbers (``1 == 1.0``), ``true`` equals only
  ``true``, strings equal strings, a list equals a list of equal items in order;
  ``None`` matches a null or missing field; ``$ne`` is its negation (a missing field matches
  ``{"$ne": 5}``).
* ``$gt $gte $lt $lte`` compare numbers with numbers and strings with strings (by code point,
  so ISO dates order correctly); a field of another type never matches.
* anything else is an :class:`~hone.errors.InvalidFilterError` naming the problem: an unknown
  operator, a dict or ``None`` to order by, a dict inside a list, an empty field name.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from hone.errors import InvalidFilterError

__all__ = [
    "Condition",
    "Filter",
    "matches",
    "parse_filter",
    "postgres_sql",
    "sqlite_sql",
]

#: The operators; ``$never`` (no value meets it) is what a comparison with NaN becomes.
Operator: TypeAlias = Literal["$eq", "$ne", "$gt", "$gte", "$lt", "$lte", "$never"]
_OPERATORS: frozenset[str] = frozenset(("$eq", "$ne", "$gt", "$gte", "$lt", "$lte"))
_ORDERING = {"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}
Scalar: TypeAlias = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class Condition:
    """One test of one field: ``path`` (the field's keys, outermost first), an operator and
    its operand (a JSON scalar, or a list of scalars for ``$eq`` / ``$ne``)."""

    path: tuple[str, ...]
    op: Operator
    operand: Scalar | tuple[Scalar, ...]


#: A parsed filter: conditions that must all hold.
Filter: TypeAlias = tuple[Condition, ...]


def _split(key: Any) -> tuple[str, ...]:
    if not isinstance(key, str) or not key:
        raise InvalidFilterError(f"filter field names must be non-empty strings, got {key!r}")
    parts = tuple(key.split("."))
    for part in parts:
        if not part or any(c in part for c in '"\\') or any(ord(c) < 32 for c in part):
            raise InvalidFilterError(
                f"bad filter field {key!r}: every dotted part must be non-empty, without "
                "quotes, backslashes or control characters"
            )
    return parts


def _scalar(value: Any, where: str) -> Scalar:
    if value is None or isinstance(value, str | bool | int):
        return value
    if isinstance(value, float):
        return value  # ±inf bound a range ({"$lt": inf} holds for every number); NaN: below
    raise InvalidFilterError(
        f"{where}: {type(value).__name__} {value!r} is not a JSON scalar (compare nested fields "
        "by path, e.g. {'a.b': 1})"
    )


def _operand(op: str, value: Any, where: str) -> Scalar | tuple[Scalar, ...]:
    if op not in _OPERATORS:
        raise InvalidFilterError(
            f"{where}: unknown operator {op!r}; use one of {', '.join(sorted(_OPERATORS))}"
        )
    if op in _ORDERING:
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            raise InvalidFilterError(
                f"{where}: {op} compares numbers or strings, got {type(value).__name__} {value!r}"
            )
        return _scalar(value, where)
    if isinstance(value, list | tuple):
        return tuple(_scalar(v, f"{where} item") for v in value)
    return _scalar(value, where)


def _conditions(path: tuple[str, ...], value: Any) -> list[Condition]:
    where = f"filter on {'.'.join(path)!r}"
    if isinstance(value, Mapping):
        if not value:
            raise InvalidFilterError(f"{where}: an empty dict matches nothing sensible")
        keys = list(value)
        dollars = [k for k in keys if isinstance(k, str) and k.startswith("$")]
        if dollars and len(dollars) != len(keys):
            raise InvalidFilterError(
                f"{where}: mixes operators {dollars} with field names; nest one or the other"
            )
        if dollars:
            tests = [Condition(path, k, _operand(k, value[k], where)) for k in keys]
            return [_without_nan(c) for c in tests if not (c.op == "$ne" and _is_nan(c.operand))]
        out: list[Condition] = []
        for key, sub in value.items():
            out.extend(_conditions((*path, *_split(key)), sub))
        return out
    return [_without_nan(Condition(path, "$eq", _operand("$eq", value, where)))]


def _is_nan(operand: Any) -> bool:
    return isinstance(operand, float) and math.isnan(operand)


#: A condition no value meets (stored values are JSON: none is NaN).
NEVER = Condition((), "$never", None)


def _without_nan(cond: Condition) -> Condition:
    """NaN equals and orders with nothing: a condition on it never holds (``$ne`` on it
    always holds and is dropped by the caller)."""
    return NEVER if _is_nan(cond.operand) else cond


def parse_filter(spec: Mapping[str, Any] | None) -> Filter:
    """The conditions of a LangGraph-style filter dict (None or ``{}``: none).

    Raises:
        InvalidFilterError: a malformed filter (see the module docstring).
    """
    if spec is None:
        return ()
    if not isinstance(spec, Mapping):
        raise InvalidFilterError(f"a filter is a dict of field -> value, got {spec!r}")
    out: list[Condition] = []
    for key, value in spec.items():
        out.extend(_conditions(_split(key), value))
    return tuple(out)


# -- Python ----------------------------------------------------------------------------------

_MISSING: Any = object()


def _lookup(value: Any, path: tuple[str, ...]) -> Any:
    for part in path:
        if not isinstance(value, dict) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _scalar_equal(field: Any, operand: Scalar) -> bool:
    if operand is None:
        return field is None or field is _MISSING
    if isinstance(operand, bool):
        return isinstance(field, bool) and field is operand
    if _is_number(operand):
        return _is_number(field) and field == operand
    return isinstance(field, str) and field == operand


def _equal(field: Any, operand: Scalar | tuple[Scalar, ...]) -> bool:
    if isinstance(operand, tuple):
        return (
            isinstance(field, list)
            and len(field) == len(operand)
            and all(_scalar_equal(f, o) for f, o in zip(field, operand, strict=True))
        )
    return _scalar_equal(field, operand)


def _holds(value: Mapping[str, Any], cond: Condition) -> bool:
    if cond.op == "$never":
        return False
    field = _lookup(value, cond.path)
    if cond.op == "$eq":
        return _equal(field, cond.operand)
    if cond.op == "$ne":
        return not _equal(field, cond.operand)
    operand = cond.operand
    if _is_number(operand):
        if not _is_number(field):
            return False
    elif not isinstance(field, str):
        return False
    if cond.op == "$gt":
        return bool(field > operand)
    if cond.op == "$gte":
        return bool(field >= operand)
    if cond.op == "$lt":
        return bool(field < operand)
    return bool(field <= operand)


def matches(value: Mapping[str, Any], conditions: Filter) -> bool:
    """Whether a stored value meets every condition."""
    return all(_holds(value, cond) for cond in conditions)


# -- SQLite ----------------------------------------------------------------------------------


def _sqlite_param(operand: Any) -> Any:
    # SQLite integers are 64-bit: a larger bound is compared as a float.
    if isinstance(operand, int) and not isinstance(operand, bool) and abs(operand) >= 1 << 63:
        return float(operand)
    return operand


def _sqlite_path(path: Sequence[str | int]) -> str:
    return "$" + "".join(f"[{p}]" if isinstance(p, int) else f'."{p}"' for p in path)


def _sqlite_scalar_eq(
    column: str, path: Sequence[str | int], operand: Scalar, params: list[Any]
) -> str:
    p = _sqlite_path(path)
    kind = f"json_type({column}, '{p}')"
    if operand is None:
        return f"({kind} IS NULL OR {kind} = 'null')"
    if isinstance(operand, bool):
        return f"COALESCE({kind} = '{'true' if operand else 'false'}', 0)"
    params.append(_sqlite_param(operand))
    types = "('integer', 'real')" if _is_number(operand) else "('text')"
    return f"COALESCE({kind} IN {types} AND json_extract({column}, '{p}') = ?, 0)"


def _sqlite_eq(column: str, cond: Condition, params: list[Any]) -> str:
    operand = cond.operand
    if not isinstance(operand, tuple):
        return _sqlite_scalar_eq(column, cond.path, operand, params)
    p = _sqlite_path(cond.path)
    parts = [
        f"COALESCE(json_type({column}, '{p}') = 'array', 0)",
        f"COALESCE(json_array_length({column}, '{p}') = {len(operand)}, 0)",
    ]
    parts += [
        _sqlite_scalar_eq(column, (*cond.path, i), item, params) for i, item in enumerate(operand)
    ]
    return "(" + " AND ".join(parts) + ")"


def sqlite_sql(conditions: Filter, params: list[Any], column: str = "value") -> str:
    """SQL for SQLite that holds where ``matches`` does (parameters appended to ``params``);
    ``"1"`` for no conditions. ``column`` holds the value as JSON text."""
    parts: list[str] = []
    for cond in conditions:
        if cond.op == "$never":
            parts.append("0")
        elif cond.op == "$eq":
            parts.append(_sqlite_eq(column, cond, params))
        elif cond.op == "$ne":
            parts.append(f"NOT {_sqlite_eq(column, cond, params)}")
        else:
            p = _sqlite_path(cond.path)
            types = "('integer', 'real')" if _is_number(cond.operand) else "('text')"
            params.append(_sqlite_param(cond.operand))
            parts.append(
                f"COALESCE(json_type({column}, '{p}') IN {types} AND "
                f"json_extract({column}, '{p}') {_ORDERING[cond.op]} ?, 0)"
            )
    return " AND ".join(parts) or "1"


# -- PostgreSQL ------------------------------------------------------------------------------


def _pg_eq(column: str, cond: Condition, params: list[Any]) -> str:
    operand = cond.operand
    params.append(list(cond.path))
    if operand is None:
        params.append(list(cond.path))
        return f"({column} #> %s IS NULL OR {column} #> %s = 'null'::jsonb)"
    encoded = json.dumps(list(operand) if isinstance(operand, tuple) else operand)
    params.append(encoded)
    # jsonb equality is JSON equality: 1 = 1.0, true <> 1, arrays item by item.
    return f"COALESCE({column} #> %s = %s::jsonb, false)"


def postgres_sql(conditions: Filter, params: list[Any], column: str = "value") -> str:
    """SQL for PostgreSQL (``column`` is ``jsonb``) that holds where ``matches`` does;
    ``"true"`` for no conditions."""
    parts: list[str] = []
    for cond in conditions:
        if cond.op == "$never":
            parts.append("false")
        elif cond.op == "$eq":
            parts.append(_pg_eq(column, cond, params))
        elif cond.op == "$ne":
            parts.append(f"NOT {_pg_eq(column, cond, params)}")
        else:
            number = _is_number(cond.operand)
            kind, cast = ("number", "::float8") if number else ("string", ' COLLATE "C"')
            params.extend([list(cond.path), list(cond.path), cond.operand])
            # CASE, not AND: PostgreSQL may evaluate the cast before the type test.
            parts.append(
                f"CASE WHEN jsonb_typeof({column} #> %s) = '{kind}' "
                f"THEN ({column} #>> %s){cast} {_ORDERING[cond.op]} %s ELSE false END"
            )
    return " AND ".join(parts) or "true"
