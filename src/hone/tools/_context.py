"""The context a tool receives at call time, and how a tool signature asks for it."""

from __future__ import annotations

import types
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, Union, get_args, get_origin

__all__ = ["ToolContext", "is_context_annotation"]

_EMPTY: Mapping[str, Any] = types.MappingProxyType({})


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What a tool can know about its call, beyond the arguments the model sent.

    Declare a parameter annotated ``ToolContext`` (any name) and the executor fills it; the
    parameter never appears in the schema the model sees::

        @tool
        def save(note: str, ctx: ToolContext) -> str:
            '''Save a note.'''
            ctx.deps.db.put(key=ctx.call_id, value=note)  # call_id: idempotency key
            return "saved"
    """

    #: The model's id for this call; stable across retries, so usable as an idempotency key.
    call_id: str
    #: The name of the tool being called.
    tool_name: str
    #: The caller's state (for example the graph state when a ``ToolNode`` runs the call).
    state: Any = None
    #: Free-form, read-only information from the caller (run id, thread id, ...).
    metadata: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    #: The developer's dependencies (database handles, clients, ...) passed to the executor.
    deps: Any = None
    #: 1 for the first attempt, then 2, 3, ... when a retry policy runs the call again.
    attempt: int = 1
    #: The caller's runtime for this call (``ToolNode`` gives a
    #: ``hone.graph.prebuilt.ToolRuntime``: state, context, config, store, stream writer);
    #: the injected parameters' markers read it. None outside a graph.
    runtime: Any = None


def is_context_annotation(annotation: Any) -> bool:
    """Whether a resolved annotation asks for the :class:`ToolContext` (also ``ToolContext | None``)."""
    if annotation is ToolContext:
        return True
    origin = get_origin(annotation)
    if origin is Annotated:
        return is_context_annotation(get_args(annotation)[0])
    if origin is Union or origin is types.UnionType:
        members = [a for a in get_args(annotation) if a is not type(None)]
        return len(members) == 1 and members[0] is ToolContext
    return False
