"""Run the tool calls of one model turn: validate, time-limit, retry, run concurrently, and
turn every failure into a result the model can read.

The agent loop and the graph's ``ToolNode`` call :func:`aexecute_tool_calls` (its sync shell is
:func:`execute_tool_calls`); it never raises
because of something the model did (unknown tool, bad JSON, wrong arguments) or a tool's own
failure (exception, timeout): each becomes a ``ToolMessage`` with ``is_error=True``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import types
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Literal, Protocol, TypeAlias

from hone._retry import RetryPolicy
from hone._sync import run_sync
from hone.errors import ConfigError, ToolArgumentsError, is_invalid_resume
from hone.interop._messages import is_langchain_message
from hone.messages import ContentPart, ToolCall, ToolMessage, new_id
from hone.observability._tools import trace_tool_call
from hone.tools._context import ToolContext
from hone.tools._registry import ToolLike, ToolRegistry
from hone.tools._tool import Tool, result_content, tool_message

__all__ = [
    "ErrorKind",
    "ExecutionOptions",
    "ToolGuard",
    "ToolResult",
    "aexecute_tool_call",
    "aexecute_tool_calls",
    "as_tool_call",
    "execute_tool_calls",
]

logger = logging.getLogger(__name__)

#: Why a call failed: the model's mistakes first, then the tool's own failures, then a
#: guardrail's refusal (see :class:`ToolGuard`).
ErrorKind: TypeAlias = Literal[
    "unknown_tool", "invalid_json", "invalid_arguments", "exception", "timeout", "guardrail"
]


class ToolGuard(Protocol):
    """Checks around tool execution (``hone.agents.Guardrails`` makes them): the calls of a
    turn are screened before any of them runs, and each result is checked before the model
    sees it. Raising from either method stops the turn (the other calls are cancelled)."""

    async def screen(
        self, calls: Sequence[ToolCall], *, state: Any, deps: Any
    ) -> Mapping[str, ToolResult]:
        """The calls that must not run, by call id, each with the result the model sees
        instead. ``calls`` are the turn's valid calls (known tool, arguments that validate)."""
        ...

    async def check_result(
        self, call: ToolCall, result: ToolResult, *, state: Any, deps: Any
    ) -> ToolResult:
        """The result the model sees for ``call`` (``result``, or one in its place)."""
        ...


@dataclass(frozen=True, slots=True)
class ExecutionOptions:
    """How the executor runs calls; a tool's own settings win over these defaults."""

    #: Seconds one attempt of a call may take (None: no limit). A sync tool runs in a thread,
    #: which cannot be stopped: after a timeout its thread finishes in the background.
    timeout: float | None = None
    #: Retry policy for tools that set none (None: no retries).
    retry: RetryPolicy | None = None
    #: Longest result text the model sees; longer output is cut with a marker (None: no limit).
    max_output_chars: int | None = 20_000
    #: Most calls of one turn running at once (None: all of them).
    max_concurrency: int | None = None
    #: Exceptions that must reach the caller instead of becoming an error result (for
    #: example a graph runtime's interrupt signal).
    propagate: tuple[type[BaseException], ...] = ()
    #: Screens the turn's calls before any runs and checks each result the tool produced
    #: (None: no checks).
    guard: ToolGuard | None = None

    def __post_init__(self) -> None:
        if self.timeout is not None and self.timeout <= 0:
            raise ConfigError(f"ExecutionOptions.timeout must be > 0, got {self.timeout}")
        if self.max_output_chars is not None and self.max_output_chars < 1:
            raise ConfigError(
                f"ExecutionOptions.max_output_chars must be >= 1, got {self.max_output_chars}"
            )
        if self.max_concurrency is not None and self.max_concurrency < 1:
            raise ConfigError(
                f"ExecutionOptions.max_concurrency must be >= 1, got {self.max_concurrency}"
            )


