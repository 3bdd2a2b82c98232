"""Where ``create_react_agent`` goes after the model's turn and after its ``post_model_hook``:
to the tool node (v1: one task for the turn; v2: one ``Send`` per call, carrying LangGraph's
``ToolCallWithContext``), back to the model, to the structured answer, or to the end."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal, TypeAlias

from hone.graph._context import current_scope
from hone.graph._types import END, Send
from hone.graph.prebuilt._react_state import state_value
from hone.graph.prebuilt._tool_node import last_turn
from hone.graph.prebuilt._tool_request import ToolCallWithContext, call_dict
from hone.interop._messages import from_langchain, is_langchain_message
from hone.messages import AssistantMessage, ToolCall, ToolMessage, UserMessage, to_message

__all__ = ["Routes", "Version", "tool_call_sends"]

#: LangGraph's graph versions: ``"v1"`` runs all calls of a turn in one tool-node task,
#: ``"v2"`` sends each call to its own task.
Version: TypeAlias = Literal["v1", "v2"]

_Route: TypeAlias = "str | list[Send]"


def _sent_call(call: ToolCall) -> ToolCall | dict[str, Any]:
    """A call as ``Send`` carries it: LangChain's tool-call dict, or, for a call whose
    arguments could not be parsed (LangGraph sends none of those), hone's call itself, so
    the tool node answers with its parse error as v1's node does."""
    return call if call.error is not None else call_dict(call)


def tool_call_sends(node: str, calls: Sequence[ToolCall], state: Any) -> list[Send]:
    """One ``Send`` per call to ``node``, each carrying LangGraph's ``ToolCallWithContext``
    (the call, and the state the tool sees). The running graph's untracked keys stay out of
    the packet (a packet is checkpointed; the tool node reads them from the graph)."""
    scope = current_scope()
    untracked = scope.loop.graph.channel_kinds.untracked if scope is not None else ()
    if untracked and isinstance(state, dict):
        state = {k: v for k, v in state.items() if k not in untracked}
    return [
        Send(
            node,
            ToolCallWithContext(
                __type="tool_call_with_context", tool_call=_sent_call(c), state=state
            ),
        )
        for c in calls
    ]


def _as_hone(message: Any) -> Any:
    return from_langchain(message) if is_langchain_message(message) else to_message(message)


def _parse_feedback(messages: Sequence[Any]) -> bool:
    """Whether the conversation ends with a model turn and the user message an
    :class:`~hone.agent.AgentStep` adds when the turn's tool-call syntax could not be parsed
    (any other last message that is not a model turn ends the run, as in LangGraph)."""
    if len(messages) < 2:
        return False
    reply, feedback = (_as_hone(m) for m in messages[-2:])
    return isinstance(reply, AssistantMessage) and isinstance(feedback, UserMessage)


def pending_calls(messages: Sequence[Any]) -> list[ToolCall]:
    """The calls of the last model turn that no tool message answers yet."""
    converted = [_as_hone(m) for m in messages]
    answered = {m.tool_call_id for m in converted if isinstance(m, ToolMessage)}
    turn = next((m for m in reversed(converted) if isinstance(m, AssistantMessage)), None)
    return [] if turn is None else [c for c in turn.tool_calls if c.id not in answered]


@dataclass(frozen=True, slots=True)
class Routes:
    """The agent's routing, given its shape.

    Attributes:
        version: how tool calls reach the tool node.
        tools: the tool node's name; None: the agent has no tools.
        entry: where each model turn starts (``pre_model_hook`` when there is one).
        post_hook: whether a ``post_model_hook`` runs after the model.
        structured: whether ``generate_structured_response`` runs after the answer.
        direct: the tools whose result is the agent's answer (LangChain's
            ``return_direct``): after a turn calling one, the run ends.
    """

    version: Version
    tools: str | None
    entry: str
    post_hook: bool
    structured: bool
    direct: frozenset[str] = frozenset()

    @property
    def answered(self) -> str:
        """Where the agent's answer goes: the structured answer, or END."""
        return "generate_structured_response" if self.structured else END

    def _to_tools(self, calls: Sequence[ToolCall], state: Any) -> _Route:
        if self.tools is None:
            return self.answered  # no tools: a turn that calls one still ends, as LangGraph's
        if self.version == "v1":
            return self.tools
        return list(tool_call_sends(self.tools, calls, state))

    def after_model(self, state: Any) -> _Route:
        """After the model's turn: its tool calls go to the tools (or to the post hook
        first), an answer to the post hook or to the end, and a turn whose tool-call syntax
        could not be parsed back to the model with the errors."""
        messages = list(state_value(state, "messages", []))
        if _parse_feedback(messages):
            return self.entry
        if self.post_hook:
            return "post_model_hook"
        turn = last_turn(messages, "messages")
        if turn is not None and turn.tool_calls:
            return self._to_tools(turn.tool_calls, state)
        return self.answered

    def after_post_hook(self, state: Any) -> _Route:
        """After the ``post_model_hook`` (LangGraph's ``post_model_hook_router``): the calls
        still unanswered go to the tools; when the hook answered them all, back to the
        model; with no calls, the answer is final."""
        messages = list(state_value(state, "messages", []))
        pending = pending_calls(messages)
        if pending:
            return self._to_tools(pending, state)
        if messages and isinstance(_as_hone(messages[-1]), ToolMessage):
            return self.entry
        return self.answered

    def after_tools(self, state: Any) -> str:
        """After the tools (LangGraph's ``route_tool_responses``): END when the turn called
        a ``return_direct`` tool (its result is the answer), else the model again."""
        turn = next(
            (
                m
                for m in map(_as_hone, reversed(list(state_value(state, "messages", []))))
                if isinstance(m, AssistantMessage)
            ),
            None,
        )
        if turn is not None and any(c.name in self.direct for c in turn.tool_calls):
            return END
        return self.entry

    def model_targets(self) -> list[str]:
        """Every node ``after_model`` may go to (the graph's drawing shows these)."""
        if self.post_hook:
            return ["post_model_hook", self.entry]
        return self._targets()

    def post_hook_targets(self) -> list[str]:
        """Every node ``after_post_hook`` may go to."""
        return self._targets()

    def _targets(self) -> list[str]:
        return [*([self.tools] if self.tools else []), self.entry, self.answered]
