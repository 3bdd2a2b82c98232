"""Where :func:`~hone.agents.create_agent`'s run goes after each node: a hook's ``jump_to``,
the model's tool calls (one ``Send`` each), the structured answer, a tool that returns
directly, or the next hook."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hone.agents.middleware._types import JumpTo
from hone.graph._types import Send
from hone.graph.prebuilt._react_route import tool_call_sends
from hone.interop._messages import from_langchain, is_langchain_message
from hone.messages import AssistantMessage, ToolCall, ToolMessage, to_message

__all__ = ["Jumps", "last_turn_and_answers", "tools_route"]


def _hone(message: Any) -> Any:
    return from_langchain(message) if is_langchain_message(message) else to_message(message)


def last_turn_and_answers(
    messages: Sequence[Any],
) -> tuple[AssistantMessage | None, list[ToolMessage]]:
    """The last model turn and the tool messages after it (hone messages). A LangChain
    turn keeps only its valid calls: its ``invalid_tool_calls`` are answered before the
    next model call instead (see the model node), as in LangChain."""
    for index in range(len(messages) - 1, -1, -1):
        turn = _hone(messages[index])
        if isinstance(turn, AssistantMessage):
            if is_langchain_message(messages[index]):
                valid = tuple(c for c in turn.tool_calls if c.error is None)
                turn = turn.model_copy(update={"tool_calls": valid})
            answers = [m for m in map(_hone, messages[index + 1 :]) if isinstance(m, ToolMessage)]
            return turn, answers
    return None, []


@dataclass(frozen=True, slots=True)
class Jumps:
    """The places a jump may land: the loop's entry (``"model"``) and the exit (``"end"``)."""

    model: str
    end: str

    def resolve(self, jump_to: JumpTo | None) -> str | None:
        """The node ``jump_to`` names, or None (no jump)."""
        if jump_to == "model":
            return self.model
        if jump_to == "end":
            return self.end
        if jump_to == "tools":
            return "tools"
        return None

    def hook_route(self, default: str) -> Any:
        """The route after a hook that may jump: its jump, else ``default``."""

        def route(state: Mapping[str, Any]) -> str:
            return self.resolve(state.get("jump_to")) or default

        return route

    def targets(self, default: str, can_jump_to: Collection[str], node: str) -> list[str]:
        """The destinations of a hook node's route."""
        targets = [default]
        if "end" in can_jump_to:
            targets.append(self.end)
        if "tools" in can_jump_to:
            targets.append("tools")
        if "model" in can_jump_to and node != self.model:
            targets.append(self.model)
        return list(dict.fromkeys(targets))

    def after_model(self, output_tools: Collection[str]) -> Any:
        """The route after the model turn (and its ``after_model`` hooks): a jump; the end
        when the model called nothing; each call no message answers yet to the tools;
        else the end once there is a structured answer, the model otherwise."""

        def route(state: Mapping[str, Any]) -> str | list[Send]:
            target = self.resolve(state.get("jump_to"))
            if target is not None:
                return target
            turn, answers = last_turn_and_answers(state["messages"])
            if turn is None or not turn.tool_calls:
                return self.end
            answered = {m.tool_call_id for m in answers}
            pending: list[ToolCall] = [
                c for c in turn.tool_calls if c.id not in answered and c.name not in output_tools
            ]
            if pending:
                return tool_call_sends("tools", pending, dict(state))
            if state.get("structured_response") is not None:
                return self.end
            return self.model

        return route

    def model_to_model(self) -> Any:
        """The route after the model when the agent has no tools but a structured answer
        through a tool: the end once it has the answer, else the model again."""

        def route(state: Mapping[str, Any]) -> str:
            target = self.resolve(state.get("jump_to"))
            if target is not None:
                return target
            return self.end if state.get("structured_response") is not None else self.model

        return route


def tools_route(jumps: Jumps, direct: Mapping[str, bool], output_tools: Collection[str]) -> Any:
    """The route after the tools: the end when every call of the turn that ran was a
    ``return_direct`` tool, or a structured-output call was answered without error; the
    model otherwise. ``direct``: each registered tool's ``return_direct``."""

    def route(state: Mapping[str, Any]) -> str:
        turn, answers = last_turn_and_answers(state["messages"])
        if turn is None:
            return jumps.model
        ran_as = {m.tool_call_id: m.name for m in answers if m.name in direct}
        executed = [ran_as.get(c.id, c.name) for c in turn.tool_calls]
        ran = [name for name in executed if name is not None and name in direct]
        if ran and all(direct[name] for name in ran):
            return jumps.end
        if any(m.name in output_tools and not m.is_error for m in answers):
            return jumps.end
        return jumps.model

    return route
