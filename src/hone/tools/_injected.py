"""Tool parameters the caller fills instead of the model: the markers' base class, and how a
signature is read for them.

A marker is an :class:`Injected` instance (or subclass) in ``Annotated[T, marker]``, or a
class with ``direct = True`` used as the annotation itself (``runtime: ToolRuntime``). Such a
parameter is left out of the schema the model sees, any value the model sends for it is
dropped, and at call time the marker's :meth:`Injected.inject` computes its value from the
:class:`~hone.tools.ToolContext`. ``hone.graph.prebuilt`` defines LangGraph's markers
(``InjectedState``, ``InjectedStore``, ``ToolRuntime``) on this base.

LangChain's ``InjectedToolCallId`` is understood too (the call id), and any other LangChain
``InjectedToolArg`` is hidden from the model and never filled. langchain-core is never
imported here: an annotation can only hold its markers once it is loaded.
"""

from __future__ import annotations

import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Final, Union, get_args, get_origin

from hone.errors import ToolDefinitionError
from hone.tools._context import ToolContext

__all__ = ["OMIT", "Injected", "InjectedParam", "find_injection", "named_marker", "register_named"]


class _Omit:
    """The type of :data:`OMIT`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "OMIT"


#: What :meth:`Injected.inject` returns to leave the parameter unset (its default applies).
OMIT: Final = _Omit()


class Injected:
    """Base of the markers for tool parameters that the caller fills, never the model.

    Subclass it and implement :meth:`inject`. Mark a parameter with an instance
    (``Annotated[str, MyMarker()]``) or the class (``Annotated[str, MyMarker]``, which stands
    for :meth:`marker`); a subclass that sets ``direct = True`` marks a parameter annotated
    with the class itself (``runtime: ToolRuntime``).
    """

    #: Whether the class itself, as a parameter's annotation, marks the parameter.
    direct: ClassVar[bool] = False

    @classmethod
    def marker(cls) -> Injected:
        """The marker the bare class stands for (by default an instance made without
        arguments)."""
        return cls()

    def inject(self, context: ToolContext, param: InjectedParam) -> Any:
        """The value for ``param`` in the call ``context`` describes, or :data:`OMIT`.

        Raise :class:`~hone.errors.ToolInjectionError` when the value cannot be had: the
        caller did not give what the tool needs (a state key, a store), which is the
        developer's mistake, not the model's.
        """
        raise NotImplementedError(f"{type(self).__name__} does not implement inject()")


@dataclass(frozen=True, slots=True)
class InjectedParam:
    """A tool parameter the caller fills."""

    #: The parameter's name.
    name: str
    #: Computes its value.
    marker: Injected
    #: Whether the parameter has a default (a marker may then leave it unset).
    optional: bool = False

    def value(self, context: ToolContext) -> Any:
        """The value for this call, or :data:`OMIT`."""
        return self.marker.inject(context, self)


@dataclass(frozen=True, slots=True)
class _CallId(Injected):
    """LangChain's ``InjectedToolCallId``: the call's id."""

    def inject(self, context: ToolContext, param: InjectedParam) -> Any:
        return context.call_id


@dataclass(frozen=True, slots=True)
class _Hidden(Injected):
    """Another LangChain ``InjectedToolArg``: hidden from the model, filled by nobody."""

    def inject(self, context: ToolContext, param: InjectedParam) -> Any:
        return OMIT


def _langchain_marker(meta: Any) -> Injected | None:
    """hone's reading of a LangChain marker in ``Annotated`` metadata (never imports it)."""
    base = sys.modules.get("langchain_core.tools.base")
    if base is None:
        return None
    kinds: tuple[tuple[type[Any], Injected], ...] = (
        (base.InjectedToolCallId, _CallId()),
        (base.InjectedToolArg, _Hidden()),
    )
    for kind, marker in kinds:
        if isinstance(meta, kind) or (isinstance(meta, type) and issubclass(meta, kind)):
            return marker
    return None


def _as_marker(meta: Any, langchain: bool) -> Injected | None:
    if isinstance(meta, Injected):
        return meta
    if isinstance(meta, type) and issubclass(meta, Injected):
        return meta.marker()
    return _langchain_marker(meta) if langchain else None


def _direct_class(annotation: Any) -> type[Injected] | None:
    cls = get_origin(annotation) or annotation  # ToolRuntime[Ctx] counts as ToolRuntime
    if isinstance(cls, type) and issubclass(cls, Injected) and cls.direct:
        return cls
    return None


def _markers(annotation: Any, langchain: bool) -> list[Injected]:
    origin = get_origin(annotation)
    if origin is Annotated:
        base, *metadata = get_args(annotation)
        found = [m for m in (_as_marker(x, langchain) for x in metadata) if m is not None]
        return found + _markers(base, langchain)
    if origin is Union or origin is types.UnionType:
        return [m for arg in get_args(annotation) for m in _markers(arg, langchain)]
    direct = _direct_class(annotation)
    return [direct.marker()] if direct is not None else []


def find_injection(annotation: Any, *, where: str, langchain: bool = True) -> Injected | None:
    """The marker of a resolved annotation (inside ``Annotated`` or ``X | None`` too), or None.

    ``langchain=False`` ignores LangChain's own markers (``InjectedToolCallId`` and other
    ``InjectedToolArg``s), for a LangChain tool that fills them itself.

    Raises:
        ToolDefinitionError: more than one marker; ``where`` names the parameter.
    """
    found = _markers(annotation, langchain)
    if len(found) > 1:
        raise ToolDefinitionError(
            f"{where} is marked for injection more than once ({', '.join(map(repr, found))}); "
            "keep one marker"
        )
    return found[0] if found else None


#: Markers a LangChain tool's parameter gets from its name alone (LangGraph fills a
#: parameter named ``runtime`` whatever its annotation); registered by the package that
#: defines the marker.
_NAMED: dict[str, Callable[[], Injected]] = {}


def register_named(name: str, marker: Callable[[], Injected]) -> None:
    """Make a LangChain tool's parameter called ``name`` injected with ``marker()``."""
    _NAMED[name] = marker


def named_marker(name: str) -> Injected | None:
    """The marker a parameter gets from its name alone, or None."""
    make = _NAMED.get(name)
    return None if make is None else make()
