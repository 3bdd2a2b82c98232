"""``ToolCallLimitMiddleware``: limit how many tool calls (of all tools, or of one) an agent
makes in a thread or in one run, blocking the calls past the limit, ending the run, or
raising (LangChain's ``ToolCallLimitMiddleware``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, NotRequired, TypeAlias

from hone.agents.middleware._base import AgentMiddleware, hook_config
from hone.agents.middleware._types import AgentState, PrivateStateAttr, ResponseT
from hone.graph import UntrackedValue
from hone.interop import from_langchain, is_langchain_message, to_langchain
from hone.messages import AssistantMessage, ToolCall, ToolMessage

__all__ = [
    "ExitBehavior",
    "ToolCallLimitExceededError",
    "ToolCallLimitMiddleware",
    "ToolCallLimitState",
]

#: What happens to a call past the limit: ``"continue"`` answers it with an error tool
#: message (the other calls run, the model goes on), ``"error"`` raises
#: :class:`ToolCallLimitExceededError`, ``"end"`` answers every call of the turn (none
#: runs) and ends the run with an assistant message saying which limit was exceeded.
ExitBehavior: TypeAlias = Literal["continue", "error", "end"]

_EXIT_BEHAVIORS: tuple[ExitBehavior, ...] = ("continue", "error", "end")

#: The counters' key when the middleware limits every tool.
_ALL_TOOLS = "__all__"

#: The answer to a call of the turn that was not over the limit but cannot run either,
#: because ``"end"`` stops the run before the tools.
_SKIPPED_TEXT = (
    "Execution stopped before this tool call could run because another tool call in the "
    "same batch exceeded the limit."
)


class ToolCallLimitState(AgentState[ResponseT]):
    """The agent's state with the middleware's counters, each ``{tool name: calls}``
    (``"__all__"`` for a middleware that limits every tool, so several middleware count
    side by side): in the thread (checkpointed) and in the current run (never
    checkpointed, so each run starts from nothing)."""

    thread_tool_call_count: NotRequired[Annotated[dict[str, int], PrivateStateAttr]]
    run_tool_call_count: NotRequired[Annotated[dict[str, int], UntrackedValue, PrivateStateAttr]]


def _blocked_text(tool_name: str | None) -> str:
    """What the model reads for a blocked call (no thread/run details: it knows neither)."""
    if tool_name:
        return f"Tool call limit exceeded. Do not call '{tool_name}' again."
    return "Tool call limit exceeded. Do not make additional tool calls."


def _exceeded_text(
    thread_count: int,
    run_count: int,
    thread_limit: int | None,
    run_limit: int | None,
    tool_name: str | None,
) -> str:
    """What the user reads: which limits the counts exceed, e.g. ``"'search' tool call
    limit reached: run limit exceeded (3/2 calls)."``."""
    exceeded = []
    if thread_limit is not None and thread_count > thread_limit:
        exceeded.append(f"thread limit exceeded ({thread_count}/{thread_limit} calls)")
    if run_limit is not None and run_count > run_limit:
        exceeded.append(f"run limit exceeded ({run_count}/{run_limit} calls)")
    subject = f"'{tool_name}' tool" if tool_name else "Tool"
    return f"{subject} call limit reached: {' and '.join(exceeded)}."


class ToolCallLimitExceededError(Exception):
    """A model turn asked for tool calls past a limit of a :class:`ToolCallLimitMiddleware`
    whose ``exit_behavior`` is ``"error"``. Carries the counts (as they would be with the
    blocked calls), the limits and the limited tool (None: every tool)."""

    def __init__(
        self,
        thread_count: int,
        run_count: int,
        thread_limit: int | None,
        run_limit: int | None,
        tool_name: str | None = None,
    ) -> None:
        self.thread_count = thread_count
        self.run_count = run_count
        self.thread_limit = thread_limit
        self.run_limit = run_limit
        self.tool_name = tool_name
        super().__init__(
            _exceeded_text(thread_count, run_count, thread_limit, run_limit, tool_name)
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            type(self),
            (self.thread_count, self.run_count, self.thread_limit, self.run_limit, self.tool_name),
        )


@dataclass(frozen=True, slots=True)
class _Turn:
    """The last model turn: its calls, and whether it is a LangChain message (answers are
    then LangChain's too)."""

    calls: tuple[ToolCall, ...]
    langchain: bool


def _last_turn(messages: Sequence[Any]) -> _Turn | None:
    for message in reversed(messages):
        if isinstance(message, AssistantMessage):
            return _Turn(message.tool_calls, langchain=False)
        if is_langchain_message(message) and getattr(message, "type", None) == "ai":
            # LangChain keeps malformed calls apart (invalid_tool_calls): they are not counted.
            converted = from_langchain(message)
            calls = getattr(converted, "tool_calls", ())
            return _Turn(tuple(c for c in calls if c.error is None), langchain=True)
    return None


def _error_answer(call: ToolCall, text: str, langchain: bool) -> Any:
    message = ToolMessage(content=text, tool_call_id=call.id, name=call.name, is_error=True)
    return to_langchain(message) if langchain else message


