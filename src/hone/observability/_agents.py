"""Spans of hone.agents: guardrail checks, handoffs, and agents run as members of a team.

* Each guardrail check is an ``apply_guardrail {guardrail}`` span with the GenAI conventions'
  guardrail attributes (hone's guardrails are a dedicated in-process guardrail API, as the
  conventions' OpenAI Agents example): ``gen_ai.guardrail.component.name`` (the guardrail's
  name), ``gen_ai.guardrail.source`` (the stage: ``input``, ``output``, ``tool_input``,
  ``tool_output``), ``gen_ai.guardrail.result.type="action"`` and ``.value`` (hone's own
  decision, ``allow`` / ``rewrite`` / ``reject`` / ``raise``), and the same as a
  ``gen_ai.guardrail.result`` event. A model a guardrail calls nests under it.
* A handoff is a tool call the agent resolves instead of running: each handoff call of a turn
  becomes a finished ``execute_tool transfer_to_...`` span, the winner with
  ``hone.handoff.source`` / ``hone.handoff.target``, refused ones failed with
  ``error.type="handoff_refused"``.
* An agent a pattern runs on its view of the conversation is an ``invoke_agent {agent}`` span;
  the agent's own graph run nests under it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator, Mapping
from typing import Any, TypeVar

from opentelemetry.trace import SpanKind
from opentelemetry.util.types import AttributeValue

from hone.observability._config import active_tracer, capture_content
from hone.observability._spans import (
    OPERATION,
    PROVIDER,
    attach,
    context_attributes,
    end_with_error,
)
from hone.observability._tools import record_tool_call

__all__ = ["agent_span", "trace_guardrail", "trace_handoffs"]

R = TypeVar("R")


def trace_guardrail(
    check: Callable[[tuple[Any, ...], Any], Awaitable[R]],
    args: tuple[Any, ...],
    context: Any,
    call: Any = None,
) -> Awaitable[R]:
    """``check(args, context)``, inside its ``apply_guardrail`` span when tracing is on.

    Args:
        check: the guardrail (a ``GuardrailCheck``: ``name``, ``stage``, called with the
            stage's arguments and the ``GuardrailContext``).
        args: the stage's arguments.
        context: where it runs (its ``agent`` is recorded).
        call: the tool call, for tool stages.
    """
    if active_tracer() is None:
        return check(args, context)
    return _traced_guardrail(check, args, context, call)


async def _traced_guardrail(
    check: Callable[[tuple[Any, ...], Any], Awaitable[R]],
    args: tuple[Any, ...],
    context: Any,
    call: Any,
) -> R:
    tracer = active_tracer()
    if tracer is None:
        return await check(args, context)
    name, stage = str(getattr(check, "name", "guardrail")), str(getattr(check, "stage", ""))
    identity: dict[str, AttributeValue] = {
        "gen_ai.guardrail.component.name": name,
        "gen_ai.guardrail.source": stage,
    }
    attributes: dict[str, AttributeValue] = {
        OPERATION: "apply_guardrail",
        PROVIDER: "hone",
        **identity,
        **context_attributes(),
    }
    agent = getattr(context, "agent", None)
    if agent:
        attributes["gen_ai.agent.name"] = str(agent)
    if call is not None:
        attributes["gen_ai.tool.name"] = str(call.name)
        attributes["gen_ai.tool.call.id"] = str(call.id)
    span = tracer.start_span(
        f"apply_guardrail {name}", kind=SpanKind.INTERNAL, attributes=attributes
    )
    try:
        with attach(span):
            result = await check(args, context)
        action = str(getattr(result, "action", ""))
        outcome: dict[str, AttributeValue] = {
            "gen_ai.guardrail.result.type": "action",
            "gen_ai.guardrail.result.value": action,
        }
        message = getattr(result, "message", None)
        if message and capture_content():
            outcome["gen_ai.guardrail.result.reason"] = str(message)
        span.set_attributes(outcome)
        span.add_event("gen_ai.guardrail.result", {**identity, **outcome})
        return result
    except BaseException as exc:
        end_with_error(span, exc)
        raise
    finally:
        span.end()


def trace_handoffs(plan: Any) -> None:
    """Record the handoff calls of one turn (a ``TurnPlan``: its ``answers`` by call id and
    its winning ``handoff``) as finished ``execute_tool`` spans."""
    if active_tracer() is None:
        return
    winner = plan.handoff
    answers: Mapping[str, Any] = plan.answers
    for call_id, message in answers.items():
        name = str(message.name or "")
        if winner is not None and call_id == winner.tool_call_id:
            record_tool_call(
                name,
                call_id,
                attributes={
                    "hone.handoff.source": winner.source,
                    "hone.handoff.target": winner.target,
                },
            )
        else:
            record_tool_call(name, call_id, error="handoff_refused")


@contextlib.contextmanager
def agent_span(name: str) -> Iterator[None]:
    """An ``invoke_agent {name}`` span around one run of a team's member agent (an interrupt
    pausing it, raised inside the graph task that runs it, does not fail it)."""
    tracer = active_tracer()
    if tracer is None:
        yield
        return
    attributes: dict[str, AttributeValue] = {
        OPERATION: "invoke_agent",
        PROVIDER: "hone",
        "gen_ai.agent.name": name,
        **context_attributes(),
    }
    span = tracer.start_span(f"invoke_agent {name}", kind=SpanKind.INTERNAL, attributes=attributes)
    try:
        with attach(span):
            yield
    except BaseException as exc:
        end_with_error(span, exc)
        raise
    finally:
        span.end()
