"""A tool node's calls in ``stream_mode="tools"``: LangGraph's tool-call lifecycle events.

Each call a tool node runs, in a run that streams ``tools``, is reported as
``{"event": "tool-started", "tool_call_id", "tool_name", "input"}``, then any
``{"event": "tool-output-delta", "tool_call_id", "delta"}`` the tool sends with
``ToolRuntime.emit_output_delta``, then ``{"event": "tool-finished", "tool_call_id",
"output"}`` (the tool message) or ``{"event": "tool-error", "tool_call_id", "message"}``,
under the namespace of the graph the node runs in.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator

from hone.graph._context import TOOL_OUTPUT, tool_events
from hone.graph._interrupt import GraphBubbleUp
from hone.messages import ToolCall
from hone.tools import ToolResult

__all__ = ["streamed_call"]


@contextlib.contextmanager
def streamed_call(call: ToolCall) -> Iterator[Callable[[ToolResult], None]]:
    """Report one call to ``stream_mode="tools"`` when the run streams it: ``tool-started``
    now, the ``tool-output-delta`` pieces the tool sends (``ToolRuntime.emit_output_delta``)
    while it runs, then ``tool-finished`` or ``tool-error`` with the result given to the
    yielded function. An interrupted call reports nothing more: it runs again on resume."""
    send = tool_events()
    if send is None:
        yield _no_report
        return
    send(
        {
            "event": "tool-started",
            "tool_call_id": call.id,
            "tool_name": call.name,
            "input": dict(call.arguments),
        }
    )
    token = TOOL_OUTPUT.set(
        lambda delta: send({"event": "tool-output-delta", "tool_call_id": call.id, "delta": delta})
    )

    def report(result: ToolResult) -> None:
        if result.exception is not None or result.error is not None:
            message = str(result.exception) if result.exception is not None else str(result.error)
            send({"event": "tool-error", "tool_call_id": call.id, "message": message})
        else:
            send({"event": "tool-finished", "tool_call_id": call.id, "output": result.to_message()})

    try:
        yield report
    except GraphBubbleUp:
        raise
    except BaseException as exc:
        send({"event": "tool-error", "tool_call_id": call.id, "message": str(exc)})
        raise
    finally:
        TOOL_OUTPUT.reset(token)


def _no_report(result: ToolResult) -> None:
    return None
