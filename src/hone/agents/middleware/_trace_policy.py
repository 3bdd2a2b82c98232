"""What an agent's middleware hooks record in traces: each middleware's ``trace_policy``
(a :class:`~hone.graph.TracePolicy`), else the process-wide default set with
:func:`configure_trace_policy` (LangChain's ``configure_trace_policy``).

The policy is resolved each time a hook's run is recorded, so a default configured after
``create_agent`` applies to agents built before it, and a middleware's own policy replaces
the default whole (no field-by-field merge).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from hone.graph._types import TracePolicy

if TYPE_CHECKING:
    from hone.agents.middleware._base import AgentMiddleware

__all__ = ["configure_trace_policy", "hook_trace_policy"]

_default: TracePolicy | None = None


def configure_trace_policy(policy: TracePolicy | None) -> None:
    """Set the process-wide default :class:`~hone.graph.TracePolicy` of middleware hooks
    (None clears it). A middleware whose ``trace_policy`` is set uses its own instead."""
    global _default
    _default = policy


def _processor(
    middleware: AgentMiddleware[Any, Any, Any], field: Literal["process_inputs", "process_outputs"]
) -> Callable[[Any], Any]:
    def process(value: Any) -> Any:
        policy = middleware.trace_policy if middleware.trace_policy is not None else _default
        fn = None if policy is None else getattr(policy, field)
        return value if fn is None else fn(value)

    return process


def hook_trace_policy(middleware: AgentMiddleware[Any, Any, Any]) -> TracePolicy:
    """The trace policy of ``middleware``'s hook nodes: its own policy or the default, read
    when a hook's run is recorded."""
    return TracePolicy(
        process_inputs=_processor(middleware, "process_inputs"),
        process_outputs=_processor(middleware, "process_outputs"),
    )
