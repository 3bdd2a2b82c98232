"""Running one task: call its node (with retries and timeouts), and turn the output into
writes — state updates, ``Command`` gotos, static edges and router decisions.

The flow of a task is written once, as a generator that yields the calls it needs (the node,
then each router); :func:`run_task` performs them synchronously and :func:`arun_task` awaits
them. Only those two shells differ.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Generator, Mapping
from dataclasses import dataclass, replace
from functools import partial
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NamedTuple

from hone.errors import NodeCancelledError, NodeTimeoutError
from hone.graph._algo import PlanContext, Task, local_read, make_task_id, scratchpad_for
from hone.graph._callbacks import NodeRun
from hone.graph._compile import Node, control_writes
from hone.graph._constants import END, NS_SEP, PUSH, RETURN, TASKS
from hone.graph._context import TaskScope, reset_scope, set_scope
from hone.graph._interrupt import GraphBubbleUp, ParentCommand, interrupt_id
from hone.graph._lc_stream import langchain_context, streams_langchain
from hone.graph._nodes import Callee
from hone.graph._types import Command, RetryPolicy, Send, sync_timeout_error

if TYPE_CHECKING:
    from hone.graph._loop import Loop

__all__ = ["NodeError", "arun_task", "handler_task", "run_task"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class NodeError:
    """What an error-handler node receives in its ``error`` parameter: which node failed,
    and with what exception."""

    node: str
    error: BaseException


class _Invoke(NamedTuple):
    """A call the task flow needs performed: ``callee(value)`` (or a subgraph run); with
    ``star``, ``value`` is ``(args, kwargs)``. (A named tuple: one is made per node call and
    per router call, and a tuple is the cheapest immutable record to make.)"""

    callee: Callee | None
    subgraph: Any
    value: Any
    star: bool = False
    #: The router's name when the call is a router's.
    router: str | None = None


# ----------------------------------------------------------------------------- the flow


class _Injected(Mapping[str, Any]):
    """The values a node's injectable parameters receive, computed on first use."""

    __slots__ = ("_loop", "_runtime", "_task")

    def __init__(self, loop: Loop, task: Task) -> None:
        self._loop = loop
        self._task = task
        self._runtime: Any = None

    def _rt(self) -> Any:
        if self._runtime is None:
            self._runtime = self._loop.runtime_for(self._task)
        return self._runtime

    def __getitem__(self, key: str) -> Any:
        if key == "config":
            return self._task.config
        if key == "error":
            return self._task.node_error
        runtime = self._rt()
        if key == "runtime":
            return runtime
        if key == "writer":
            return runtime.stream_writer
        if key == "store":
            return runtime.store
        if key == "previous":
            return runtime.previous
        raise KeyError(key)

    def __iter__(self) -> Any:
        return iter(("config", "writer", "store", "runtime", "previous", "error"))

    def __len__(self) -> int:
        return 6


#: What a callable that takes no injectable parameter receives.
_NOTHING_INJECTED: Mapping[str, Any] = MappingProxyType({})


def _injected(loop: Loop, task: Task, callee: Callee) -> Mapping[str, Any]:
    return _Injected(loop, task) if callee.accepts else _NOTHING_INJECTED


def _flow(loop: Loop, task: Task) -> Generator[_Invoke, Any, None]:
    """The steps of one attempt: call the node, then write its output and route."""
    node = task.node
    if task.call is not None:
        call = task.call
        value = yield _Invoke(Callee.of(call.func, call.name), None, task.input, star=True)
        task.writes.append((RETURN, value))
        return
    assert node is not None
    loop.mark_input_messages(task)
    output = yield _Invoke(node.callee, node.subgraph, task.input)
    yield from write_output(loop, task, node, output)


def write_output(loop: Loop, task: Task, node: Node, output: Any) -> Generator[_Invoke, Any, None]:
    """The writes of a node's output, in LangGraph's order: state updates, gotos, static
    edges, then each router's choice (routers read the state with these writes applied)."""
    if node.name != "__start__":
        loop.mark_returned_messages(task, output)
    task.writes.extend(node.update_writes(output, loop.thread_id, nested=loop.is_nested))
    if node.writer is not None:
        return
    task.writes.extend(control_writes(output))
    task.writes.extend(node.edges)
    for branch in node.branches:
        select, mapper = node.branch_reads[branch.name]
        value = local_read(
            loop.step,
            loop.stop,
            loop.channels,
            loop.graph.managed,
            task.writes,
            select,
            fresh=True,
        )
        if mapper is not None:
            value = mapper(value)
        if isinstance(value, dict) and isinstance(task.input, dict) and branch.input_schema is None:
            value = {**task.input, **value}
        result = yield _Invoke(branch.path, None, value, router=branch.run_name)
        for dest in branch.destinations(result):
            if isinstance(dest, Send):
                task.writes.append((TASKS, dest))
            elif dest != END:
                task.writes.append((f"branch:to:{dest}", None))


def _perform_sync(loop: Loop, task: Task, request: _Invoke) -> Any:
    if request.subgraph is not None:
        return request.subgraph.invoke(request.value, task.config)
    if request.callee is None:  # START: the input is the output
        return request.value
    if request.star:
        return request.callee.call_star(request.value, task, _injected(loop, task, request.callee))
    return request.callee.call(request.value, task, _injected(loop, task, request.callee))


