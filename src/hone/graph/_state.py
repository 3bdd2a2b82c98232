"""State schemas (TypedDict, dataclass, pydantic) turned into keys and channels."""

from __future__ import annotations

import dataclasses
import inspect
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal, get_args, get_origin

from pydantic import BaseModel, TypeAdapter, ValidationError

from hone.errors import GraphValidationError, InvalidUpdateError
from hone.graph._channels import BinaryOperatorAggregate, Channel, LastValue

__all__ = ["StateSpec", "object_update", "state_spec", "update_validators"]

SchemaKind = Literal["dict", "dataclass", "pydantic"]


@dataclass(frozen=True, slots=True)
class StateSpec:
    """One schema: its keys, the channel of each key, and how to build instances."""

    schema: type[Any]
    kind: SchemaKind
    keys: tuple[str, ...]
    channels: Mapping[str, Channel]

    def make(self, values: dict[str, Any]) -> Any:
        """The node input for ``values`` (a fresh dict, or an instance without validation)."""
        if self.kind == "dict":
            return values
        if self.kind == "pydantic":
            return self.schema.model_construct(**values)
        return self.schema(**values)

    def updates_of_input(self, value: Any) -> list[tuple[str, Any]]:
        """The writes for a graph input: a dict or an instance of the schema (validated)."""
        if self.kind == "pydantic" and isinstance(value, Mapping):
            try:
                value = self.schema.model_validate(dict(value))
            except ValidationError as exc:
                raise InvalidUpdateError(
                    f"graph input does not match the state schema {self.schema.__name__}: {exc}"
                ) from exc
        if isinstance(value, Mapping):
            return list(value.items())
        if isinstance(value, BaseModel) or dataclasses.is_dataclass(value):
            return object_update(value)
        raise InvalidUpdateError(
            f"graph input must be a dict or a {self.schema.__name__}, got {type(value).__name__}"
        )


def object_update(obj: Any) -> list[tuple[str, Any]]:
    """The update a dataclass or pydantic instance stands for: fields that are not None, plus
    fields explicitly set (LangGraph's rule, so None defaults do not overwrite state)."""
    if isinstance(obj, BaseModel):
        fields = type(obj).model_fields
        keep = obj.model_fields_set
        return [
            (k, v)
            for k, f in fields.items()
            if (v := getattr(obj, k)) is not None or k in keep or f.default is not None
        ]
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return [
            (f.name, v)
            for f in dataclasses.fields(obj)
            if (v := getattr(obj, f.name)) is not None or f.default is not None
        ]
    raise InvalidUpdateError(f"expected a dict update, got {type(obj).__name__}: {obj!r}")


def _hints(schema: type[Any]) -> dict[str, Any]:
    try:
        hints = typing.get_type_hints(schema, include_extras=True)
    except Exception as exc:
        raise GraphValidationError(
            f"cannot read the type hints of state schema {schema.__name__}: {exc}"
        ) from exc
    return {k: v for k, v in hints.items() if get_origin(v) is not ClassVar}


def _kind(schema: type[Any]) -> SchemaKind:
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return "pydantic"
    if dataclasses.is_dataclass(schema):
        return "dataclass"
    if isinstance(schema, type) and issubclass(schema, dict) and hasattr(schema, "__annotations__"):
        return "dict"
    raise GraphValidationError(
        f"state schema must be a TypedDict, a dataclass or a pydantic model, got {schema!r}"
    )


def _default_factory(base: Any) -> Callable[[], Any] | None:
    origin = get_origin(base) or base
    if not isinstance(origin, type):
        return None
    try:
        origin()
    except Exception:
        return None
    return typing.cast(Callable[[], Any], origin)


def _is_reducer(fn: Any) -> bool:
    if not callable(fn) or isinstance(fn, type):
        return False
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    positional = [
        p
        for p in params
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL)
    ]
    return len(positional) >= 2 or any(p.kind is p.VAR_POSITIONAL for p in positional)


def channel_for(key: str, annotation: Any) -> Channel:
    """The channel an annotation asks for: a Channel or reducer in ``Annotated`` metadata,
    else a plain last-value key."""
    if get_origin(annotation) is Annotated:
        base, *meta = get_args(annotation)
        for item in reversed(meta):
            if isinstance(item, Channel):
                return item.bind(key)
            if _is_reducer(item):
                return BinaryOperatorAggregate(item, _default_factory(base)).bind(key)
    return LastValue().bind(key)


def state_spec(schema: type[Any]) -> StateSpec:
    """Read a schema's keys and channels."""
    kind = _kind(schema)
    hints = _hints(schema)
    if kind == "pydantic":
        hints = {k: hints[k] for k in schema.model_fields if k in hints}
    elif kind == "dataclass":
        hints = {f.name: hints.get(f.name, Any) for f in dataclasses.fields(schema)}
    return StateSpec(
        schema=schema,
        kind=kind,
        keys=tuple(hints),
        channels={k: channel_for(k, v) for k, v in hints.items()},
    )


def update_validators(specs: tuple[StateSpec, ...]) -> dict[str, TypeAdapter[Any]]:
    """Validators for the plain (last-value) keys of pydantic schemas, by key.

    A node's write to such a key is validated on its own (not the whole model), so the cost is
    one field per written key. Keys with a reducer are not validated: their writes are
    updates (one message for a list of messages), not values of the field's type.
    """
    out: dict[str, TypeAdapter[Any]] = {}
    for spec in specs:
        if spec.kind != "pydantic":
            continue
        for key, info in spec.schema.model_fields.items():
            channel = spec.channels.get(key)
            if key in out or not isinstance(channel, LastValue) or type(channel) is not LastValue:
                continue
            annotation: Any = info.annotation
            if info.metadata:
                annotation = Annotated[(annotation, *info.metadata)]
            out[key] = TypeAdapter(annotation)
    return out
