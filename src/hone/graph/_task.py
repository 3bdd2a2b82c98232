"""One task of a super-step: run a node (with retries), and turn its output into writes.

``run_task_sync`` and ``run_task_async`` are the only sync/async twins: a few lines each
around the shared :func:`finish_task`.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import time
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from hone.errors import InvalidUpdateError
from hone.graph._channels import MISSING
from hone.graph._context import _SCOPE, TaskScope
from hone.graph._interrupt import GraphInterrupt, ParentCommand
from hone.graph._nodes import NodeSpec
from hone.graph._resume import INTERRUPT, RESUME
from hone.graph._state import object_update
from hone.graph._types import END, START, Command, Send

if TYPE_CHECKING:
    from hone.graph._loop import Run

__all__ = [
    "INTERRUPT",
    "RESUME",
    "SENDS",
    "Task",
    "finish_task",
    "input_task",
    "run_task_async",
    "run_task_sync",
]

logger = logging.getLogger(__name__)

SENDS = "__sends__"


class Task:
    """A node to run in one super-step, and what came of it."""

    __slots__ = (
        "done",
        "error",
        "id",
        "input",
        "interrupted",
        "interrupts",
        "is_push",
        "name",
        "node",
        "path",
        "step",
        "triggers",
        "update",
        "writes",
    )

    def __init__(
        self,
        id: str,
        name: str,
        path: tuple[Any, ...],
        node: NodeSpec,
        triggers: tuple[str, ...],
        step: int,
    ) -> None:
        self.id = id
        self.name = name
        self.path = path
        self.node = node
        self.triggers = triggers
        self.step = step
        self.input: Any = None
        self.writes: list[tuple[str, Any]] = []
        self.update: dict[str, Any] | None = None
        self.interrupts: list[Any] = []
        self.interrupted = False
        self.error: BaseException | None = None
        self.done = False
        self.is_push = False

    def update_of_writes(self, channels: Mapping[str, Any]) -> dict[str, Any] | None:
        """The state update among this task's writes."""
        update = {k: v for k, v in self.writes if k in channels}
        return update or None


def _as_items(run: Run, name: str, output: Any) -> tuple[list[tuple[str, Any]], list[str | Send]]:
    if output is None:
        return [], []
    if type(output) is dict or isinstance(output, Mapping):
        return list(output.items()), []
    if isinstance(output, Command):
        if output.graph == Command.PARENT:
            raise ParentCommand(output)
        return output.update_items(), output.goto_items()
    if isinstance(output, list | tuple) and any(isinstance(o, Command) for o in output):
        items: list[tuple[str, Any]] = []
        gotos: list[str | Send] = []
        for part in output:
            more, go = _as_items(run, name, part)
            items.extend(more)
            gotos.extend(go)
        return items, gotos
    if isinstance(output, BaseModel) or (
        dataclasses.is_dataclass(output) and not isinstance(output, type)
    ):
        return object_update(output), []
    raise InvalidUpdateError(
        f"node {name!r} returned {type(output).__name__} {output!r:.80} (thread "
        f"{run.thread_id!r}); return a dict of state updates, a Command, or None"
    )


