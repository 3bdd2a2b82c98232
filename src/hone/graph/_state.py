"""State schemas turned into channels, and node outputs turned into updates.

A schema is a TypedDict, a dataclass, a pydantic model or any class with annotations: each
annotated key becomes a channel (``Annotated[T, reducer]`` a reducer channel,
``Annotated[T, SomeChannel]`` that channel, ``Annotated[T, ManagedValue]`` a managed value,
anything else a plain last-value key). A schema without annotations (``Annotated[list, add]``,
``int``) is a *root* state: one channel named ``__root__`` holding the whole state.
"""

from __future__ import annotations

import contextlib
import dataclasses
import inspect
import typing
import warnings
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Annotated, Any, ClassVar, NotRequired, Required, get_args, get_origin

from pydantic import BaseModel

from hone.errors import GraphWarning, InvalidUpdateError
from hone.graph._channels import MISSING, Channel, LastValue
from hone.graph._channels_reduce import BinaryOperatorAggregate
from hone.graph._types import Command

__all__ = [
    "ROOT",
    "ManagedValue",
    "SchemaInfo",
    "input_schema_of",
    "is_managed",
    "mapper_for",
    "schema_info",
    "update_pairs",
    "updates_of",
]

#: The channel of a root (non-dict) state.
ROOT = "__root__"


class ManagedValue:
    """Base of values the runtime computes for a node instead of storing them (e.g.
    :class:`~hone.graph.IsLastStep`). Subclasses implement :meth:`get`."""

    @classmethod
    def get(cls, step: int, stop: int) -> Any:
        """The value for a task of super-step ``step`` in a run that stops after ``stop``."""
        raise NotImplementedError


def is_managed(value: Any) -> bool:
    """Whether ``value`` is a managed-value class."""
    return isinstance(value, type) and issubclass(value, ManagedValue)


@dataclasses.dataclass(frozen=True, slots=True)
class SchemaInfo:
    """A schema's keys: channels and managed values, and how to build node inputs."""

    schema: Any
    channels: Mapping[str, Channel]
    managed: Mapping[str, type[ManagedValue]]

    @property
    def keys(self) -> list[str]:
        """Channel and managed keys, in declaration order."""
        return [*self.channels, *self.managed]

    @property
    def is_root(self) -> bool:
        """Whether this is a root (non-dict) state."""
        return list(self.channels) == [ROOT] and not self.managed


def _strip_required(annotation: Any) -> Any:
    if get_origin(annotation) in (Required, NotRequired):
        return get_args(annotation)[0]
    return annotation


def _managed_of(annotation: Any) -> type[ManagedValue] | None:
    if get_origin(annotation) is Annotated:
        meta = annotation.__metadata__
        if meta and is_managed(get_origin(meta[-1]) or meta[-1]):
            return typing.cast(type[ManagedValue], get_origin(meta[-1]) or meta[-1])
    if is_managed(annotation):
        return typing.cast(type[ManagedValue], annotation)
    args = get_args(annotation)
    if get_origin(annotation) is not None and args:
        return _managed_of(args[0])
    return None


def _positional_count(fn: Callable[..., Any]) -> int | None:
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return None
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params)


def channel_for(key: str, annotation: Any) -> Channel:
    """The channel an annotation asks for.

    Raises:
        ValueError: a reducer that does not take exactly two positional arguments.
    """
    annotation = _strip_required(annotation)
    if get_origin(annotation) is Annotated:
        base = annotation.__origin__
        for item in annotation.__metadata__:
            if isinstance(item, Channel):
                item.key = key
                return item
            if isinstance(item, type) and issubclass(item, Channel):
                return item(base, key=key)
        last = annotation.__metadata__[-1]
        if callable(last) and not isinstance(last, type):
            count = _positional_count(last)
            if count is not None and count != 2:
                raise ValueError(
                    f"Invalid reducer signature for key {key!r}. Expected (a, b) -> c. "
                    f"Got {inspect.signature(last)}"
                )
            from hone.graph._messages import reducer_for_key

            return BinaryOperatorAggregate(base, reducer_for_key(base, last), key=key)
    return LastValue(annotation, key=key)


def _hints(schema: Any) -> dict[str, Any]:
    hints = typing.get_type_hints(schema, include_extras=True)
    out = {k: v for k, v in hints.items() if k != "__slots__" and get_origin(v) is not ClassVar}
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        out = {k: out[k] for k in schema.model_fields if k in out}
    return out


_INFO: weakref.WeakKeyDictionary[Any, SchemaInfo] = weakref.WeakKeyDictionary()


def schema_info(schema: Any) -> SchemaInfo:
    """The channels and managed values of a schema (cached per class)."""
    try:
        cached = _INFO.get(schema)
    except TypeError:
        cached = None
    if cached is not None:
        return SchemaInfo(cached.schema, _copy(cached.channels), cached.managed)
    if not hasattr(schema, "__annotations__"):
        if not isinstance(schema, type) and not get_args(schema):
            warnings.warn(
                f"Invalid state_schema: {schema}. Expected a type or Annotated[type, reducer].",
                stacklevel=3,
            )
        info = SchemaInfo(schema, {ROOT: channel_for(ROOT, schema)}, {})
    else:
        channels: dict[str, Channel] = {}
        managed: dict[str, type[ManagedValue]] = {}
        for key, annotation in _hints(schema).items():
            mv = _managed_of(annotation)
            if mv is not None:
                managed[key] = mv
            else:
                channels[key] = channel_for(key, annotation)
        info = SchemaInfo(schema, channels, managed)
    with contextlib.suppress(TypeError):
        _INFO[schema] = info
    return SchemaInfo(info.schema, _copy(info.channels), info.managed)