async def _perform_async(loop: Loop, task: Task, request: _Invoke) -> Any:
    if request.subgraph is not None:
        return await request.subgraph.ainvoke(request.value, task.config)
    if request.callee is None:  # START: the input is the output
        return request.value
    if request.star:
        return await request.callee.acall_star(
            request.value, task, _injected(loop, task, request.callee)
        )
    return await request.callee.acall(request.value, task, _injected(loop, task, request.callee))


def _attempt_sync(loop: Loop, task: Task) -> None:
    token = set_scope(TaskScope(loop, task))
    try:
        graph_run = loop.callbacks
        if graph_run is None or (task.node is not None and task.node.hidden):
            if streams_langchain(loop, task):
                with langchain_context(loop, task, None):
                    _drive_sync(loop, task, None)
            else:
                _drive_sync(loop, task, None)
            return
        run = NodeRun.begin(graph_run, loop, task)
        try:
            with langchain_context(loop, task, run):
                _drive_sync(loop, task, run)
        except BaseException as exc:
            run.fail(exc)
            raise
        run.end()
    finally:
        reset_scope(token)


def _drive_sync(loop: Loop, task: Task, run: NodeRun | None) -> None:
    flow = _flow(loop, task)
    try:
        request = next(flow)
        while True:
            if run is None:
                result = _perform_sync(loop, task, request)
            else:
                result = run.perform(
                    request.router, request.value, partial(_perform_sync, loop, task, request)
                )
            request = flow.send(result)
    except StopIteration:
        return


async def _attempt_async(loop: Loop, task: Task) -> None:
    token = set_scope(TaskScope(loop, task))
    try:
        graph_run = loop.callbacks
        if graph_run is None or (task.node is not None and task.node.hidden):
            with langchain_context(loop, task, None):
                await _drive_async(loop, task, None)
            return
        run = await NodeRun.abegin(graph_run, loop, task)
        try:
            with langchain_context(loop, task, run):
                await _drive_async(loop, task, run)
        except BaseException as exc:
            await run.afail(exc)
            raise
        await run.aend()
    finally:
        reset_scope(token)


async def _drive_async(loop: Loop, task: Task, run: NodeRun | None) -> None:
    flow = _flow(loop, task)
    try:
        request = next(flow)
        while True:
            if run is None:
                result = await _perform_async(loop, task, request)
            else:
                result = await run.aperform(
                    request.router, request.value, partial(_perform_async, loop, task, request)
                )
            request = flow.send(result)
    except StopIteration:
        return


# ----------------------------------------------------------------------------- shells


def parent_namespace(ns: str) -> str:
    """The namespace of the graph that runs the graph of namespace ``ns``."""
    parts = ns.split(NS_SEP)
    while parts and parts[-1].isdigit():
        parts.pop()
    if parts:
        parts.pop()
    while parts and parts[-1].isdigit():
        parts.pop()
    return NS_SEP.join(parts)


def _for_this_graph(task: Task, command: Command[Any]) -> bool:
    from hone.graph._loop import recast_namespace

    ns = task.ns
    return command.graph in (ns, recast_namespace(ns), task.name)


def _handle_parent_command(loop: Loop, task: Task, exc: ParentCommand) -> bool:
    """True when the command is for this task's graph (its writes are made); otherwise
    re-address it to the parent graph and let it propagate."""
    command = exc.command
    if _for_this_graph(task, command):
        node = task.node
        if node is not None:
            local = replace(command, graph=None)
            task.writes.extend(node.update_writes(local))
            task.writes.extend(control_writes(local))
            task.writes.extend(node.edges)
        return True
    if command.graph == Command.PARENT:
        exc.args = (replace(command, graph=parent_namespace(task.ns)),)
    return False


def _retry_delay(task: Task, exc: Exception, attempts: int) -> float | None:
    policies: tuple[RetryPolicy, ...] = task.retry_policy
    policy = next((p for p in policies if p.matches(exc)), None)
    if policy is None or attempts >= policy.max_attempts:
        return None
    delay = policy.delay(attempts)
    logger.info(
        "Retrying task %s after %.2f seconds (attempt %d) after %s %s",
        task.name,
        delay,
        attempts,
        type(exc).__name__,
        exc,
    )
    return delay


#: How LangChain's ``convert_to_messages`` refuses a hone message.
_LANGCHAIN_REFUSAL = "Unsupported message type: <class 'hone.messages."
_LANGCHAIN_HINT = (
    "A LangChain chat model was given hone messages. A messages key typed with hone's "
    "messages (hone.graph.MessagesState) makes untyped input (strings, tuples, dicts) hone "
    "messages; type the key with LangChain's: messages: Annotated[list[AnyMessage], "
    "add_messages] with AnyMessage from langchain_core.messages, or start the run with "
    "LangChain messages, or convert with [hone.interop.to_langchain(m) for m in messages]."
)


