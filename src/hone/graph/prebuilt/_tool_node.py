"""``ToolNode`` runs the tool calls of the last model turn as a graph node; ``tools_condition``
routes to it while the model keeps calling tools."""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
from collections.abc import Coroutine, Mapping, Sequence
from typing import Any, Literal, TypeVar, cast

from hone._sync import run_sync
from hone.errors import (
    InvalidUpdateError,
    ToolAnswerError,
    ToolArgumentsError,
    ToolInjectionError,
    is_invalid_resume,
)
from hone.graph._callbacks import ToolRun
from hone.graph._channels import MISSING
from hone.graph._context import _SCOPE, current_scope
from hone.graph._interrupt import GraphBubbleUp, GraphInterrupt
from hone.graph._types import Command, merge_parent_commands
from hone.graph.prebuilt._injected import tool_runtime
from hone.graph.prebuilt._review import ReviewDecision, ReviewedTool, ask_reviews, review_message
from hone.graph.prebuilt._tool_answers import (
    checked_command,
    checked_list,
    is_answer_list,
    only_sends_to_parent,
)
from hone.graph.prebuilt._tool_errors import (
    ERRORS_AS_VALUES,
    LANGGRAPH_DEFAULT,
    ErrorHandler,
    HandleToolErrors,
    error_handler,
    invalid_tool_text,
    invocation_error,
)
from hone.graph.prebuilt._tool_output import langgraph_answer, langgraph_content
from hone.graph.prebuilt._tool_request import (
    AsyncToolCallWrapper,
    InputKind,
    NodeInput,
    ToolCallRequest,
    ToolCallWrapper,
    call_dict,
    messages_of,
    parse_input,
    run_sync_wrapper,
)
from hone.graph.prebuilt._tool_stream import streamed_call
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
from hone.tools._convert import as_tool, langchain_source
from hone.tools._execute import as_tool_call
from hone.tools._tool import tool_message

__all__ = ["ToolNode", "is_langchain_turn", "last_turn", "pattern_tools", "tools_condition"]

_T = TypeVar("_T")


def last_turn(state: Any, key: str) -> AssistantMessage | None:
    """The last message as a hone model turn (converted from LangChain's), or None."""
    messages = messages_of(state, key)
    if not messages:
        return None
    last = messages[-1]
    turn = from_langchain(last) if is_langchain_message(last) else to_message(last)
    return turn if isinstance(turn, AssistantMessage) else None


def _with_untracked(given: NodeInput) -> NodeInput:
    """``given`` with the running graph's untracked values in its state: a ``Send`` to the
    node carries the state without them (they are never checkpointed, and a packet is), so
    tools read them live, as LangGraph's tools read the graph's channels."""
    scope = current_scope()
    if scope is None or not isinstance(given.state, dict):
        return given
    channels = scope.loop.channels
    live = {
        key: channels[key].get()
        for key in scope.loop.graph.channel_kinds.untracked
        if key not in given.state and channels[key].is_available()
    }
    if not live:
        return given
    return dataclasses.replace(given, state={**given.state, **live})


def is_langchain_turn(state: Any, key: str) -> bool:
    """Whether the conversation's last message is LangChain's (answers then are, too)."""
    messages = messages_of(state, key)
    return bool(messages) and is_langchain_message(messages[-1])


def pattern_tools(tools: ToolRegistry | Sequence[ToolLike] | ToolNode) -> ToolNode:
    """The tool node of one of hone's patterns: a ready node as it is, else one over
    ``tools`` answering every failure as a message (:data:`ERRORS_AS_VALUES`), whatever
    the conversation's message family."""
    if isinstance(tools, ToolNode):
        return tools
    return ToolNode(tools, handle_tool_errors=ERRORS_AS_VALUES)


def tools_condition(state: Any, *, messages_key: str = "messages") -> Literal["tools", "__end__"]:
    """Route to ``"tools"`` when the last message is a model turn with tool calls, else END.

    Use it as the conditional edge after the model node:
    ``graph.add_conditional_edges("agent", tools_condition)``.
    """
    turn = last_turn(state, messages_key)
    return "tools" if turn is not None and turn.tool_calls else "__end__"  # END