def _copy(channels: Mapping[str, Channel]) -> dict[str, Channel]:
    out: dict[str, Channel] = {}
    for key, channel in channels.items():
        fresh = channel.from_checkpoint(MISSING)
        fresh.key = key
        out[key] = fresh
    return out


def mapper_for(schema: Any, keys: Sequence[str]) -> Callable[[dict[str, Any]], Any] | None:
    """How to turn a dict of state values into a node's input: build the schema class for
    pydantic models and dataclasses (validating pydantic), else pass the dict."""
    if list(keys) == [ROOT]:
        return None
    if isinstance(schema, type) and (
        issubclass(schema, BaseModel) or dataclasses.is_dataclass(schema)
    ):
        return lambda values: schema(**values)
    return None


def input_schema_of(fn: Any) -> Any | None:
    """A node's input schema read from the annotation of its first parameter, when that is a
    class with annotations (LangGraph's private-state convention)."""
    target = fn
    if not (inspect.isfunction(fn) or inspect.ismethod(fn)):
        target = getattr(fn, "__call__", None)  # noqa: B004
        if not inspect.ismethod(target):
            return None
    try:
        hints = typing.get_type_hints(target)
        first = next(iter(inspect.signature(target).parameters))
    except Exception:
        return None
    hint = hints.get(first)
    if isinstance(hint, type) and _safe_hints(hint):
        return hint
    return None


def _safe_hints(cls: type) -> bool:
    try:
        return bool(typing.get_type_hints(cls))
    except Exception:
        return False


_KEYS: weakref.WeakKeyDictionary[type, tuple[str, ...]] = weakref.WeakKeyDictionary()


def _annotated_keys(cls: type) -> tuple[str, ...]:
    cached = _KEYS.get(cls)
    if cached is not None:
        return cached
    keys: list[str] = []
    for base in reversed(cls.__mro__):
        ann = inspect.get_annotations(base)
        if isinstance(ann, dict):
            keys.extend(ann)
    out = tuple(dict.fromkeys(keys))
    _KEYS[cls] = out
    return out


def update_pairs(obj: Any, keys: Sequence[str] | None = None) -> list[tuple[str, Any]] | None:
    """The update an object with annotated fields stands for (a pydantic model, a dataclass,
    any annotated class), or None if it has none.

    For pydantic models, a field left at a ``None`` default is not written unless it was set
    explicitly, so ``None`` defaults do not overwrite state (LangGraph's rule).
    """
    cls = type(obj)
    annotated = _annotated_keys(cls)
    if not annotated:
        return None
    keys = annotated if keys is None else keys
    if isinstance(obj, BaseModel):
        keep = obj.model_fields_set
        defaults = {k: f.default for k, f in type(obj).model_fields.items()}
    else:
        keep, defaults = None, {}
    out: list[tuple[str, Any]] = []
    for key in keys:
        value = getattr(obj, key, MISSING)
        if value is MISSING:
            continue
        if value is not None or defaults.get(key, MISSING) is not None or (keep and key in keep):
            out.append((key, value))
    return out


def updates_of(
    output: Any, keys: Sequence[str], who: str, *, thread: Any = None, root: bool = False
) -> list[tuple[str, Any]]:
    """The state writes of a node's output: a dict (keys outside ``keys`` are ignored, as
    LangGraph does), a :class:`Command`'s update, a list mixing both, or a schema instance.
    ``who`` (and the run's ``thread``) name the writer in warnings and errors.

    Raises:
        InvalidUpdateError: an output that is none of these.
    """
    if output is None:
        return []
    if root:
        return _root_updates(output)
    if isinstance(output, dict):
        unknown = [k for k in output if k not in keys]
        if unknown:
            _warn_unknown(_writer(who, thread), unknown, keys)
        return [(k, v) for k, v in output.items() if k in keys]
    if isinstance(output, Command):
        if output.graph == Command.PARENT:
            return []
        items = output.update_items()
        unknown = [k for k, _ in items if k not in keys]
        if unknown:
            _warn_unknown(_writer(who, thread), unknown, keys)
        return [(k, v) for k, v in items if k in keys]
    if isinstance(output, list | tuple) and output and any(isinstance(o, Command) for o in output):
        out: list[tuple[str, Any]] = []
        for part in output:
            if isinstance(part, Command) and part.graph == Command.PARENT:
                continue
            out.extend(updates_of(part, keys, who, thread=thread))
        return out
    pairs = update_pairs(output, keys)
    if pairs is not None:
        return pairs
    raise InvalidUpdateError(
        f"Expected dict, got {output!r:.200}: {_writer(who, thread)} returned {type(output).__name__}; return "
        f"a dict of state updates, a Command, or None"
    )


def _writer(who: str, thread: Any) -> str:
    """The writer as messages name it (built only for a message: most writes need none)."""
    return who if thread is None else f"{who} (thread {thread!r})"


def _warn_unknown(who: str, unknown: list[Any], keys: Sequence[str]) -> None:
    warnings.warn(
        f"{who} wrote {', '.join(map(repr, unknown))}, not in the state schema (keys: "
        f"{sorted(k for k in keys if not k.startswith('__'))}); the write is ignored, as "
        f"LangGraph ignores it. Add the key to the schema or drop it from the update.",
        GraphWarning,
        stacklevel=2,
    )


def _root_updates(output: Any) -> list[tuple[str, Any]]:
    if isinstance(output, Command):
        return [] if output.graph == Command.PARENT else output.update_items()
    if isinstance(output, list | tuple) and output and any(isinstance(o, Command) for o in output):
        out: list[tuple[str, Any]] = []
        for part in output:
            if isinstance(part, Command):
                if part.graph != Command.PARENT:
                    out.extend(part.update_items())
            else:
                out.append((ROOT, part))
        return out
    return [(ROOT, output)]
