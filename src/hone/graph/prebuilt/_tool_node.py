"""``ToolNode`` runs the tool calls of the last model turn as a graph node; ``tools_condition``
routes to it while the model keeps calling tools."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, Literal, TypeVar

from hone._sync import run_sync
from hone.errors import GraphError, InvalidUpdateError
from hone.graph._channels import MISSING
from hone.graph._context import _SCOPE, TaskScope, current_scope
from hone.graph._interrupt import GraphInterrupt, ParentCommand
from hone.graph._types import Command
from hone.graph.prebuilt._review import ReviewDecision, ReviewedTool, ask_reviews, review_message
from hone.interop._messages import from_langchain, is_langchain_message, to_langchain
from hone.messages import AssistantMessage, ToolCall, ToolMessage, to_message
from hone.tools import (
    ExecutionOptions,
    Tool,
    ToolLike,
    ToolRegistry,
    ToolResult,
    aexecute_tool_call,
)

__all__ = ["ToolNode", "tools_condition"]

_T = TypeVar("_T")


def _messages_of(state: Any, key: str) -> list[Any]:
    if isinstance(state, list):
        return state
    found = state.get(key) if isinstance(state, Mapping) else getattr(state, key, None)
    if found is None:
        raise GraphError(
            f"the state has no {key!r} key with messages; pass messages_key=... naming the key "
            "that holds the conversation"
        )
    return list(found)


def _last_turn(state: Any, key: str) -> AssistantMessage | None:
    """The last message as a hone model turn (converted from LangChain's), or None."""
    messages = _messages_of(state, key)
    if not messages:
        return None
    last = messages[-1]
    turn = from_langchain(last) if is_langchain_message(last) else to_message(last)
    return turn if isinstance(turn, AssistantMessage) else None


def _is_langchain_turn(state: Any, key: str) -> bool:
    """Whether the conversation's last message is LangChain's (answers then are, too)."""
    messages = _messages_of(state, key)
    return bool(messages) and is_langchain_message(messages[-1])


def _is_tool_message(value: Any) -> bool:
    return isinstance(value, ToolMessage) or (
        is_langchain_message(value) and getattr(value, "type", None) == "tool"
    )


def tools_condition(state: Any, *, messages_key: str = "messages") -> Literal["tools", "__end__"]:
    """Route to ``"tools"`` when the last message is a model turn with tool calls, else END.

    Use it as the conditional edge after the model node:
    ``graph.add_conditional_edges("agent", tools_condition)``.
    """
    turn = _last_turn(state, messages_key)
    return "tools" if turn is not None and turn.tool_calls else "__end__"  # END


class ToolNode:
    """A graph node that runs the tool calls of the last model turn, concurrently.

    It returns ``{messages_key: [ToolMessage, ...]}`` in call order, of the family of the
    last message: LangChain ``ToolMessage`` objects (named after the tool, as LangGraph's
    ``ToolNode`` makes them; a LangChain tool's own message kept as it answered) when the
    model's turn is LangChain's, else hone's. A tool that returns a
    :class:`~hone.graph.Command` has that command passed to the graph instead (its update must
    answer the call with a ``ToolMessage``). Every tool receives the graph state as
    ``ToolContext.state``, and in ``ToolContext.metadata`` the running task's id (stable across
    retries and resumes), the thread id, and ``idempotency_key`` = ``"<task id>:<call id>"``.

    Tools wrapped with :func:`~hone.graph.prebuilt.with_review` are reviewed first, all of one
    turn at once: the graph pauses with one interrupt per call and no tool runs until every
    call has a decision.

    With a guard (``options.guard``, as ``hone.agents.Guardrails`` makes), the turn's calls
    are screened before any review or tool runs (once per task: the screening is kept
    across resumes), a refused call gets the guard's answer instead of running, and each
    result is checked before the model sees it.

    Args:
        tools: The tools the model may call (a list of tools, LangChain tools or functions, or
            a registry).
        name: The node name ``add_node(tool_node)`` uses.
        messages_key: The state key holding the conversation.
        handle_errors: True: a tool's exception becomes an error message the model reads.
            False: it propagates and fails the node (a model's mistakes, such as an unknown
            tool or bad arguments, are always messages).
        options: Timeout, retry, output limit, concurrency and guard for the calls.
        deps: Given to tools as ``ToolContext.deps``.
    """

    def __init__(
        self,
        tools: ToolRegistry | Sequence[ToolLike],
        *,
        name: str = "tools",
        messages_key: str = "messages",
        handle_errors: bool = True,
        options: ExecutionOptions | None = None,
        deps: Any = None,
    ) -> None:
        self.name = name
        self.messages_key = messages_key
        self.handle_errors = handle_errors
        self.deps = deps
        self.tools = ToolRegistry.coerce(tools)
        # Reviewed tools are asked about before anything runs; afterwards their inner tool runs.
        self._runnable = ToolRegistry(
            t.target if isinstance(t, ReviewedTool) else t for t in self.tools
        )
        base = options or ExecutionOptions()
        signals: tuple[type[BaseException], ...] = (
            (GraphInterrupt, ParentCommand) if handle_errors else (Exception,)
        )
        self.options = dataclasses.replace(base, propagate=(*base.propagate, *signals))

    def __repr__(self) -> str:
        return f"ToolNode(name={self.name!r}, tools={self.tools.names()})"

    async def __call__(self, state: Any) -> Any:
        """Run the last turn's tool calls; the graph calls this with its state."""
        turn = _last_turn(state, self.messages_key)
        if turn is None or not turn.tool_calls:
            return {self.messages_key: []}
        calls = list(turn.tool_calls)
        answered: dict[str, ToolMessage] = await self._screen(calls, state)
        decisions = self._review([c for c in calls if c.id not in answered])
        to_run: list[ToolCall] = []
        for call in calls:
            if call.id in answered:
                continue
            decision = decisions.get(call.id)
            if decision is None or decision.type == "accept":
                to_run.append(call)
            elif decision.type == "edit":
                edited = {"arguments": dict(decision.args), "raw_arguments": None, "error": None}
                to_run.append(call.model_copy(update=edited))
            else:
                answered[call.id] = review_message(call, decision)
        outcomes = await self._execute(to_run, state)
        if _is_langchain_turn(state, self.messages_key):
            outcomes = {k: _as_langchain(v, calls) for k, v in outcomes.items()}
            answered = {k: _as_langchain(v, calls) for k, v in answered.items()}
        return self._output(calls, outcomes, answered)

    def invoke(self, state: Any, config: Mapping[str, Any] | None = None) -> Any:
        """Run the node (sync): ``{messages_key: [ToolMessage, ...]}``. ``config`` is
        accepted as a LangChain runnable's is; inside a graph the node reads its own."""
        return run_sync(self(state))

    async def ainvoke(self, state: Any, config: Mapping[str, Any] | None = None) -> Any:
        """Run the node (async)."""
        return await self(state)

    async def _screen(self, calls: list[ToolCall], state: Any) -> dict[str, ToolMessage]:
        """The guard's answers to the calls it refuses, by call id. A task screens its turn
        once: the answers are kept with the task, so a resume does not screen again."""
        guard = self.options.guard
        if guard is None:
            return {}
        scope = current_scope()
        kept = scope.recall(_SCREEN_KEY) if scope is not None else MISSING
        if kept is not MISSING:
            return dict(kept)
        valid = [c for c in calls if (t := self._runnable.get(c.name)) and _valid(c, t)]
        refused = await guard.screen(valid, state=state, deps=self.deps) if valid else {}
        answers = {call_id: result.to_message() for call_id, result in refused.items()}
        if scope is not None:
            scope.remember(_SCREEN_KEY, answers)
        return answers

    def _review(self, calls: list[ToolCall]) -> dict[str, ReviewDecision]:
        pending: list[tuple[ToolCall, ReviewedTool]] = []
        for call in calls:
            tool = self.tools.get(call.name)
            if isinstance(tool, ReviewedTool) and _valid(call, tool.target):
                pending.append((call, tool))
        return ask_reviews(pending) if pending else {}

    async def _execute(self, calls: list[ToolCall], state: Any) -> dict[str, Any]:
        """Each call's outcome (a message, or the tool's Command), by call id.

        Inside a graph each call runs in its own interrupt scope keyed by its call id. When
        some calls interrupt, the others still finish; their outcomes are kept with the
        checkpoint so that the resumed node does not run them again.
        """
        scope = current_scope()
        outcomes: dict[str, Any] = {}
        todo: list[ToolCall] = []
        for call in calls:
            kept = scope.recall(_cache_key(call)) if scope is not None else MISSING
            if kept is MISSING:
                todo.append(call)
            else:
                outcomes[call.id] = kept
        gate = asyncio.Semaphore(self.options.max_concurrency or max(len(todo), 1))

        async def run(call: ToolCall) -> Any:
            if scope is not None:
                # This asyncio task runs in a copy of the context: the child scope stays here.
                _SCOPE.set(scope.child(call.id))
            async with gate:
                try:
                    result = await self._call(call, state, scope)
                except GraphInterrupt as signal:
                    return signal
            if isinstance(result.value, Command):
                return _checked_command(call, result.value, self.messages_key)
            value = result.value
            if is_langchain_message(value) and getattr(value, "tool_call_id", None) == call.id:
                return value  # a LangChain tool's own answer, artifact and all
            return result.to_message()

        done = await _all_of([run(call) for call in todo])
        waiting = [i for got in done if isinstance(got, GraphInterrupt) for i in got.interrupts]
        for call, got in zip(todo, done, strict=True):
            if not isinstance(got, GraphInterrupt):
                outcomes[call.id] = got
                if waiting and scope is not None:
                    scope.remember(_cache_key(call), got)
        if waiting:
            raise GraphInterrupt(tuple(waiting))
        return outcomes

    async def _call(self, call: ToolCall, state: Any, scope: TaskScope | None) -> ToolResult:
        task_id = scope.task_id if scope is not None else None
        metadata = {
            "task_id": task_id,
            "thread_id": scope.thread_id if scope is not None else None,
            "idempotency_key": f"{task_id}:{call.id}" if task_id else call.id,
        }
        return await aexecute_tool_call(
            call,
            self._runnable,
            state=state,
            deps=self.deps,
            metadata=metadata,
            execution=self.options,
            screen=False,  # the whole turn was screened first
        )

    def _output(
        self,
        calls: list[ToolCall],
        outcomes: dict[str, Any],
        answered: dict[str, Any],
    ) -> Any:
        messages: list[Any] = []
        commands: list[Command[Any]] = []
        parent: list[Command[Any]] = []
        for call in calls:
            outcome = outcomes.get(call.id) or answered[call.id]
            if isinstance(outcome, Command):
                (parent if outcome.graph == Command.PARENT else commands).append(outcome)
            else:
                messages.append(outcome)
        if parent:
            # The parent graph takes over: the calls' commands go to it as one.
            return _merge_parent(parent)
        update = {self.messages_key: messages}
        if not commands:
            return update
        return [update, *commands] if messages else commands


async def _all_of(coros: list[Coroutine[Any, Any, _T]]) -> list[_T]:
    """Run concurrently and wait for all; on an exception (or cancellation) cancel the rest."""
    tasks = [asyncio.ensure_future(c) for c in coros]
    try:
        return list(await asyncio.gather(*tasks))
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise


def _as_langchain(outcome: Any, calls: list[ToolCall]) -> Any:
    """A hone tool message as LangChain's, named after its tool (commands stay as they are)."""
    if not isinstance(outcome, ToolMessage):
        return outcome
    if outcome.name is None:
        name = next((c.name for c in calls if c.id == outcome.tool_call_id), None)
        outcome = outcome.model_copy(update={"name": name})
    return to_langchain(outcome)


#: Where a task keeps its turn's screening across resumes.
_SCREEN_KEY = "guard/screen"


def _cache_key(call: ToolCall) -> str:
    return f"tool/{call.id}"


def _merge_parent(commands: list[Command[Any]]) -> Command[Any]:
    if len(commands) == 1:
        return commands[0]
    update = [item for c in commands for item in c.update_items()]
    goto = [target for c in commands for target in c.goto_items()]
    return Command(graph=Command.PARENT, update=update, goto=goto)


def _valid(call: ToolCall, tool: Tool) -> bool:
    if call.error is not None:
        return False
    try:
        tool.validate(call.arguments)
    except Exception:
        return False
    return True


def _checked_command(call: ToolCall, command: Command[Any], key: str) -> Command[Any]:
    """A tool's Command must answer its call, or the model would see an unanswered call."""
    if command.graph == Command.PARENT or not isinstance(command.update, Mapping):
        return command
    values = command.update.get(key) or []
    values = values if isinstance(values, list | tuple) else [values]
    answers = any(
        _is_tool_message(m) and getattr(m, "tool_call_id", None) == call.id for m in values
    )
    if not answers:
        raise InvalidUpdateError(
            f"tool {call.name!r} returned a Command whose update has no ToolMessage answering "
            f"call {call.id!r}; add ToolMessage(content=..., tool_call_id=ctx.call_id) to "
            f"update[{key!r}]"
        )
    return command
