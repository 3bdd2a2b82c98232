"""Human in the loop: ``interrupt()``, and the signals that carry interrupts and parent
commands out of a node.

An interrupt's id is a hash of its task's namespace (``node:task_id``, with the parents'
segments), as in LangGraph: resuming with ``{interrupt_id: answer}`` routes the answer to that
task. A task that calls ``interrupt()`` several times gets its answers in call order; the
answers it already has are saved with its ``__resume__`` write so a resumed task replays them.
hone adds *keyed* interrupts (``interrupt(value, key=...)``, :func:`interrupt_many`) whose ids
also hash the key, for code that asks in a varying order or concurrently (parallel tool
calls): each has its own id.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import TypeAdapter, ValidationError

from hone.errors import _INVALID_RESUME, GraphError
from hone.graph._constants import RESUME
from hone.graph._context import TaskScope, scope_or_raise
from hone.graph._types import Command, Interrupt

__all__ = [
    "KEYED_RESUME",
    "GraphBubbleUp",
    "GraphInterrupt",
    "ParentCommand",
    "interrupt",
    "interrupt_id",
    "interrupt_many",
    "is_interrupt_id",
    "keyed_interrupt_id",
]

#: The pending-write kind holding a task's answers to keyed interrupts ({id: answer}).
KEYED_RESUME = "__resume_keyed__"

_HEX32 = re.compile(r"^[0-9a-f]{32}$")


class GraphBubbleUp(Exception):
    """Base of the signals that leave a node on purpose (not failures)."""


class GraphInterrupt(GraphBubbleUp):
    """Raised through a node (and enclosing subgraphs) to pause the run at interrupts."""

    def __init__(self, interrupts: Sequence[Interrupt] = ()) -> None:
        super().__init__(tuple(interrupts))

    @property
    def interrupts(self) -> tuple[Interrupt, ...]:
        """The questions asked."""
        return tuple(self.args[0]) if self.args else ()


class ParentCommand(GraphBubbleUp):
    """Carries a ``Command(graph=Command.PARENT)`` out of a subgraph to its parent."""

    def __init__(self, command: Command[Any]) -> None:
        super().__init__(command)

    @property
    def command(self) -> Command[Any]:
        """The command for the parent graph."""
        return self.args[0]  # type: ignore[no-any-return]


def interrupt_id(namespace: str) -> str:
    """The id of the interrupts of the task running in ``namespace`` (32 hex digits)."""
    return hashlib.blake2b(namespace.encode(), digest_size=16).hexdigest()


def is_interrupt_id(value: Any) -> bool:
    """Whether ``value`` looks like an interrupt id."""
    return isinstance(value, str) and bool(_HEX32.match(value))


def interrupt(value: Any, *, key: str | None = None, response_schema: Any = None) -> Any:
    """Pause the graph and ask a human: the run stops with ``__interrupt__`` in its result.

    Resume with ``graph.invoke(Command(resume=answer), config)``: the node runs again from
    its top and this call returns ``answer``. A node's k-th ``interrupt()`` gets the k-th
    answer. With a ``key``, the interrupt gets an id of its own (derived from the task and
    the key), so code that asks in a varying order or concurrently still gets the right
    answer; resume several pending interrupts with ``{interrupt_id: answer}``.

    With a ``response_schema`` (LangGraph's), the interrupt carries it as a JSON schema for
    clients to build a form from (``Interrupt.response_schema``); a pydantic model,
    TypedDict or dataclass also validates the answer, and the validated value is what this
    call returns (a JSON schema dict is passed on as it is, the answer unchecked).

    Without a checkpointer the run still stops at the interrupt, but cannot be resumed.

    Raises:
        GraphError: called outside a running node, or an empty key.
        pydantic.ValidationError: an answer that does not fit ``response_schema``; nothing
            is saved, so the interrupt can be answered again.
    """
    scope = scope_or_raise("interrupt()")
    check = _Check.of(response_schema)
    if key is not None and (not isinstance(key, str) or not key):
        raise GraphError(f"an interrupt key must be a non-empty string, got {key!r}")
    if key is not None or scope.prefix:
        # A keyed question, or one asked from a part of a task (a ToolNode tool call): its
        # own id, so concurrent parts are answered separately.
        label = key or ""
        return _keyed(scope, {label: value}, check)[label]
    pad = scope.scratchpad
    index = pad.interrupt_counter()
    if index < len(pad.resume):
        validated = check.validate(pad.resume[index])
        scope.send([(RESUME, list(pad.resume))])
        return validated
    answer = pad.null_resume(True)
    if answer is not None:
        validated = check.validate(answer)
        pad.resume.append(answer)
        scope.send([(RESUME, list(pad.resume))])
        return validated
    asked = Interrupt(
        value=value, id=interrupt_id(scope.checkpoint_ns), response_schema=check.schema
    )
    raise GraphInterrupt((asked,))


def interrupt_many(questions: Mapping[str, Any]) -> dict[str, Any]:
    """Ask several questions at once, by key: returns ``{key: answer}`` once all are answered.

    While any is unanswered the graph pauses with one interrupt per unanswered question (ids
    derived from the task and each key, as ``interrupt(value, key=key)`` does); answered ones
    are not asked again. Calling it again with a key asks a new question about that key (the
    next id for the key), e.g. after an unacceptable answer.

    Without a checkpointer the run still stops at the interrupt, but cannot be resumed.

    Raises:
        GraphError: called outside a running node, or an empty key.
    """
    scope = scope_or_raise("interrupt_many()")
    for key in questions:
        if not isinstance(key, str) or not key:
            raise GraphError(f"an interrupt key must be a non-empty string, got {key!r}")
    return _keyed(scope, questions, _Check.of(None))


def keyed_interrupt_id(namespace: str, key: str, count: int = 0) -> str:
    """The id of the ``count``-th keyed interrupt with ``key`` (under a part's prefix:
    ``prefix/key``) of the task running in ``namespace``."""
    return interrupt_id(f"{namespace}#{key}#{count}")


class _Check:
    """An interrupt's ``response_schema``: the JSON schema clients see, and the validator of
    the answer (none for a JSON schema dict, or no schema)."""

    __slots__ = ("_adapter", "schema")

    def __init__(self, schema: Any, adapter: TypeAdapter[Any] | None) -> None:
        self.schema = schema
        self._adapter = adapter

    @classmethod
    def of(cls, response_schema: Any) -> _Check:
        if response_schema is None or isinstance(response_schema, Mapping):
            return cls(response_schema, None)
        adapter: TypeAdapter[Any] = TypeAdapter(response_schema)
        return cls(adapter.json_schema(), adapter)

    def validate(self, answer: Any) -> Any:
        if self._adapter is None:
            return answer
        try:
            return self._adapter.validate_python(answer)
        except ValidationError as exc:
            # The person's answer is wrong, not a tool's arguments: see is_invalid_resume.
            setattr(exc, _INVALID_RESUME, True)
            raise


def _keyed(scope: TaskScope, questions: Mapping[str, Any], check: _Check) -> dict[str, Any]:
    ids: dict[str, str] = {}
    for key in questions:
        full = f"{scope.prefix}/{key}" if scope.prefix and key else (key or scope.prefix)
        count = scope.key_counts.get(full, 0)
        scope.key_counts[full] = count + 1
        ids[key] = keyed_interrupt_id(scope.checkpoint_ns, full, count)
    pad = scope.scratchpad
    answers: dict[str, Any] = {}
    waiting: list[Interrupt] = []
    for key, iid in ids.items():
        if iid in pad.keyed:
            answers[key] = check.validate(pad.keyed[iid])
            continue
        answer = pad.null_resume(True)
        if answer is not None:
            answers[key] = check.validate(answer)
            pad.keyed[iid] = answer
            continue
        waiting.append(Interrupt(value=questions[key], id=iid, response_schema=check.schema))
    if pad.keyed:
        scope.send([(KEYED_RESUME, dict(pad.keyed))])
    if waiting:
        raise GraphInterrupt(tuple(waiting))
    return answers
