"""Put tools behind human review: before a reviewed tool runs, the graph pauses with an
``interrupt()`` and a human accepts, edits, answers instead, or rejects the call.

Each reviewed call is asked about with ``interrupt_many`` keyed by the model's call id, so
its interrupt id derives from the running task's id and the call id and is the same every
time the node runs again after a resume. When
one model turn makes several reviewed calls, :class:`~hone.graph.prebuilt.ToolNode` asks about
all of them at once (one interrupt each) and runs no tool until every one is answered; resume
with ``Command(resume={interrupt_id: decision, ...})``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias, overload

import pydantic_core

from hone.errors import GraphError
from hone.graph._context import current_scope
from hone.graph._interrupt import interrupt_many, keyed_interrupt_id
from hone.messages import ToolCall, ToolMessage
from hone.tools import Tool, ToolContext, ToolLike
from hone.tools._convert import as_tool

__all__ = [
    "ReviewConfig",
    "ReviewDecision",
    "ReviewedTool",
    "ask_reviews",
    "review_interrupt_id",
    "review_message",
    "with_review",
]

#: What a human may answer: run the call, run it with other arguments, answer in the tool's
#: place, or refuse it.
DecisionType: TypeAlias = Literal["accept", "edit", "response", "reject"]
_FLAGS: dict[str, str] = {
    "accept": "allow_accept",
    "edit": "allow_edit",
    "response": "allow_respond",
    "reject": "allow_reject",
}


@dataclass(frozen=True, slots=True)
class ReviewConfig:
    """Which answers a reviewer may give (shown to the human in the interrupt's ``config``)."""

    allow_accept: bool = True
    allow_edit: bool = True
    allow_respond: bool = True
    allow_reject: bool = True
    #: What the reviewer is asked; None: a sentence naming the tool. A callable gets the call.
    description: str | Callable[[ToolCall], str] | None = None

    def allows(self, kind: str) -> bool:
        """Whether a decision of type ``kind`` is allowed."""
        flag = _FLAGS.get(kind)
        return flag is not None and bool(getattr(self, flag))

    def as_dict(self) -> dict[str, bool]:
        """The ``allow_*`` flags as a dict."""
        return {flag: bool(getattr(self, flag)) for flag in _FLAGS.values()}


@dataclass(frozen=True, slots=True)
class ReviewDecision:
    """A validated answer of the reviewer for one call."""

    type: DecisionType
    #: New arguments (``edit``).
    args: Mapping[str, Any] = field(default_factory=dict)
    #: The text the model sees instead of the tool's result (``response``), or the reason
    #: for a rejection (``reject``).
    message: str | None = None


def _parse_decision(value: Any, config: ReviewConfig) -> ReviewDecision | str:
    """The decision ``value`` describes, or why it is not acceptable (a sentence)."""
    if isinstance(value, ReviewDecision):
        kind: Any = value.type
        raw: Mapping[str, Any] = {"args": value.args, "message": value.message}
    elif isinstance(value, Mapping):
        kind, raw = value.get("type"), value
    else:
        kind, raw = value, {}
    if kind not in _FLAGS:
        return (
            f"{value!r} is not a review decision; answer with {{'type': ...}} where type is one "
            f"of {sorted(_FLAGS)}"
        )
    if not config.allows(kind):
        allowed = [k for k in _FLAGS if config.allows(k)]
        return f"{kind!r} is not allowed for this tool; allowed: {allowed}"
    message = raw.get("message")
    if kind == "edit":
        args = raw.get("args")
        if not isinstance(args, Mapping):
            return "an 'edit' decision needs 'args': a dict of the new arguments"
        return ReviewDecision("edit", dict(args), None)
    if kind == "response" and not isinstance(message, str):
        return "a 'response' decision needs 'message': the text the model sees instead"
    return ReviewDecision(kind, {}, message if isinstance(message, str) else None)


@dataclass(frozen=True, eq=False)
class ReviewedTool(Tool):
    """A tool whose calls a human reviews before they run. Make one with :func:`with_review`.

    Run on its own (by :func:`hone.tools.aexecute_tool_calls` inside a graph node) it asks about
    one call at a time; :class:`~hone.graph.prebuilt.ToolNode` asks about a whole turn at once.
    """

    #: The tool that runs once the call is accepted (or edited).
    inner: Tool | None = None
    review: ReviewConfig = field(default_factory=ReviewConfig)

    @property
    def target(self) -> Tool:
        """The wrapped tool."""
        if self.inner is None:
            raise GraphError("a ReviewedTool needs the tool it wraps; make one with with_review()")
        return self.inner

    async def run(self, values: Mapping[str, Any], context: ToolContext) -> Any:
        """Ask the reviewer (pausing the graph), then run, skip or answer as decided."""
        call = ToolCall(
            id=context.call_id,
            name=self.name,
            arguments=pydantic_core.to_jsonable_python(dict(values), fallback=str),
        )
        decision = ask_reviews([(call, self)])[call.id]
        if decision.type == "accept":
            return await self.target.run(values, context)
        if decision.type == "edit":
            return await self.target.run(self.target.validate(decision.args), context)
        return review_message(call, decision).text


@overload
def with_review(
    tools: ToolLike,
    *,
    allow_accept: bool = ...,
    allow_edit: bool = ...,
    allow_respond: bool = ...,
    allow_reject: bool = ...,
    description: str | Callable[[ToolCall], str] | None = ...,
) -> ReviewedTool: ...


@overload
def with_review(
    tools: Sequence[ToolLike],
    *,
    allow_accept: bool = ...,
    allow_edit: bool = ...,
    allow_respond: bool = ...,
    allow_reject: bool = ...,
    description: str | Callable[[ToolCall], str] | None = ...,
) -> list[ReviewedTool]: ...


def with_review(
    tools: ToolLike | Sequence[ToolLike],
    *,
    allow_accept: bool = True,
    allow_edit: bool = True,
    allow_respond: bool = True,
    allow_reject: bool = True,
    description: str | Callable[[ToolCall], str] | None = None,
) -> ReviewedTool | list[ReviewedTool]:
    """Put a tool (or each tool of a list) behind human review.

    Before a reviewed call runs, the graph pauses with ``interrupt({"action_request": {"tool":
    name, "args": args}, "config": {"allow_accept": ..., ...}, "description": ...,
    "tool_call_id": ...})``. Resume with one of::

        {"type": "accept"}                       # run the call as the model made it
        {"type": "edit", "args": {...}}          # run it with these arguments instead
        {"type": "response", "message": "..."}   # skip it; the model reads this as its result
        {"type": "reject", "message": "why"}     # skip it; the model reads a refusal

    An answer that is malformed or not allowed makes the graph ask again (the new question
    carries an ``error``). Calls whose arguments are invalid are not reviewed: the model sees
    the validation error, as without review.

    Raises:
        ConfigError: every decision type is disallowed.
        ToolDefinitionError: a function that cannot become a tool.
    """
    if isinstance(tools, Sequence):
        return [
            with_review(
                t,
                allow_accept=allow_accept,
                allow_edit=allow_edit,
                allow_respond=allow_respond,
                allow_reject=allow_reject,
                description=description,
            )
            for t in tools
        ]
    from hone.errors import ConfigError

    config = ReviewConfig(allow_accept, allow_edit, allow_respond, allow_reject, description)
    if not any(config.as_dict().values()):
        raise ConfigError("with_review() needs at least one allowed decision; allow one")
    inner = as_tool(tools)
    if isinstance(inner, ReviewedTool):
        inner = inner.target
    fields = {f.name: getattr(inner, f.name) for f in dataclasses.fields(Tool)}
    return ReviewedTool(**fields, inner=inner, review=config)


def _question(call: ToolCall, tool: ReviewedTool, error: str | None) -> dict[str, Any]:
    described = tool.review.description
    if callable(described):
        text = described(call)
    else:
        text = described or (
            f"The agent wants to call {call.name!r}. Accept, edit the arguments, answer in its "
            "place, or reject."
        )
    question: dict[str, Any] = {
        "action_request": {"tool": call.name, "args": dict(call.arguments)},
        "config": tool.review.as_dict(),
        "description": text,
        "tool_call_id": call.id,
    }
    if error is not None:
        question["error"] = error
    return question


def _review_key(call_id: str) -> str:
    return f"review/{call_id}"


def review_interrupt_id(namespace: str, call_id: str, attempt: int = 0) -> str:
    """The interrupt id of the ``attempt``-th question about call ``call_id`` in the task
    running in checkpoint namespace ``namespace`` (``"<node>:<task id>"`` for a node of the
    root graph): the id ``interrupt(..., key=f"review/{call_id}")`` gets there."""
    return keyed_interrupt_id(namespace, _review_key(call_id), attempt)


def ask_reviews(calls: Sequence[tuple[ToolCall, ReviewedTool]]) -> dict[str, ReviewDecision]:
    """The reviewer's decision for each call, by call id; pauses the graph with one interrupt
    per call still waiting for an answer (keyed by its call id, so ids are stable).

    An unacceptable answer is asked about again (a new question carrying the ``error``) once
    every call of the round has an answer.

    Raises:
        GraphError: called outside a running graph node.
    """
    if current_scope() is None:
        raise GraphError("reviewed tools can only run inside a running graph node")
    decisions: dict[str, ReviewDecision] = {}
    errors: dict[str, str | None] = {}
    pending = list(calls)
    while pending:
        answers = interrupt_many(
            {_review_key(c.id): _question(c, t, errors.get(c.id)) for c, t in pending}
        )
        undecided: list[tuple[ToolCall, ReviewedTool]] = []
        for call, tool in pending:
            parsed = _parse_decision(answers[_review_key(call.id)], tool.review)
            if isinstance(parsed, ReviewDecision):
                decisions[call.id] = parsed
            else:
                errors[call.id] = parsed
                undecided.append((call, tool))
        pending = undecided
    return decisions


def review_message(call: ToolCall, decision: ReviewDecision) -> ToolMessage:
    """The tool message for a call the reviewer answered (``response``) or refused (``reject``)."""
    if decision.type == "response":
        return ToolMessage(content=decision.message or "", tool_call_id=call.id)
    reason = f" Reason: {decision.message}" if decision.message else ""
    return ToolMessage(
        content=f"The user rejected the call to {call.name!r}; it did not run.{reason}",
        tool_call_id=call.id,
        is_error=True,
    )
