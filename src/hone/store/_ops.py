"""Store operations as ``batch`` takes them: LangGraph's ops coerced to hone's, every op
checked before anything runs, values encoded as JSON text, and the match conditions of
``list_namespaces``."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from hone.errors import ConfigError, InvalidNamespaceError
from hone.store._base import check_labels
from hone.store._types import GetOp, ListNamespacesOp, MatchCondition, Op, PutOp, SearchOp

__all__ = ["check_op", "coerce_op", "encode_value", "namespace_matches"]


def encode_value(namespace: tuple[str, ...], key: str, value: Any) -> str:
    """``value`` as JSON text.

    Raises:
        ConfigError: not a dict with string keys and JSON values.
    """
    if not isinstance(value, Mapping):
        raise ConfigError(
            f"store values are dicts, got {type(value).__name__} at {namespace}/{key}"
        )
    try:
        return json.dumps(dict(value), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"the value at {namespace}/{key} is not JSON: {exc}") from exc


def coerce_op(op: Any) -> Op:
    """hone's op for ``op``, which may be LangGraph's op of the same name and fields."""
    if isinstance(op, GetOp | SearchOp | PutOp | ListNamespacesOp):
        return op
    kind = {
        "GetOp": GetOp,
        "SearchOp": SearchOp,
        "PutOp": PutOp,
        "ListNamespacesOp": ListNamespacesOp,
    }
    cls = kind.get(type(op).__name__)
    if cls is None or not isinstance(op, tuple):
        raise ConfigError(f"unknown store operation {op!r}")
    if cls is ListNamespacesOp:
        conditions = op.match_conditions  # type: ignore[attr-defined]
        return ListNamespacesOp(
            None if conditions is None else tuple(MatchCondition(*c) for c in conditions),
            *op[1:],
        )
    return cls(*op)  # type: ignore[no-any-return]


def check_op(op: Op) -> Op:
    """``op`` checked: its namespace labels valid, a get's or put's key made a string.

    Raises:
        InvalidNamespaceError: a malformed namespace.
        ConfigError: a bad ttl, limit, offset, match type or depth.
    """
    if isinstance(op, GetOp):
        return op._replace(namespace=check_labels(op.namespace), key=str(op.key))
    if isinstance(op, PutOp):
        # As LangGraph's: the reserved root label is refused by put(), not by batch(), which
        # LangGraph's own tooling writes through.
        namespace = check_labels(op.namespace)
        if op.value is not None and not namespace:
            raise InvalidNamespaceError("a namespace to write to cannot be empty")
        if op.ttl is not None and (not isinstance(op.ttl, int | float) or not op.ttl > 0):
            raise ConfigError(f"ttl is minutes > 0 or None, got {op.ttl!r}")
        return op._replace(namespace=namespace, key=str(op.key))
    if isinstance(op, SearchOp):
        if not isinstance(op.limit, int) or op.limit < 0:
            raise ConfigError(f"search limit must be an int >= 0, got {op.limit!r}")
        if not isinstance(op.offset, int) or op.offset < 0:
            raise ConfigError(f"search offset must be an int >= 0, got {op.offset!r}")
        return op._replace(namespace_prefix=check_labels(op.namespace_prefix))
    for condition in op.match_conditions or ():
        check_labels(condition.path)
        if condition.match_type not in ("prefix", "suffix"):
            raise ConfigError(f"match_type is 'prefix' or 'suffix', got {condition.match_type!r}")
    if op.max_depth is not None and (not isinstance(op.max_depth, int) or op.max_depth < 1):
        raise ConfigError(f"max_depth must be an int >= 1 or None, got {op.max_depth!r}")
    return op


def namespace_matches(condition: MatchCondition, namespace: tuple[str, ...]) -> bool:
    """Whether ``namespace`` meets a list_namespaces match condition (``*`` matches any label)."""
    path = condition.path
    if len(namespace) < len(path):
        return False
    part = namespace[: len(path)] if condition.match_type == "prefix" else namespace[-len(path) :]
    return all(p == "*" or p == n for p, n in zip(path, part, strict=True))