def _check_keys(run: Run, name: str, items: list[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """The items, with pydantic-validated values for plain keys of a pydantic schema."""
    channels = run.channels
    validators = run.graph.validators
    checked = items
    for i, (key, value) in enumerate(items):
        if key not in channels:
            who = "the graph input" if name == START else f"node {name!r}"
            raise InvalidUpdateError(
                f"{who} wrote key {key!r} (thread {run.thread_id!r}), which is not in "
                f"the state schema (keys: {sorted(channels)}); add it to the schema or drop it "
                f"from the update"
            )
        adapter = validators.get(key) if validators else None
        if adapter is not None:
            try:
                valid = adapter.validate_python(value)
            except ValidationError as exc:
                problems = "; ".join(e["msg"] for e in exc.errors())
                who = "the graph input" if name == START else f"node {name!r}"
                raise InvalidUpdateError(
                    f"{who} wrote {key!r} = {value!r:.80} (thread {run.thread_id!r}), "
                    f"which the state schema rejects: {problems}"
                ) from exc
            if valid is not value:
                checked = list(checked) if checked is items else checked
                checked[i] = (key, valid)
    return checked


def _goto_write(run: Run, who: str, target: str | Send) -> tuple[str, Any] | None:
    nodes = run.graph.nodes
    if isinstance(target, Send):
        if target.node not in nodes:
            raise InvalidUpdateError(
                f"{who} sent to unknown node {target.node!r} (thread {run.thread_id!r}); "
                f"known nodes: {sorted(nodes)}"
            )
        return (SENDS, target)
    if target == END:
        return None
    if target not in nodes:
        raise InvalidUpdateError(
            f"{who} tried to go to unknown node {target!r} (thread {run.thread_id!r}); "
            f"known nodes: {sorted(nodes)}"
        )
    return (f"branch:to:{target}", True)


def _fresh_state(run: Run, items: list[tuple[str, Any]]) -> dict[str, Any]:
    # The state a router sees: the step's state plus this task's own writes.
    state = dict(run.state)
    channels = run.channels
    for key, value in items:
        state[key] = channels[key].apply(state.get(key, MISSING), [value], ["router"])
    return state


def _fill(run: Run, task: Task, items: list[tuple[str, Any]], gotos: list[str | Send]) -> None:
    items = _check_keys(run, task.name, items)
    node = task.node
    writes = list(items)
    writes.extend(node.edge_writes)
    for target in gotos:
        write = _goto_write(run, f"node {task.name!r}", target)
        if write is not None:
            writes.append(write)
    if node.branches:
        state = run.graph.state_spec.make(_fresh_state(run, items))
        config = run.task_config(task) if node.branch_config else None
        for branch in node.branches:
            who = f"router {branch.name!r} of node {task.name!r}"
            for target in branch.route(state, config):
                write = _goto_write(run, who, target)
                if write is not None:
                    writes.append(write)
    task.writes = writes
    task.update = dict(items) if items else None
    task.done = True
    if "messages" in run.modes and items and task.name != START:
        # Messages a node returns stream once; the graph's own input is not streamed back.
        _emit_returned_messages(run, task, items)


def _emit_returned_messages(run: Run, task: Task, items: list[tuple[str, Any]]) -> None:
    for key, value in items:
        values = value if isinstance(value, list | tuple) else [value]
        known = (
            {getattr(m, "id", None) for m in run.state.get(key, ()) or ()}
            if isinstance(run.state.get(key), list)
            else set()
        )
        for msg in values:
            msg_id = getattr(msg, "id", None)
            if (
                hasattr(msg, "role")
                and msg_id not in run.streamed_ids
                and (msg_id is None or msg_id not in known)
            ):
                run.emit_message(task, msg, None)


def input_task(run: Run, value: Any) -> Task:
    """A pseudo task for the graph input (or a command's update/goto), from START."""
    start: NodeSpec = run.graph.start_node
    task = Task("", START, ("input",), start, (), run.step + 1)
    if isinstance(value, Command):
        items, gotos = value.update_items(), value.goto_items()
    else:
        items, gotos = run.graph.input_spec.updates_of_input(value), []
    _fill(run, task, items, gotos)
    return task


def finish_task(run: Run, task: Task, output: Any) -> None:
    """Turn a node's output into the task's writes (updates, edges, routers, gotos)."""
    items, gotos = _as_items(run, task.name, output)
    _fill(run, task, items, gotos)


def _retry_delay(task: Task, exc: Exception, attempt: int) -> float | None:
    policy = task.node.retry
    if policy is None or not policy.should_retry(exc, attempt):
        return None
    delay = policy.delay(attempt)
    logger.warning(
        "node %r failed (attempt %d), retrying in %.2fs: %r", task.name, attempt, delay, exc
    )
    return delay


def _complete(run: Run, task: Task, output: Any) -> None:
    try:
        run.task_finished(task, output)
    except ParentCommand as command:
        # Not a failure: the loop raises it out of this (sub)graph, to the parent's node.
        task.error, task.done = command, False
    except Exception as exc:
        run.task_failed(task, exc)


def _local(command: Command[Any]) -> Command[Any]:
    return Command(update=command.update, goto=command.goto, resume=command.resume)


def _settle(run: Run, task: Task, output: Any, exc: Exception | None) -> Exception | None:
    """Record how a node call ended; return the exception to retry on, if any.

    The one place both shells share: an interrupt pauses the task, a command for the parent
    graph becomes the task's output, any other exception goes back to the retry loop.
    """
    if isinstance(exc, GraphInterrupt):
        run.task_interrupted(task, exc)
        return None
    if isinstance(exc, ParentCommand):
        output = _local(exc.command)
    elif exc is not None:
        return exc
    _complete(run, task, output)
    return None


def _attempt_sync(run: Run, task: Task) -> Exception | None:
    token = _SCOPE.set(scope := TaskScope(run, task))
    try:
        try:
            output, exc = task.node.call_sync(task.input, scope), None
        except Exception as error:
            output, exc = None, error
        return _settle(run, task, output, exc)
    finally:
        _SCOPE.reset(token)


async def _attempt_async(run: Run, task: Task, threaded: bool) -> Exception | None:
    token = _SCOPE.set(scope := TaskScope(run, task))
    try:
        try:
            output, exc = await task.node.call_async(task.input, scope, threaded), None
        except Exception as error:
            output, exc = None, error
        return _settle(run, task, output, exc)
    finally:
        _SCOPE.reset(token)


def run_task_sync(run: Run, task: Task) -> None:
    """Run one task to completion, interrupt or final failure (retrying per its policy)."""
    attempt = 0
    while (failure := _attempt_sync(run, task)) is not None:
        attempt += 1
        delay = _retry_delay(task, failure, attempt)
        if delay is None:
            run.task_failed(task, failure)
            return
        time.sleep(delay)


async def run_task_async(run: Run, task: Task, threaded: bool) -> None:
    """Async twin of :func:`run_task_sync`; sync nodes go to a thread when ``threaded``."""
    attempt = 0
    while (failure := await _attempt_async(run, task, threaded)) is not None:
        attempt += 1
        delay = _retry_delay(task, failure, attempt)
        if delay is None:
            run.task_failed(task, failure)
            return
        await asyncio.sleep(delay)