@dataclass(frozen=True, slots=True)
class ToolResult:
    """The outcome of one tool call, with more detail than the message the model sees."""

    call_id: str
    tool_name: str
    #: What the model sees: the result as text (JSON for non-strings), or the error message.
    content: str | list[ContentPart]
    #: The function's return value; None when the call failed.
    value: Any = None
    #: Why the call failed; None when it succeeded.
    error: ErrorKind | None = None
    #: Attempts made (0 when the call never reached the function).
    attempts: int = 0
    duration_s: float = 0.0
    #: Whether ``content`` was cut to the output limit.
    truncated: bool = False
    #: What failed, for callers that decide themselves how to answer it (``ToolNode``'s
    #: ``handle_tool_errors``): the tool's exception, or the ``ToolArgumentsError`` for
    #: arguments the schema rejects; None otherwise.
    exception: BaseException | None = None

    @property
    def is_error(self) -> bool:
        """Whether the call failed."""
        return self.error is not None

    def to_message(self) -> ToolMessage:
        """The ``ToolMessage`` answering the call."""
        return ToolMessage(content=self.content, tool_call_id=self.call_id, is_error=self.is_error)


def _truncate(
    content: str | list[ContentPart], limit: int | None
) -> tuple[str | list[ContentPart], bool]:
    if limit is None or not isinstance(content, str) or len(content) <= limit:
        return content, False
    return f"{content[:limit]}\n... [truncated {len(content) - limit} chars]", True


def _failure(
    call: ToolCall,
    kind: ErrorKind,
    message: str,
    *,
    started: float,
    limit: int | None,
    attempts: int = 0,
    exception: BaseException | None = None,
) -> ToolResult:
    content, truncated = _truncate(f"Error: {message}", limit)
    return ToolResult(
        call_id=call.id,
        tool_name=call.name,
        content=content,
        error=kind,
        attempts=attempts,
        duration_s=time.perf_counter() - started,
        truncated=truncated,
        exception=exception,
    )


def as_tool_call(call: ToolCall | Mapping[str, Any]) -> ToolCall:
    """A hone tool call from a hone one or LangChain's tool-call dict.

    Raises:
        ConfigError: neither; the message says what is accepted.
    """
    if isinstance(call, ToolCall):
        return call
    name = call.get("name") if isinstance(call, Mapping) else None
    if not isinstance(name, str):
        raise ConfigError(
            f"a tool call must be a hone ToolCall or LangChain's dict with 'name', 'args' and "
            f"'id', got {call!r}"
        )
    args = call.get("args")
    call_id = call.get("id") or new_id("call_")
    if isinstance(args, Mapping):
        return ToolCall(id=call_id, name=name, arguments=dict(args))
    # LangChain's invalid tool calls carry the undecodable text as a string.
    text = args if isinstance(args, str) else None
    return ToolCall(id=call_id, name=name, raw_arguments=text, error="not a JSON object")