class ToolNode:
    """A graph node that runs the tool calls of the latest model turn, concurrently.

    It takes what LangGraph's ``ToolNode`` takes: a state with ``messages_key`` (answering
    ``{messages_key: [ToolMessage, ...]}``), a list of messages (answering a list), a list
    of tool calls, or one call with its state as ``create_react_agent(version="v2")`` sends
    it (both answering ``{messages_key: [...]}``). Answers are in call order and of the
    family of the conversation: LangChain ``ToolMessage`` objects (named after the tool, as
    LangGraph's ``ToolNode`` makes them; a LangChain tool's own message kept as it
    answered) when the model's turn is LangChain's, else hone's. A tool that returns a
    :class:`~hone.graph.Command` has that command passed to the graph instead (its update
    must answer the call with a ``ToolMessage``). Every tool receives the graph state as
    ``ToolContext.state``, and in ``ToolContext.metadata`` the running task's id (stable
    across retries and resumes), the thread id, and ``idempotency_key`` =
    ``"<task id>:<call id>"``.

    Failures: a call naming no tool of the node, or arguments its schema rejects, are the
    model's mistakes and always answered with a message (unless ``handle_tool_errors``
    says otherwise for arguments). A tool's own exception is handled by
    ``handle_tool_errors``; left as None, the conversation's family decides: over hone
    messages every failure becomes a message the model reads (hone's texts: errors are
    values inside the agent loop); over LangChain messages LangGraph's default applies
    (argument errors become LangGraph's message, the tool's exception propagates and
    fails the node). Given explicitly, it means what it means in LangGraph, for both
    families, with LangGraph's texts.

    ``wrap_tool_call`` / ``awrap_tool_call`` intercept each call (LangGraph's tool-call
    interceptors): they get a :class:`ToolCallRequest` and an ``execute`` function that
    runs a request (any number of times) and returns its answer (a ``ToolMessage`` or a
    ``Command``); what they return answers the call. A sync wrapper runs in a worker
    thread (its ``execute`` blocks that thread while the call runs on the node's loop); an
    async one is used by both ``invoke`` and ``ainvoke`` when given.

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
        handle_tool_errors: LangGraph's policy for failed calls: True (every exception;
            text ``"Error: {exception!r}\\n Please fix your mistakes."``), False (none: the
            exception, or :class:`~hone.errors.ToolInvocationError` for bad arguments,
            propagates), a message for every exception, exception types, or a function of
            the exception returning the text (the exceptions its annotation names). None:
            by family, as above.
        wrap_tool_call: A sync interceptor ``(request, execute) -> answer``.
        awrap_tool_call: An async interceptor ``async (request, execute) -> answer``.
        options: Timeout, retry, output limit, concurrency and guard for the calls.
        deps: Given to tools as ``ToolContext.deps``.

    Raises:
        ConfigError: a ``handle_tool_errors`` of another type.
    """

    def __init__(
        self,
        tools: ToolRegistry | Sequence[ToolLike],
        *,
        name: str = "tools",
        messages_key: str = "messages",
        handle_tool_errors: HandleToolErrors | None = None,
        wrap_tool_call: ToolCallWrapper | None = None,
        awrap_tool_call: AsyncToolCallWrapper | None = None,
        options: ExecutionOptions | None = None,
        deps: Any = None,
    ) -> None:
        self.name = name
        self.messages_key = messages_key
        self.handle_tool_errors = handle_tool_errors
        self._handler = error_handler(handle_tool_errors)
        self.wrap_tool_call = wrap_tool_call
        self.awrap_tool_call = awrap_tool_call
        self.deps = deps
        self.tools = ToolRegistry.coerce(tools)
        self._given_tools = [langchain_source(t) or t for t in self.tools]
        # Reviewed tools are asked about before anything runs; afterwards their inner tool runs.
        self._runnable = ToolRegistry(
            t.target if isinstance(t, ReviewedTool) else t for t in self.tools
        )
        base = options or ExecutionOptions()
        # Signals, and the developer's injection mistakes (a missing state key or store),
        # are never answered as the model's errors.
        signals = (GraphBubbleUp, ToolInjectionError)
        self.options = dataclasses.replace(base, propagate=(*base.propagate, *signals))

    def __repr__(self) -> str:
        return f"ToolNode(name={self.name!r}, tools={self.tools.names()})"

    @property
    def tools_by_name(self) -> dict[str, Any]:
        """The tools by name, as they were given (LangChain tools stay LangChain's)."""
        return {t.name: langchain_source(t) or t for t in self.tools}

    async def __call__(self, state: Any) -> Any:
        """Run the latest turn's tool calls; the graph calls this with its state."""
        given = _with_untracked(parse_input(state, self.messages_key))
        calls = given.calls
        if not calls:
            return [] if given.kind == "list" else {self.messages_key: []}
        refused = await self._screen(calls, given.state)
        decisions = self._review([c for c in calls if c.id not in refused])
        answers: list[Any] = [None] * len(calls)
        to_run: list[tuple[int, ToolCall]] = []
        for i, call in enumerate(calls):
            decision = decisions.get(call.id)
            if call.id in refused:
                answers[i] = refused[call.id]
            elif decision is None or decision.type == "accept":
                to_run.append((i, call))
            elif decision.type == "edit":
                edited = {"arguments": dict(decision.args), "raw_arguments": None, "error": None}
                to_run.append((i, call.model_copy(update=edited)))
            else:
                answers[i] = review_message(call, decision)
        ran = await self._execute([call for _, call in to_run], given)
        for (i, _), answer in zip(to_run, ran, strict=True):
            answers[i] = answer
        if given.langchain:
            answers = [_as_langchain(answer, calls) for answer in answers]
        return self._output(answers, given.kind)

    def invoke(self, state: Any, config: Mapping[str, Any] | None = None) -> Any:
        """Run the node (sync): ``{messages_key: [ToolMessage, ...]}``. ``config`` is
        accepted as a LangChain runnable's is; inside a graph the node reads its own."""
        token = _SYNC_RUN.set(True)
        try:
            return run_sync(self(state))
        finally:
            _SYNC_RUN.reset(token)

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

    async def _execute(self, calls: list[ToolCall], given: NodeInput) -> list[Any]:
        """Each call's answer (a message, or the tool's Command), in call order.

        Inside a graph each call runs in its own interrupt scope keyed by its call id. When
        some calls interrupt, the others still finish; their answers are kept with the
        checkpoint so that the resumed node does not run them again.
        """
        scope = current_scope()
        kept = [scope.recall(_cache_key(c)) if scope is not None else MISSING for c in calls]
        todo = [call for call, got in zip(calls, kept, strict=True) if got is MISSING]
        gate = asyncio.Semaphore(self.options.max_concurrency or max(len(todo), 1))

        async def run(call: ToolCall) -> Any:
            if scope is not None:
                # This asyncio task runs in a copy of the context: the child scope stays here.
                _SCOPE.set(scope.child(call.id))
            async with gate:
                try:
                    return await self._intercepted(call, given)
                except GraphInterrupt as signal:
                    return signal

        done = iter(await _all_of([run(call) for call in todo]))
        answers = [next(done) if got is MISSING else got for got in kept]
        waiting = [i for got in answers if isinstance(got, GraphInterrupt) for i in got.interrupts]
        if waiting:
            if scope is not None:
                for call, got in zip(calls, answers, strict=True):
                    if not isinstance(got, GraphInterrupt):
                        scope.remember(_cache_key(call), got)
            raise GraphInterrupt(tuple(waiting))
        return answers

    async def _intercepted(self, call: ToolCall, given: NodeInput) -> Any:
        """The call's answer, through the interceptor when there is one."""
        wrap, awrap = self.wrap_tool_call, self.awrap_tool_call
        if wrap is None and awrap is None:
            return await self._run(call, self._runnable.get(call.name), given.state, None, given)
        request = ToolCallRequest(
            tool_call=call_dict(call),
            tool=self._given_tool(call.name),
            state=given.state,
            runtime=self._runtime(given.state, call),
        )

        async def execute(req: ToolCallRequest) -> Any:
            # The call as sent unless the interceptor changed it (a new dict, or this one
            # edited in place).
            same = req.tool_call == call_dict(call)
            tool = None if req.tool is None else self._runnable_tool(req.tool)
            target = call if same else as_tool_call(req.tool_call)
            answer = await self._run(target, tool, req.state, req.runtime, given)
            # Interceptors see answers in the conversation's family, as they will be stored.
            return _as_langchain(answer, [call]) if given.langchain else answer

        try:
            if awrap is not None and (wrap is None or not _SYNC_RUN.get()):
                answer = await awrap(request, execute)
            else:
                answer = await run_sync_wrapper(cast("ToolCallWrapper", wrap), request, execute)
        except GraphBubbleUp:
            raise
        except Exception as error:
            handler = self._handler_for(given)
            if handler is None or is_invalid_resume(error):
                raise
            return _error_message(call, handler(error))
        if answer is None:
            raise InvalidUpdateError(
                f"the tool-call interceptor returned None for call {call.id!r} of "
                f"{call.name!r}; return what execute(request) returned, a ToolMessage or a Command"
            )
        return answer

    def _handler_for(self, given: NodeInput) -> ErrorHandler | None:
        """How this input's failures are answered: the node's ``handle_tool_errors``; unset,
        LangGraph's default over LangChain messages, hone's (None: the executor's answers)
        over hone messages or with :data:`ERRORS_AS_VALUES`."""
        if self._handler is not None or self.handle_tool_errors is ERRORS_AS_VALUES:
            return self._handler
        return LANGGRAPH_DEFAULT if given.langchain else None

    def _runtime(self, state: Any, call: ToolCall) -> Any:
        """The call's ``ToolRuntime`` (``ToolCallRequest.runtime``, and what injected
        parameters read)."""
        return tool_runtime(state=state, call_id=call.id, tools=self._given_tools)

    def _given_tool(self, name: str) -> Any:
        tool = self.tools.get(name)
        return None if tool is None else langchain_source(tool) or tool

    def _runnable_tool(self, tool: Any) -> Tool:
        """The hone tool that runs ``tool`` (the node's own, or one an interceptor gave)."""
        own = self.tools.get(getattr(tool, "name", ""))
        if own is not None and (own is tool or langchain_source(own) is tool):
            return self._runnable.get(own.name) or own
        made = as_tool(tool)
        return made.target if isinstance(made, ReviewedTool) else made

    async def _run(
        self, call: ToolCall, tool: Tool | None, state: Any, runtime: Any, given: NodeInput
    ) -> Any:
        """Run one call with ``tool`` (None: the node has no tool of that name): its answer
        (a message, or the tool's Command)."""
        if tool is None:
            if given.langchain:
                return _error_message(call, invalid_tool_text(call.name, self.tools.names()))
            return (await self._executed(call, None, state, runtime)).to_message()
        if tool.name != call.name:
            call = call.model_copy(update={"name": tool.name})
        result = await self._executed(call, tool, state, runtime)
        handler = self._handler_for(given)
        if result.error is None:
            try:
                return self._answer(call, result, given)
            except ToolAnswerError as bad:  # handled as LangGraph handles it, when asked
                if handler is None:
                    raise
                return _error_message(call, handler(bad))
        failure = result.exception
        if handler is None or failure is None:
            return result.to_message()
        if isinstance(failure, ToolArgumentsError):
            failure = invocation_error(failure, call.arguments)
        return _error_message(call, handler(failure))

    async def _executed(
        self, call: ToolCall, tool: Tool | None, state: Any, runtime: Any
    ) -> ToolResult:
        """Run the call through hone's executor. Injected arguments read ``state`` (an
        interceptor's ``override(state=...)`` included) and ``runtime``, made here for a
        tool that needs one when none was."""
        if runtime is None and tool is not None and tool.injected:
            runtime = self._runtime(state, call)
        elif runtime is not None and runtime.state is not state:
            runtime = dataclasses.replace(runtime, state=state)
        scope = current_scope()
        task_id = scope.task_id if scope is not None else None
        metadata = {
            "task_id": task_id,
            "thread_id": scope.thread_id if scope is not None else None,
            "idempotency_key": f"{task_id}:{call.id}" if task_id else call.id,
        }
        registry = (
            self._runnable if tool is None or tool is self._runnable.get(tool.name) else [tool]
        )
        # A LangChain tool reports its own run to the callbacks; a hone tool's is reported here.
        reported = (
            None
            if tool is None or langchain_source(tool) is not None
            else await ToolRun.start(tool.name, tool.description, call.id, call.arguments)
        )
        with streamed_call(call) as report:
            result = await aexecute_tool_call(
                call,
                registry,
                state=state,
                runtime=runtime,
                deps=self.deps,
                metadata=metadata,
                execution=self.options,
                screen=False,  # the whole turn was screened first
            )
            report(result)
        if reported is not None and result.exception is not None:
            await reported.fail(result.exception)
        elif reported is not None:
            await reported.end(result.to_message())
        return result

    def _answer(self, call: ToolCall, result: ToolResult, given: NodeInput) -> Any:
        value, langchain = result.value, given.langchain
        if isinstance(value, Command):
            return checked_command(call, value, self.messages_key, given.kind)
        if is_answer_list(value):
            return checked_list(call, value, self.messages_key, given.kind)
        if is_langchain_message(value) and getattr(value, "tool_call_id", None) == call.id:
            # A LangChain tool's own answer: kept whole (artifact and all) in a LangChain
            # conversation, its content worded as LangGraph words it; in a hone one, hone's
            # reading of it (extras kept, see hone.messages).
            if langchain:
                return value.model_copy(update={"content": langgraph_content(value.content)})
            return tool_message(value, call.id, call.name)
        if langchain and not result.truncated:
            return langgraph_answer(value, call.id, call.name) or result.to_message()
        return result.to_message()

    def _output(self, answers: list[Any], kind: InputKind) -> Any:
        """LangGraph's answer shapes: the messages (a list, or under ``messages_key``); with
        commands, one item per message or command in call order (each message as its own
        update), the commands for the parent graph merged into one at the end."""
        flat = [item for a in answers for item in (a if isinstance(a, list) else [a])]
        if not any(isinstance(a, Command) for a in flat):
            return flat if kind == "list" else {self.messages_key: flat}
        # LangGraph's rule: the parent-graph commands that only send are merged into one,
        # at the end; every other item stays where its call put it.
        sends = [a for a in flat if only_sends_to_parent(a)]
        items: list[Any] = [
            a if isinstance(a, Command) else [a] if kind == "list" else {self.messages_key: [a]}
            for a in flat
            if not only_sends_to_parent(a)
        ]
        return [*items, merge_parent_commands(sends)] if sends else items


def _error_message(call: ToolCall, text: str) -> ToolMessage:
    """An error answer to ``call`` (LangChain's ``status="error"`` once converted)."""
    return ToolMessage(content=text, tool_call_id=call.id, name=call.name, is_error=True)


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
    if isinstance(outcome, list):
        return [_as_langchain(item, calls) for item in outcome]
    if not isinstance(outcome, ToolMessage):
        return outcome
    if outcome.name is None:
        name = next((c.name for c in calls if c.id == outcome.tool_call_id), None)
        outcome = outcome.model_copy(update={"name": name})
    return to_langchain(outcome)


#: Where a task keeps its turn's screening across resumes.
_SCREEN_KEY = "guard/screen"

#: Set while the node runs through :meth:`ToolNode.invoke` (a sync run): its sync
#: interceptor is then the one that runs, as in LangGraph, when it has both kinds.
_SYNC_RUN: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "hone_tool_node_sync", default=False
)


def _cache_key(call: ToolCall) -> str:
    return f"tool/{call.id}"


def _valid(call: ToolCall, tool: Tool) -> bool:
    if call.error is not None:
        return False
    try:
        tool.validate(call.arguments)
    except Exception:
        return False
    return True
