"""Running a ReAct agent inside a pattern's node (the plan's executor, each solver).

The agent is a compiled graph called inside the node, so under a checkpointer it runs in the
node's own checkpoint namespace: an interrupt inside it (a reviewed tool) pauses the whole
run and resumes there. Its step budget is its recursion limit, and it is built with a
final-answer turn, so it always ends with an answer. Why it stopped is collected and passed
on to whoever watches the whole run (a rollout records it).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hone.agent._scope import StopReason, report_stop, watch_stops
from hone.errors import GraphRecursionError
from hone.messages import AnyMessage, AssistantMessage, ToolMessage

if TYPE_CHECKING:
    from hone.graph._compiled import CompiledGraph

__all__ = ["SubagentRun", "run_subagent"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SubagentRun:
    """What a ReAct agent did inside a node.

    Attributes:
        messages: its conversation at the end (hone messages: it was given hone messages).
        stop: why its loop stopped (None when it reported nothing: it ran past its limit).
    """

    messages: tuple[Any, ...]
    stop: StopReason | None

    @property
    def answer(self) -> str | None:
        """The text of its last reply, or None when it made none."""
        reply = next((m for m in reversed(self.messages) if isinstance(m, AssistantMessage)), None)
        return None if reply is None else reply.text

    @property
    def failed(self) -> bool:
        """Whether it did not end with a plain answer, or the last tool result it saw was an
        error."""
        last_tool = next((m for m in reversed(self.messages) if isinstance(m, ToolMessage)), None)
        return self.stop != "answered" or (last_tool is not None and last_tool.is_error)


async def run_subagent(
    agent: CompiledGraph, messages: Sequence[AnyMessage], *, max_steps: int
) -> SubagentRun:
    """Run ``agent`` (a ``create_react_agent`` graph built with a final answer) on
    ``messages`` with ``max_steps`` tool rounds at most."""
    out: Any = {}
    with watch_stops() as stops:
        try:
            out = await agent.ainvoke(
                {"messages": list(messages)}, {"recursion_limit": 2 * max_steps + 2}
            )
        except GraphRecursionError as exc:  # a final-answer agent should never get here
            logger.warning("a sub-agent ran past its recursion limit: %s", exc)
    for stop in stops:
        report_stop(stop.reason, stop.model)
    return SubagentRun(tuple(out.get("messages") or ()), stops[-1].reason if stops else None)
