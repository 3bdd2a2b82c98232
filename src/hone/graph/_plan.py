"""Which tasks run next (:func:`prepare_tasks`): a node runs when a channel it is triggered
by has a newer version than the one it last saw, and every pending :class:`Send` packet is a
task of its own; a functional-API call made by a running task is one too (:func:`call_task`).

Task ids are hashes of the checkpoint id, namespace, step, node and trigger: the same plan
from the same checkpoint gives the same ids, which is how a resumed run finds the writes its
finished tasks already saved. Tasks with a cache policy get their cache key here.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from copy import copy
from typing import TYPE_CHECKING, Any

from hone.graph._channels import MISSING
from hone.graph._constants import KEPT, NS_END, NS_SEP, PULL, PUSH, TASKS
from hone.graph._task import Call, PlanContext, Task
from hone.graph._types import RetryPolicy, Send, TimeoutPolicy

if TYPE_CHECKING:
    from hone.graph._compile import Node

__all__ = [
    "cache_namespace",
    "call_task",
    "make_task_id",
    "null_version",
    "prepare_tasks",
    "task_path_str",
]


def null_version(checkpoint: Mapping[str, Any]) -> Any:
    """The "never seen" version for this checkpoint's version type, or None when no
    channel has a version yet."""
    for version in checkpoint["channel_versions"].values():
        return type(version)()
    return None


def make_task_id(namespace: bytes, *parts: str) -> str:
    """A deterministic task id (UUID-shaped) from the checkpoint id and the task's parts."""
    h = hashlib.blake2b(namespace + "".join(parts).encode(), digest_size=16).hexdigest()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def task_path_str(part: Any) -> str:
    """A task path as a sortable string."""
    if isinstance(part, str):  # most parts (checked first: every step sorts its tasks)
        return part
    if isinstance(part, tuple | list):
        return "~" + ", ".join([task_path_str(x) for x in part])
    if isinstance(part, int):
        return f"{part:010d}"
    return str(part)


def _id_bytes(checkpoint_id: str) -> bytes:
    try:
        return bytes.fromhex(checkpoint_id.replace("-", ""))
    except ValueError:
        return checkpoint_id.encode()


def prepare_tasks(
    checkpoint: Mapping[str, Any],
    ctx: PlanContext,
    *,
    updated_channels: set[str] | None = None,
    trigger_to_nodes: Mapping[str, Sequence[str]] | None = None,
) -> dict[str, Task]:
    """The tasks of the next super-step, by id: Send packets first (in order), then triggered
    nodes (sorted by name when only the updated channels are considered)."""
    id_bytes = _id_bytes(checkpoint["id"])
    null = null_version(checkpoint)
    tasks: list[Task] = []
    sends = ctx.channels.get(TASKS)
    if sends is not None and sends.is_available():
        for index, packet in enumerate(sends.get()):
            task = _push_task(checkpoint, ctx, id_bytes, index, packet)
            if task is not None:
                tasks.append(task)
    candidates: Iterable[str]
    if updated_channels and trigger_to_nodes:
        triggered: set[str] = set()
        for chan in updated_channels:
            triggered.update(trigger_to_nodes.get(chan, ()))
        candidates = sorted(triggered)
    elif not checkpoint["channel_versions"]:
        candidates = ()
    else:
        candidates = ctx.nodes
    if null is not None:
        for name in candidates:
            task = _pull_task(checkpoint, ctx, id_bytes, name, null)
            if task is not None:
                tasks.append(task)
    return {t.id: t for t in tasks}


def _triggered(checkpoint: Mapping[str, Any], ctx: PlanContext, node: Node, null: Any) -> bool:
    seen = checkpoint["versions_seen"].get(node.name)
    versions = checkpoint["channel_versions"]
    for chan in node.triggers:
        channel = ctx.channels.get(chan)
        if channel is None or not channel.is_available():
            continue
        if seen is None or versions.get(chan, null) > seen.get(chan, null):
            return True
    return False


def _pull_task(
    checkpoint: Mapping[str, Any], ctx: PlanContext, id_bytes: bytes, name: str, null: Any
) -> Task | None:
    node = ctx.nodes.get(name)
    if node is None or not _triggered(checkpoint, ctx, node, null):
        return None
    triggers = tuple(sorted(node.triggers))
    ns = f"{ctx.parent_ns}{NS_SEP}{name}" if ctx.parent_ns else name
    tid = make_task_id(id_bytes, ns, str(ctx.step), name, PULL, *triggers)
    task = Task(tid, name, (PULL, name), triggers, node=node)
    value = _node_input(node, ctx)
    if value is MISSING:
        return None
    task.input = value
    _finish_task(task, ctx, checkpoint, f"{ns}{NS_END}{tid}", node.retry_policy, node.timeout)
    return task