def _exception_text(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


async def _attempt(
    tool: Tool, values: dict[str, Any], context: ToolContext, timeout: float | None
) -> Any:
    limit = asyncio.timeout(timeout)
    try:
        async with limit:
            return await tool.run(values, context)
    except TimeoutError as exc:
        if limit.expired():
            raise _ToolTimeout(timeout or 0.0) from exc
        raise


class _ToolTimeout(TimeoutError):
    """The executor's time limit ran out (a TimeoutError the tool raised itself is not one)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"timed out after {seconds:g}s")
        self.seconds = seconds


async def _run_attempts(
    tool: Tool,
    call: ToolCall,
    values: dict[str, Any],
    context: ToolContext,
    execution: ExecutionOptions,
) -> tuple[Any, BaseException | None, int]:
    """Run the call until it succeeds or the retry policy gives up: (value, error, attempts)."""
    timeout = tool.timeout if tool.timeout is not None else execution.timeout
    policy = tool.retry if tool.retry is not None else execution.retry
    attempt = 1
    while True:
        try:
            value = await _attempt(tool, values, replace(context, attempt=attempt), timeout)
            return value, None, attempt
        except execution.propagate:
            raise
        except Exception as exc:
            if is_invalid_resume(exc):
                raise  # a person's answer an interrupt rejected: not the model's error
            if policy is None or not policy.should_retry(exc, attempt):
                return None, exc, attempt
            delay = policy.delay(attempt)
            logger.info(
                "tool %s (call %s) attempt %d failed (%s); retrying in %.3gs",
                tool.name,
                call.id,
                attempt,
                _exception_text(exc),
                delay,
            )
            await asyncio.sleep(delay)
            attempt += 1


#: Why the model's arguments cannot be used: the kind, the text the model reads, and the
#: validation error (None for undecodable JSON).
_Rejection: TypeAlias = tuple[ErrorKind, str, Exception | None]


def _check_arguments(call: ToolCall, tool: Tool) -> dict[str, Any] | _Rejection:
    """The validated values, or why the model's arguments cannot be used."""
    if call.error is not None:
        return (
            "invalid_json",
            (
                f"the arguments for {tool.name!r} could not be decoded ({call.error}). "
                "Send the arguments as one JSON object that matches the tool's parameters."
            ),
            None,
        )
    try:
        return tool.validate(call.arguments)
    except ToolArgumentsError as exc:
        problems = "\n".join(f"- {p}" for p in exc.problems)
        return (
            "invalid_arguments",
            (
                f"invalid arguments for {tool.name!r}:\n{problems}\nFix them and call the tool again."
            ),
            exc,
        )
    except Exception as exc:  # a validator of the developer's own that raised something else
        text = f"invalid arguments for {tool.name!r}: {_exception_text(exc)}"
        return "invalid_arguments", text, exc


def _describe_failure(
    tool: Tool, call: ToolCall, error: BaseException, attempts: int
) -> tuple[ErrorKind, str]:
    if isinstance(error, _ToolTimeout):
        logger.info("tool %s (call %s) %s", tool.name, call.id, error)
        suffix = f" ({attempts} attempts)" if attempts > 1 else ""
        return "timeout", f"tool {tool.name!r} {error}{suffix}"
    logger.info("tool %s (call %s) raised", tool.name, call.id, exc_info=error)
    suffix = f" (after {attempts} attempts)" if attempts > 1 else ""
    return "exception", f"tool {tool.name!r} raised {_exception_text(error)}{suffix}"


@trace_tool_call  # its execute_tool span (hone.observability)
async def aexecute_tool_call(
    call: ToolCall | Mapping[str, Any],
    registry: ToolRegistry | Sequence[ToolLike],
    *,
    state: Any = None,
    deps: Any = None,
    metadata: Mapping[str, Any] | None = None,
    execution: ExecutionOptions | None = None,
    screen: bool = True,
    runtime: Any = None,
) -> ToolResult:
    """Run one tool call and describe its outcome; never raises for a failed call.

    See :func:`aexecute_tool_calls` for the arguments. ``screen=False`` skips
    ``execution.guard``'s screening (for a caller that screened the whole turn first, as
    ``ToolNode`` does); the result is still checked. Only exceptions named in
    ``execution.propagate``, the guard's own, cancellation, and ``BaseException``s such as
    ``KeyboardInterrupt`` escape.
    """
    started = time.perf_counter()
    call = as_tool_call(call)
    opts = execution or ExecutionOptions()
    tools = ToolRegistry.coerce(registry)
    tool = tools.get(call.name)
    if tool is None:
        available = ", ".join(tools.names()) or "none"
        message = f"unknown tool {call.name!r}. Available tools: {available}."
        return _failure(call, "unknown_tool", message, started=started, limit=opts.max_output_chars)
    limit = tool.max_output_chars if tool.max_output_chars is not None else opts.max_output_chars
    checked = _check_arguments(call, tool)
    if not isinstance(checked, dict):
        kind, text, exception = checked
        return _failure(call, kind, text, started=started, limit=limit, exception=exception)
    guard = opts.guard
    if guard is not None and screen:
        refused = await guard.screen([call], state=state, deps=deps)
        if call.id in refused:
            return refused[call.id]
    context = ToolContext(
        call_id=call.id,
        tool_name=tool.name,
        state=state,
        metadata=types.MappingProxyType(dict(metadata or {})),
        deps=deps,
        runtime=runtime,
    )
    result = await _run(tool, call, checked, context, opts, started=started, limit=limit)
    if guard is not None:
        result = await guard.check_result(call, result, state=state, deps=deps)
    return result


async def _run(
    tool: Tool,
    call: ToolCall,
    values: dict[str, Any],
    context: ToolContext,
    opts: ExecutionOptions,
    *,
    started: float,
    limit: int | None,
) -> ToolResult:
    """Run a validated call (with retries) and describe its outcome."""
    value, error, attempts = await _run_attempts(tool, call, values, context, opts)
    if error is not None:
        kind, message = _describe_failure(tool, call, error, attempts)
        return _failure(
            call, kind, message, started=started, limit=limit, attempts=attempts, exception=error
        )
    failed = False
    if isinstance(value, ToolMessage) or (
        is_langchain_message(value) and getattr(value, "type", None) == "tool"
    ):
        # A tool that answers with a message of its own (LangChain tools do): its content
        # and its error status are what the model sees.
        answer = tool_message(value, call.id, tool.name)
        raw_content, failed = answer.content, answer.is_error
    else:
        raw_content = result_content(value)
    content, truncated = _truncate(raw_content, limit)
    return ToolResult(
        call_id=call.id,
        tool_name=tool.name,
        content=content,
        value=value,
        error="exception" if failed else None,
        attempts=attempts,
        duration_s=time.perf_counter() - started,
        truncated=truncated,
    )


def _runnable(calls: Sequence[ToolCall], tools: ToolRegistry) -> list[ToolCall]:
    """The calls that would reach their tool: a known tool and arguments that validate."""
    found = [(call, tools.get(call.name)) for call in calls]
    return [c for c, t in found if t is not None and isinstance(_check_arguments(c, t), dict)]


async def aexecute_tool_calls(
    calls: Sequence[ToolCall | Mapping[str, Any]],
    registry: ToolRegistry | Sequence[ToolLike],
    *,
    state: Any = None,
    deps: Any = None,
    metadata: Mapping[str, Any] | None = None,
    execution: ExecutionOptions | None = None,
    runtime: Any = None,
) -> list[ToolMessage]:
    """Run the tool calls of one model turn concurrently; one ``ToolMessage`` per call, in
    call order.

    Args:
        calls: The calls of one assistant message (``AssistantMessage.tool_calls``, or
            LangChain's tool-call dicts, ``AIMessage.tool_calls``).
        registry: The tools the model may call (a :class:`ToolRegistry` or a list of tools
            and functions).
        state: Given to tools as ``ToolContext.state`` (a graph node passes its state).
        deps: Given to tools as ``ToolContext.deps`` (the developer's clients and handles).
        metadata: Given to tools, read-only, as ``ToolContext.metadata``.
        runtime: Given to tools as ``ToolContext.runtime``; injected parameters
            (``InjectedState``, ``InjectedStore``, ``ToolRuntime``) read it
            (``hone.graph.prebuilt.tool_runtime`` builds one).
        execution: Timeout, retry, output limit and concurrency defaults, and the guard
            (``execution.guard``) that screens every call of the turn before any runs and
            checks each result.

    Returns:
        ``ToolMessage(tool_call_id=call.id, ...)`` for each call, in the order of ``calls``.
        A failure (unknown tool, undecodable JSON, arguments the schema rejects, an exception
        or a timeout in the tool) gives ``is_error=True`` and a message saying what to fix;
        it is never raised. ``call.id`` is the idempotency key tools see as
        ``ToolContext.call_id``.

    Raises:
        Only exceptions in ``execution.propagate``, the guard's own (a guardrail stopping
        the run), cancellation and ``BaseException``s (such as ``KeyboardInterrupt``); the
        other calls of the turn are then cancelled.
    """
    opts = execution or ExecutionOptions()
    tools = ToolRegistry.coerce(registry)
    turn = [as_tool_call(call) for call in calls]
    refused: Mapping[str, ToolResult] = {}
    if opts.guard is not None and (valid := _runnable(turn, tools)):
        # Every call is screened before any of them runs.
        refused = await opts.guard.screen(valid, state=state, deps=deps)
    gate = asyncio.Semaphore(opts.max_concurrency or max(len(turn), 1))

    async def run(call: ToolCall) -> ToolResult:
        if call.id in refused:
            return refused[call.id]
        async with gate:
            return await aexecute_tool_call(
                call,
                tools,
                state=state,
                deps=deps,
                metadata=metadata,
                execution=opts,
                screen=False,
                runtime=runtime,
            )

    tasks = [asyncio.ensure_future(run(call)) for call in turn]
    try:
        results = await asyncio.gather(*tasks)
    except BaseException:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    return [result.to_message() for result in results]


def execute_tool_calls(
    calls: Sequence[ToolCall | Mapping[str, Any]],
    registry: ToolRegistry | Sequence[ToolLike],
    *,
    state: Any = None,
    deps: Any = None,
    metadata: Mapping[str, Any] | None = None,
    execution: ExecutionOptions | None = None,
    runtime: Any = None,
) -> list[ToolMessage]:
    """The synchronous shell of :func:`aexecute_tool_calls` (same arguments and result).

    Inside a running event loop, the calls run on a fresh loop in a worker thread.
    """
    return run_sync(
        aexecute_tool_calls(
            calls,
            registry,
            state=state,
            deps=deps,
            metadata=metadata,
            execution=execution,
            runtime=runtime,
        )
    )