def _note(task: Task, exc: Exception) -> None:
    notes = getattr(exc, "__notes__", ())
    note = f"During task with name '{task.name}' and id '{task.id}'"
    if note not in notes:
        exc.add_note(note)
    if (
        isinstance(exc, NotImplementedError)
        and _LANGCHAIN_REFUSAL in str(exc)
        and _LANGCHAIN_HINT not in notes
    ):
        exc.add_note(_LANGCHAIN_HINT)


def run_task(loop: Loop, task: Task) -> None:
    """Run a task to completion (its writes filled in), retrying per its policies.

    Raises:
        GraphInterrupt, ParentCommand: the node paused or addressed a parent graph.
        Exception: the node's final failure.
    """
    if task.timeout is not None:
        raise sync_timeout_error(task.name)
    attempts = 0
    task.first_attempt_time = time.time()
    while True:
        task.writes.clear()
        task.attempt = attempts + 1
        try:
            _attempt_sync(loop, task)
            return
        except ParentCommand as exc:
            if _handle_parent_command(loop, task, exc):
                return
            raise
        except GraphBubbleUp:
            raise
        except Exception as exc:
            _note(task, exc)
            attempts += 1
            delay = _retry_delay(task, exc, attempts)
            if delay is None:
                raise
            time.sleep(delay)
            loop.mark_resuming(task)


async def arun_task(loop: Loop, task: Task) -> None:
    """Async :func:`run_task`; enforces the task's timeout policy."""
    attempts = 0
    task.first_attempt_time = time.time()
    while True:
        task.writes.clear()
        task.attempt = attempts + 1
        try:
            if task.timeout is None:
                await _attempt_async(loop, task)
            else:
                await _with_timeout(loop, task)
            return
        except ParentCommand as exc:
            if _handle_parent_command(loop, task, exc):
                return
            raise
        except GraphBubbleUp:
            raise
        except asyncio.CancelledError as exc:
            current = asyncio.current_task()
            if current is not None and current.cancelling() == 0:
                raise NodeCancelledError(task.name) from exc
            raise
        except Exception as exc:
            _note(task, exc)
            attempts += 1
            delay = _retry_delay(task, exc, attempts)
            if delay is None:
                raise
            await asyncio.sleep(delay)
            loop.mark_resuming(task)


async def _with_timeout(loop: Loop, task: Task) -> None:
    policy = task.timeout
    assert policy is not None
    # Coerced policies hold seconds as floats.
    run_limit = None if policy.run_timeout is None else float(policy.run_timeout)  # type: ignore[arg-type]
    idle_limit = None if policy.idle_timeout is None else float(policy.idle_timeout)  # type: ignore[arg-type]
    started = time.monotonic()
    progress = [started]

    def touch() -> None:
        progress[0] = time.monotonic()

    task.heartbeat = touch
    attempt = asyncio.ensure_future(_attempt_async(loop, task))
    try:
        while True:
            now = time.monotonic()
            waits: list[float] = []
            if run_limit is not None:
                waits.append(run_limit - (now - started))
            if idle_limit is not None:
                waits.append(idle_limit - (now - progress[0]))
            wait = max(min(waits), 0.0)
            done, _ = await asyncio.wait({attempt}, timeout=wait)
            if done:
                attempt.result()
                return
            now = time.monotonic()
            if run_limit is not None and now - started >= run_limit:
                raise _timeout_error(task, now - started, "run")
            if idle_limit is not None and now - progress[0] >= idle_limit:
                raise _timeout_error(task, now - started, "idle")
    finally:
        if not attempt.done():
            attempt.cancel()
            with contextlib.suppress(BaseException):
                await attempt


def _timeout_error(task: Task, elapsed: float, kind: str) -> NodeTimeoutError:
    policy = task.timeout
    assert policy is not None
    return NodeTimeoutError(
        task.name,
        elapsed,
        kind=kind,
        idle_timeout=policy.idle_timeout,  # type: ignore[arg-type]
        run_timeout=policy.run_timeout,  # type: ignore[arg-type]
    )


# ----------------------------------------------------------------------------- handlers


def handler_task(
    checkpoint: Mapping[str, Any],
    ctx: PlanContext,
    failed: Task,
    handler: str,
    error: BaseException,
) -> Task | None:
    """The task that runs node ``handler`` for the failure of ``failed``."""
    node = ctx.nodes.get(handler)
    if node is None:
        return None
    from hone.graph._plan import _finish_task, _id_bytes

    ns = f"{ctx.parent_ns}{NS_SEP}{handler}" if ctx.parent_ns else handler
    tid = make_task_id(
        _id_bytes(checkpoint["id"]),
        ns,
        str(ctx.step),
        handler,
        PUSH,
        "node_error_handler",
        failed.id,
    )
    task = Task(
        tid,
        handler,
        (*failed.path[:3], "node_error_handler", False),
        (PUSH,),
        input=failed.input,
        node=node,
    )
    _finish_task(task, ctx, checkpoint, f"{ns}:{tid}", node.retry_policy, node.timeout)
    task.node_error = NodeError(node=failed.name, error=error)
    task.scratchpad = scratchpad_for(tid, interrupt_id(f"{ns}:{tid}"), ctx)
    return task