class ToolCallLimitMiddleware(AgentMiddleware[ToolCallLimitState[Any], Any, Any]):
    """Limit the tool calls an agent makes, of every tool or of ``tool_name`` only.

    After each model turn it counts the turn's calls, in order: a call that would take a
    count past its limit is blocked. Blocked calls count toward the run (they were
    attempted) but not toward the thread (they never ran). Then ``exit_behavior``:

    * ``"continue"``: each blocked call is answered with an error tool message telling the
      model not to call again; the other calls run and the model goes on;
    * ``"end"``: every call of the turn is answered with an error tool message (none runs,
      so the thread count stays as it was) and the run ends with an assistant message
      saying which limit was exceeded;
    * ``"error"``: :class:`ToolCallLimitExceededError` is raised.

    Args:
        tool_name: the tool to limit; None: every tool.
        thread_limit: calls allowed in a thread (across invocations; counted only with a
            checkpointer); None: no limit.
        run_limit: calls allowed in one invocation; None: no limit.
        exit_behavior: ``"continue"`` (default), ``"end"`` or ``"error"``.

    Raises:
        ValueError: neither limit, another ``exit_behavior``, or a ``run_limit`` above
            the ``thread_limit``.
    """

    state_schema = ToolCallLimitState

    def __init__(
        self,
        *,
        tool_name: str | None = None,
        thread_limit: int | None = None,
        run_limit: int | None = None,
        exit_behavior: ExitBehavior = "continue",
    ) -> None:
        if thread_limit is None and run_limit is None:
            raise ValueError("At least one limit must be specified (thread_limit or run_limit)")
        if exit_behavior not in _EXIT_BEHAVIORS:
            raise ValueError(
                f"Invalid exit_behavior: {exit_behavior!r}. Must be one of {_EXIT_BEHAVIORS}"
            )
        if thread_limit is not None and run_limit is not None and run_limit > thread_limit:
            raise ValueError(
                f"run_limit ({run_limit}) cannot exceed thread_limit ({thread_limit}): a run "
                "is part of its thread, so its limit must be less than or equal to the "
                "thread's."
            )
        self.tool_name = tool_name
        self.thread_limit = thread_limit
        self.run_limit = run_limit
        self.exit_behavior = exit_behavior

    @property
    def name(self) -> str:
        """The class name, with the limited tool (``"ToolCallLimitMiddleware[search]"``) so
        that one agent can limit several tools."""
        base = type(self).__name__
        return f"{base}[{self.tool_name}]" if self.tool_name else base

    def _fits(self, thread_count: int, run_count: int) -> bool:
        """Whether one more call stays within both limits."""
        return (self.thread_limit is None or thread_count < self.thread_limit) and (
            self.run_limit is None or run_count < self.run_limit
        )

    def _split(
        self, calls: Sequence[ToolCall], thread: int, run: int
    ) -> tuple[list[ToolCall], list[ToolCall]]:
        """The tracked calls allowed and blocked, in order, from the counts ``thread`` and
        ``run`` (an allowed call counts toward the next)."""
        allowed: list[ToolCall] = []
        blocked: list[ToolCall] = []
        for call in calls:
            if self.tool_name is not None and call.name != self.tool_name:
                continue
            if self._fits(thread + len(allowed), run + len(allowed)):
                allowed.append(call)
            else:
                blocked.append(call)
        return allowed, blocked

    @hook_config(can_jump_to=["end"])
    def after_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Count the last turn's calls and act on those past a limit.

        Raises:
            ToolCallLimitExceededError: a call past a limit with ``exit_behavior="error"``.
        """
        turn = _last_turn(state.get("messages") or [])
        if turn is None or not turn.calls:
            return None
        key = self.tool_name or _ALL_TOOLS
        thread_counts = dict(state.get("thread_tool_call_count") or {})
        run_counts = dict(state.get("run_tool_call_count") or {})
        thread_before, run_before = thread_counts.get(key, 0), run_counts.get(key, 0)
        allowed, blocked = self._split(turn.calls, thread_before, run_before)
        if not allowed and not blocked:
            return None
        thread_counts[key] = thread_before + len(allowed)
        run_counts[key] = run_before + len(allowed) + len(blocked)
        update: dict[str, Any] = {
            "thread_tool_call_count": thread_counts,
            "run_tool_call_count": run_counts,
        }
        if not blocked:
            return update
        # The counts as they would be had the blocked calls run: what the limit messages show.
        would_be = thread_counts[key] + len(blocked)
        if self.exit_behavior == "error":
            raise ToolCallLimitExceededError(
                thread_count=would_be,
                run_count=run_counts[key],
                thread_limit=self.thread_limit,
                run_limit=self.run_limit,
                tool_name=self.tool_name,
            )
        blocked_text = _blocked_text(self.tool_name)
        answers = [_error_answer(c, blocked_text, turn.langchain) for c in blocked]
        if self.exit_behavior == "continue":
            return {**update, "messages": answers}
        blocked_ids = {c.id for c in blocked}
        answers += [
            _error_answer(c, _SKIPPED_TEXT, turn.langchain)
            for c in turn.calls
            if c.id not in blocked_ids
        ]
        notice = AssistantMessage(
            content=_exceeded_text(
                would_be, run_counts[key], self.thread_limit, self.run_limit, self.tool_name
            )
        )
        answers.append(to_langchain(notice) if turn.langchain else notice)
        # Nothing of this turn runs after the jump, so the thread has made no new call.
        thread_counts[key] = thread_before
        return {**update, "jump_to": "end", "messages": answers}

    @hook_config(can_jump_to=["end"])
    async def aafter_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Async :meth:`after_model`.

        Raises:
            ToolCallLimitExceededError: a call past a limit with ``exit_behavior="error"``.
        """
        return self.after_model(state, runtime)
