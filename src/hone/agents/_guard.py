"""Guardrails: checks at an agent's boundaries whose decisions are values.

A guardrail looks at what crosses one boundary (its *stage*) and returns a
:class:`GuardrailResult`:

* ``input`` sees the conversation at the agent's entry, before its model is called; a
  ``reject(message)`` makes ``message`` the agent's answer (no model call, no tool runs).
* ``output`` sees the agent's answer (the turn that ends it); ``reject`` replaces it.
* ``tool_input`` sees each tool call, before any call of the turn runs; a rejected call does
  not run and the model reads ``message`` as its (error) result.
* ``tool_output`` sees each tool result's text before the model reads it; ``reject`` puts
  ``message`` in its place.

``allow()`` lets it pass, ``raise_exception()`` stops the run with
:class:`~hone.errors.GuardrailTripwireError`, and ``rewrite(content)`` (``output`` and
``tool_output`` only) replaces the text that passes. A guardrail is a function (sync or async)
taking the stage's arguments and, optionally, a :class:`GuardrailContext`, or an object with a
``name`` and such a ``check`` method (the protocols below). Every decision other than a plain
``allow()`` is recorded (:func:`record_event`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeAlias, get_args

from hone._async import is_async_callable
from hone.errors import ConfigError, GuardrailError, GuardrailTripwireError
from hone.graph import GraphInterrupt, ParentCommand, get_stream_writer
from hone.messages import AnyMessage, AssistantMessage, ToolCall
from hone.observability._agents import trace_guardrail
from hone.trajectory import current_rollout, to_jsonable

__all__ = [
    "GuardrailAction",
    "GuardrailCheck",
    "GuardrailContext",
    "GuardrailEvent",
    "GuardrailResult",
    "GuardrailStage",
    "InputGuardrail",
    "OutputGuardrail",
    "ToolInputGuardrail",
    "ToolOutputGuardrail",
    "Verdict",
    "as_check",
    "record_event",
    "run_checks",
]

logger = logging.getLogger(__name__)

#: Where a guardrail runs: the agent's input, its answer, a tool call, a tool's result.
GuardrailStage: TypeAlias = Literal["input", "output", "tool_input", "tool_output"]
#: A guardrail's decision: let it pass, let a rewritten text pass, refuse it, stop the run.
GuardrailAction: TypeAlias = Literal["allow", "rewrite", "reject", "raise"]

_STAGES: frozenset[str] = frozenset(get_args(GuardrailStage))
_REWRITABLE = frozenset({"output", "tool_output"})
#: The arguments each stage's check takes before the context.
_PARAMETERS: dict[str, tuple[str, ...]] = {
    "input": ("messages",),
    "output": ("reply",),
    "tool_input": ("call",),
    "tool_output": ("call", "output"),
}


@dataclass(frozen=True, slots=True)
class GuardrailResult:
    """A guardrail's decision. Make one with :meth:`allow`, :meth:`rewrite`, :meth:`reject`
    or :meth:`raise_exception`.

    Attributes:
        action: what happens (see :data:`GuardrailAction`).
        message: ``reject``: the text shown instead (to the model for tool stages, as the
            agent's answer otherwise); ``raise``: the reason carried by the error.
        content: ``rewrite``: the text that passes instead of the checked one.
        info: JSON-able details recorded with the decision (what was found, scores).
    """

    action: GuardrailAction = "allow"
    message: str | None = None
    content: str | None = None
    info: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.action not in get_args(GuardrailAction):
            raise ConfigError(
                f"unknown guardrail action {self.action!r}; use one of "
                f"{list(get_args(GuardrailAction))}"
            )
        if self.action == "reject" and not (isinstance(self.message, str) and self.message):
            raise ConfigError("GuardrailResult.reject() needs the message shown in its place")
        if self.action == "rewrite" and not isinstance(self.content, str):
            raise ConfigError("GuardrailResult.rewrite() needs the text that passes instead")

    @classmethod
    def allow(cls, *, info: Mapping[str, Any] | None = None) -> GuardrailResult:
        """Let it pass (with ``info``, the decision is recorded too)."""
        return cls("allow", info=dict(info or {}))

    @classmethod
    def rewrite(cls, content: str, *, info: Mapping[str, Any] | None = None) -> GuardrailResult:
        """Let ``content`` pass instead (``output`` and ``tool_output`` guardrails)."""
        return cls("rewrite", content=content, info=dict(info or {}))

    @classmethod
    def reject(cls, message: str, *, info: Mapping[str, Any] | None = None) -> GuardrailResult:
        """Refuse it; ``message`` is shown in its place."""
        return cls("reject", message=message, info=dict(info or {}))

    @classmethod
    def raise_exception(
        cls, message: str | None = None, *, info: Mapping[str, Any] | None = None
    ) -> GuardrailResult:
        """Stop the run: :class:`~hone.errors.GuardrailTripwireError` with ``message``."""
        return cls("raise", message=message, info=dict(info or {}))


@dataclass(frozen=True, slots=True)
class GuardrailContext:
    """What a guardrail knows about where it runs.

    Attributes:
        agent: the agent's name.
        stage: the boundary being checked.
        role: the agent's role (for per-role policies), or None.
        state: the graph state the agent runs on (None outside a graph).
        deps: the tools' dependencies (``ToolContext.deps``), for tool stages.
    """

    agent: str
    stage: GuardrailStage
    role: str | None = None
    state: Any = None
    deps: Any = None


#: What a guardrail check may return: a result, or (async) an awaitable of one.
CheckReturn: TypeAlias = GuardrailResult | Awaitable[GuardrailResult]


class InputGuardrail(Protocol):
    """Checks the conversation before the agent calls its model (the agent's entry)."""

    @property
    def name(self) -> str:
        """The name recorded with its decisions."""
        ...

    def check(self, messages: Sequence[AnyMessage], context: GuardrailContext) -> CheckReturn:
        """Decide on ``messages`` (hone messages, without the agent's system prompt)."""
        ...


class OutputGuardrail(Protocol):
    """Checks the agent's answer: the model turn that ends the agent."""

    @property
    def name(self) -> str:
        """The name recorded with its decisions."""
        ...

    def check(self, reply: AssistantMessage, context: GuardrailContext) -> CheckReturn:
        """Decide on ``reply``."""
        ...


class ToolInputGuardrail(Protocol):
    """Checks a tool call before any call of its turn runs."""

    @property
    def name(self) -> str:
        """The name recorded with its decisions."""
        ...

    def check(self, call: ToolCall, context: GuardrailContext) -> CheckReturn:
        """Decide on ``call`` (its tool exists and its arguments validate)."""
        ...


class ToolOutputGuardrail(Protocol):
    """Checks a tool's result before the model reads it."""

    @property
    def name(self) -> str:
        """The name recorded with its decisions."""
        ...

    def check(self, call: ToolCall, output: str, context: GuardrailContext) -> CheckReturn:
        """Decide on ``output``, the text the model would read for ``call``."""
        ...


@dataclass(frozen=True, slots=True)
class GuardrailEvent:
    """A recorded guardrail decision (in ``stream_mode="custom"`` as ``{"guardrail": ...}``
    and, inside a rollout, in ``Episode.metadata["guardrails"]``).

    Attributes:
        guardrail: the guardrail's name.
        stage: where it ran.
        action: what it decided.
        agent: the agent's name.
        role: the agent's role, or None.
        message: the rejection text or the tripwire's reason.
        tool: the tool's name (tool stages).
        tool_call_id: the call's id (tool stages).
        info: the guardrail's details.
    """

    guardrail: str
    stage: GuardrailStage
    action: GuardrailAction
    agent: str
    role: str | None = None
    message: str | None = None
    tool: str | None = None
    tool_call_id: str | None = None
    info: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The event as JSON data."""
        return {
            "guardrail": self.guardrail,
            "stage": self.stage,
            "action": self.action,
            "agent": self.agent,
            "role": self.role,
            "message": self.message,
            "tool": self.tool,
            "tool_call_id": self.tool_call_id,
            "info": to_jsonable(dict(self.info)),
        }


def record_event(event: GuardrailEvent) -> None:
    """Record a decision: logged, written to the graph's custom stream (inside a node), and
    appended to the running rollout's ``metadata["guardrails"]`` (inside a rollout)."""
    logger.info(
        "guardrail %s (%s, agent %s) decided %s",
        event.guardrail,
        event.stage,
        event.agent,
        event.action,
    )
    data = event.to_dict()
    get_stream_writer()({"guardrail": data})
    rollout = current_rollout()
    if rollout is not None:
        rollout.metadata.setdefault("guardrails", []).append(data)


@dataclass(frozen=True, slots=True)
class GuardrailCheck:
    """A guardrail ready to run at one stage: its name, the function to call, and whether
    that function takes the context. Make one with :func:`as_check`."""

    name: str
    stage: GuardrailStage
    fn: Callable[..., Any]
    takes_context: bool

    async def __call__(self, args: tuple[Any, ...], context: GuardrailContext) -> GuardrailResult:
        """Run the guardrail on ``args`` and return its checked decision.

        Raises:
            GuardrailError: it raised, returned no :class:`GuardrailResult`, or rewrote at a
                stage that cannot be rewritten.
        """
        call_args = (*args, context) if self.takes_context else args
        try:
            if is_async_callable(self.fn):
                result = await self.fn(*call_args)
            else:  # a sync guardrail runs in a worker thread, as sync tools and nodes do
                result = await asyncio.to_thread(self.fn, *call_args)
                if inspect.isawaitable(result):
                    result = await result
        except (GraphInterrupt, ParentCommand, GuardrailError):
            raise  # an interrupt (a guardrail asking a human) or a precise guardrail error
        except Exception as exc:
            problem = f"raised {type(exc).__name__}: {exc}" if str(exc) else "raised"
            raise GuardrailError(self.name, self.stage, problem) from exc
        if not isinstance(result, GuardrailResult):
            raise GuardrailError(
                self.name,
                self.stage,
                f"returned {result!r}; return GuardrailResult.allow(), .reject(message), "
                ".rewrite(content) or .raise_exception()",
            )
        if result.action == "rewrite" and self.stage not in _REWRITABLE:
            raise GuardrailError(
                self.name,
                self.stage,
                "returned rewrite(); only output and tool_output guardrails can rewrite what "
                "passes: allow, reject or raise instead",
            )
        return result


def _binds(signature: inspect.Signature, count: int) -> bool:
    try:
        signature.bind(*([None] * count))
    except TypeError:
        return False
    return True


def as_check(guardrail: Any, stage: GuardrailStage) -> GuardrailCheck:
    """``guardrail`` (a function or an object with ``name`` and ``check``) ready for ``stage``.

    Raises:
        ConfigError: not a guardrail, a name that is not a non-empty string, or a signature
            that does not take the stage's arguments (optionally followed by the context).
    """
    if stage not in _STAGES:
        raise ConfigError(f"unknown guardrail stage {stage!r}; use one of {sorted(_STAGES)}")
    if isinstance(guardrail, GuardrailCheck):
        if guardrail.stage != stage:
            raise ConfigError(
                f"guardrail {guardrail.name!r} is a {guardrail.stage} guardrail, given as {stage}"
            )
        return guardrail
    if inspect.isclass(guardrail):
        raise ConfigError(
            f"{guardrail.__name__} is a class; give an instance as a {stage} guardrail "
            f"({guardrail.__name__}(...))"
        )
    check = getattr(guardrail, "check", None)
    if callable(check) and not inspect.isfunction(guardrail):
        fn, name = check, getattr(guardrail, "name", type(guardrail).__name__)
    elif callable(guardrail):
        fn, name = guardrail, getattr(guardrail, "__name__", type(guardrail).__name__)
    else:
        raise ConfigError(
            f"{guardrail!r} is not a {stage} guardrail: give a function or an object with a "
            "`name` and a `check` method"
        )
    if not isinstance(name, str) or not name:
        raise ConfigError(f"a guardrail's name must be a non-empty string, got {name!r}")
    params = _PARAMETERS[stage]
    try:
        signature = inspect.signature(fn)
    except (TypeError, ValueError):  # a builtin without a signature: trust the protocol
        return GuardrailCheck(name, stage, fn, takes_context=True)
    if _binds(signature, len(params) + 1):
        return GuardrailCheck(name, stage, fn, takes_context=True)
    if _binds(signature, len(params)):
        return GuardrailCheck(name, stage, fn, takes_context=False)
    wanted = ", ".join(params)
    raise ConfigError(
        f"{stage} guardrail {name!r} must take ({wanted}) or ({wanted}, context); its "
        f"signature is {signature}"
    )


@dataclass(frozen=True, slots=True)
class Verdict:
    """What a stage's guardrails decided together.

    Attributes:
        action: ``allow``, ``rewrite`` (``text`` passes instead) or ``reject`` (``text`` is
            shown instead); a ``raise`` never becomes a verdict, it is raised.
        text: the text that passes (``allow``: the checked text, unchanged) or is shown.
    """

    action: Literal["allow", "rewrite", "reject"]
    text: str | None = None


async def run_checks(
    checks: Sequence[GuardrailCheck],
    context: GuardrailContext,
    args: Callable[[str | None], tuple[Any, ...]],
    *,
    text: str | None = None,
    call: ToolCall | None = None,
) -> Verdict:
    """Run one stage's guardrails in order; the first ``reject`` or ``raise`` ends the checks,
    and each guardrail sees the text as the ones before it rewrote it.

    Args:
        checks: the stage's guardrails.
        context: where they run.
        args: the guardrail arguments for the current text (a rewrite changes them).
        text: the text the stage may rewrite (None for ``input`` and ``tool_input``).
        call: the tool call, for tool stages (recorded with the decisions).

    Raises:
        GuardrailTripwireError: a guardrail decided ``raise``.
        GuardrailError: a guardrail failed (see :class:`GuardrailCheck`).
    """
    current, rewritten = text, False
    for check in checks:
        result = await trace_guardrail(check, args(current), context, call)
        if result.action != "allow" or result.info:
            event = GuardrailEvent(
                guardrail=check.name,
                stage=check.stage,
                action=result.action,
                agent=context.agent,
                role=context.role,
                message=result.message,
                tool=None if call is None else call.name,
                tool_call_id=None if call is None else call.id,
                info=result.info,
            )
            record_event(event)
            if result.action == "raise":
                raise GuardrailTripwireError(check.name, check.stage, result.message, event)
        if result.action == "reject":
            return Verdict("reject", result.message)
        if result.action == "rewrite":
            current, rewritten = result.content, True
    return Verdict("rewrite", current) if rewritten else Verdict("allow", current)