def _push_task(
    checkpoint: Mapping[str, Any], ctx: PlanContext, id_bytes: bytes, index: int, packet: Any
) -> Task | None:
    import logging

    log = logging.getLogger(__name__)
    if not isinstance(packet, Send):
        log.warning("Ignoring invalid packet type %s in pending sends", type(packet))
        return None
    node = ctx.nodes.get(packet.node)
    if node is None:
        import warnings

        from hone.errors import GraphWarning

        warnings.warn(
            f"Send to unknown node {packet.node!r} is ignored, as LangGraph ignores it; "
            f"the graph's nodes are {sorted(n for n in ctx.nodes if not n.startswith('__'))}",
            GraphWarning,
            stacklevel=2,
        )
        return None
    ns = f"{ctx.parent_ns}{NS_SEP}{packet.node}" if ctx.parent_ns else packet.node
    tid = make_task_id(id_bytes, ns, str(ctx.step), packet.node, PUSH, str(index))
    task = Task(tid, packet.node, (PUSH, index, False), (PUSH,), input=packet.arg, node=node)
    timeout = TimeoutPolicy.coerce(packet.timeout) if packet.timeout is not None else node.timeout
    _finish_task(task, ctx, checkpoint, f"{ns}:{tid}", node.retry_policy, timeout)
    return task


def call_task(
    checkpoint: Mapping[str, Any],
    ctx: PlanContext,
    parent: Task,
    write_index: int,
    call: Call,
) -> Task:
    """The task of a functional-API call made by ``parent`` (its ``write_index``-th call)."""
    name = call.name
    ns = f"{ctx.parent_ns}{NS_SEP}{name}" if ctx.parent_ns else name
    tid = make_task_id(
        _id_bytes(checkpoint["id"]),
        ns,
        str(ctx.step),
        name,
        PUSH,
        task_path_str(parent.path),
        str(write_index),
    )
    task = Task(
        tid,
        name,
        (PUSH, parent.path, write_index, parent.id, True),
        (PUSH,),
        input=(call.args, call.kwargs),
        call=call,
    )
    _finish_task(task, ctx, checkpoint, f"{ns}:{tid}", call.retry_policy, call.timeout)
    return task


def _node_input(node: Node, ctx: PlanContext) -> Any:
    if isinstance(node.reads, str):
        channel = ctx.channels.get(node.reads)
        if channel is None or not channel.is_available():
            return MISSING
        value = channel.get()
    else:
        value = {}
        for key in node.reads:
            channel = ctx.channels.get(key)
            if channel is not None:
                if channel.is_available():
                    value[key] = channel.get()
            elif key in ctx.managed:
                value[key] = ctx.managed[key].get(ctx.step, ctx.stop)
    if ctx.for_execution and node.mapper is not None:
        try:
            value = node.mapper(value)
        except Exception as exc:
            exc.add_note(f"Before task with name '{node.name}'")
            raise
    elif not isinstance(node.reads, str):
        return value  # a dict built above for this task alone
    return copy(value) if isinstance(value, dict) else value


def _finish_task(
    task: Task,
    ctx: PlanContext,
    checkpoint: Mapping[str, Any],
    task_ns: str,
    retry: tuple[RetryPolicy, ...],
    timeout: TimeoutPolicy | None,
) -> None:
    task.retry_policy = retry or ctx.base_retry
    task.timeout = timeout
    task.ns = task_ns
    task.checkpoint_id = checkpoint["id"]
    if not ctx.for_execution:
        return
    task._ctx = ctx
    if ctx.pending_writes:
        for tid, chan, value in ctx.pending_writes:
            if tid == task.id and chan == KEPT:
                task.kept.update(value)
    node = task.node
    if task.call is not None:
        policy = task.call.cache_policy or ctx.base_cache
        if policy is not None:
            key = policy.key_func(*task.call.args, **task.call.kwargs)
            task.cache_key = (cache_namespace(task.call.func, None), _digest(key), policy.ttl)
    elif (
        node is not None
        and not node.is_error_handler
        and (policy := node.cache_policy or ctx.base_cache) is not None
    ):
        key = policy.key_func(task.input)
        task.cache_key = (cache_namespace(node.cache_fn, node.name), _digest(key), policy.ttl)


def _digest(key: str | bytes) -> str:
    return hashlib.blake2b(
        key.encode() if isinstance(key, str) else key, digest_size=16
    ).hexdigest()


def cache_namespace(fn: Any, node: str | None) -> tuple[str, ...]:
    """Where a node's (or a task function's) cached writes live: by the function's module
    and qualified name (and the node's name), so two graphs with one node function share."""
    module = getattr(fn, "__module__", None)
    qualname = getattr(fn, "__qualname__", None) or getattr(fn, "__name__", None)
    ident = f"{module}.{qualname}" if module and qualname else "__dynamic__"
    return ("__pregel_ns_writes", ident) if node is None else ("__pregel_ns_writes", ident, node)
