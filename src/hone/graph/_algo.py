"""The Pregel algorithm as pure functions over a checkpoint and its channels.

* :func:`prepare_tasks` — which tasks run next: a node runs when a channel it is triggered
  by has a newer version than the one it last saw, and every pending :class:`Send` packet is
  a task of its own.
* :func:`apply_writes` — apply a super-step's writes at once (tasks sorted by path, so the
  order is deterministic), bump versions, and consume/finish channels.
* :func:`should_interrupt` — whether a static breakpoint stops the run.

Task ids are hashes of the checkpoint id, namespace, step, node and trigger: the same plan
from the same checkpoint gives the same ids, which is how a resumed run finds the writes its
finished tasks already saved.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from copy import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hone.errors import InvalidUpdateError
from hone.graph._channels import MISSING, Channel
from hone.graph._constants import (
    ERROR,
    INTERRUPT,
    NO_WRITES,
    NS_END,
    NS_SEP,
    NULL_TASK_ID,
    PULL,
    PUSH,
    RESERVED,
    RESUME,
    RETURN,
    TASK_ID_KEY,
    TASKS,
)
from hone.graph._context import Scratchpad
from hone.graph._interrupt import KEYED_RESUME, interrupt_id
from hone.graph._types import CachePolicy, RetryPolicy, Send, TimeoutPolicy

if TYPE_CHECKING:
    from hone.graph._compile import Node
    from hone.graph._state import ManagedValue

__all__ = [
    "Call",
    "Task",
    "apply_writes",
    "increment",
    "local_read",
    "make_task_id",
    "prepare_tasks",
    "should_interrupt",
    "task_path_str",
]

#: Pending-write kinds that never reach a channel.
SKIP_CHANNELS = frozenset((*RESERVED, KEYED_RESUME, "__error_source_node__", "__hone_kept__"))


@dataclass(slots=True, eq=False)
class Call:
    """A functional-API task call: the function and its arguments."""

    func: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    retry_policy: tuple[RetryPolicy, ...] = ()
    cache_policy: CachePolicy | None = None
    timeout: TimeoutPolicy | None = None
    name: str = ""


class Task:
    """A task of a super-step: a node (or a Send packet, or a functional call) with its
    input, and the writes it produced.

    Its config and scratchpad (interrupt answers) are built on first use: most nodes need
    neither, and building them for every task would cost more than running a small node.
    """

    __slots__ = (
        "_config",
        "_ctx",
        "_scratchpad",
        "attempt",
        "cache_key",
        "call",
        "checkpoint_id",
        "first_attempt_time",
        "heartbeat",
        "id",
        "input",
        "kept",
        "name",
        "node",
        "node_error",
        "ns",
        "path",
        "resuming",
        "retry_policy",
        "timeout",
        "triggers",
        "writes",
    )

    def __init__(
        self,
        id: str,
        name: str,
        path: tuple[Any, ...],
        triggers: tuple[str, ...],
        *,
        input: Any = None,
        node: Node | None = None,
        call: Call | None = None,
    ) -> None:
        self.id = id
        self.name = name
        self.path = path
        self.triggers = triggers
        self.input = input
        self.node = node
        self.call = call
        self.writes: list[tuple[str, Any]] = []
        self.retry_policy: tuple[RetryPolicy, ...] = ()
        self.cache_key: tuple[tuple[str, ...], str, int | None] | None = None
        self.timeout: TimeoutPolicy | None = None
        #: Values kept across an interrupt (TaskScope.remember).
        self.kept: dict[str, Any] = {}
        #: 1 on the first attempt, 2 on the first retry, ...
        self.attempt = 1
        #: When the first attempt started (Unix seconds).
        self.first_attempt_time: float | None = None
        #: For an error-handler task: the failure it handles (a NodeError).
        self.node_error: Any = None
        #: Records progress for an idle timeout (None when the task has none).
        self.heartbeat: Callable[[], None] | None = None
        #: Retried: its subgraphs resume their checkpoints.
        self.resuming = False
        #: The task's checkpoint namespace (``parent|node:task_id``).
        self.ns = ""
        self.checkpoint_id = ""
        self._ctx: PlanContext | None = None
        self._config: dict[str, Any] | None = None
        self._scratchpad: Scratchpad | None = None

    @property
    def config(self) -> dict[str, Any]:
        """The config the node sees (built on first use)."""
        if self._config is None:
            self._config = _task_config(self) if self._ctx is not None else {}
        return self._config

    @config.setter
    def config(self, value: dict[str, Any]) -> None:
        self._config = value

    @property
    def scratchpad(self) -> Scratchpad | None:
        """The task's interrupt bookkeeping (built on first use)."""
        if self._scratchpad is None and self._ctx is not None:
            self._scratchpad = scratchpad_for(self.id, interrupt_id(self.ns), self._ctx)
        return self._scratchpad

    @scratchpad.setter
    def scratchpad(self, value: Scratchpad | None) -> None:
        self._scratchpad = value

    def __repr__(self) -> str:
        return f"Task(id={self.id!r}, name={self.name!r}, path={self.path!r})"


def increment(current: int | None, channel: Any = None) -> int:
    """The default channel version: an integer counter."""
    return 1 if current is None else current + 1


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
    if isinstance(part, tuple | list):
        return "~" + ", ".join(task_path_str(x) for x in part)
    if isinstance(part, int):
        return f"{part:010d}"
    return str(part)


def _id_bytes(checkpoint_id: str) -> bytes:
    try:
        return bytes.fromhex(checkpoint_id.replace("-", ""))
    except ValueError:
        return checkpoint_id.encode()


# ----------------------------------------------------------------------------- apply


def apply_writes(
    checkpoint: dict[str, Any],
    channels: Mapping[str, Channel],
    tasks: Iterable[Any],
    get_next_version: Callable[[Any, Any], Any] | None,
    trigger_to_nodes: Mapping[str, Sequence[str]],
    kinds: ChannelKinds | None = None,
) -> set[str]:
    """Apply the writes of ``tasks`` (objects with ``name``, ``path``, ``triggers`` and
    ``writes``) to the channels and the checkpoint's versions; return the channels that
    changed. ``kinds`` says which channels can change without a write (by default: all)."""
    tasks = list(tasks)
    if len(tasks) > 1:
        tasks.sort(key=_path_key)
    bump_step = any(t.triggers for t in tasks)
    versions = checkpoint["channel_versions"]
    for task in tasks:
        seen = checkpoint["versions_seen"].setdefault(task.name, {})
        seen.update({c: versions[c] for c in task.triggers if c in versions})
    next_version = (
        None
        if get_next_version is None
        else get_next_version(max(versions.values()) if versions else None, None)
    )
    # Consume the channels that were read (a join resets, a deferred trigger clears).
    for chan in {c for t in tasks for c in t.triggers if c not in RESERVED and c in channels}:
        if channels[chan].consume() and next_version is not None:
            versions[chan] = next_version
    pending: dict[str, list[Any]] = {}
    for task in tasks:
        for chan, value in task.writes:
            if chan in SKIP_CHANNELS or chan == ERROR:
                continue
            if chan in channels:
                values = pending.get(chan)
                if values is None:
                    pending[chan] = [value]
                else:
                    values.append(value)
            else:
                _warn_unknown_channel(task.name, chan)
    updated: set[str] = set()
    for chan, values in pending.items():
        try:
            changed = channels[chan].update(values)
        except InvalidUpdateError as exc:
            names = ", ".join(repr(n) for n in _writers(tasks, chan))
            raise InvalidUpdateError(f"{exc} (written in one step by {names})") from exc
        if changed and next_version is not None:
            versions[chan] = next_version
            if channels[chan].is_available():
                updated.add(chan)
    if bump_step:
        # Channels not written this step are told a step passed (ephemeral values clear).
        for chan in channels if kinds is None else kinds.volatile:
            channel = channels[chan]
            if (
                chan not in updated
                and channel.is_available()
                and channel.update(())
                and next_version is not None
            ):
                versions[chan] = next_version
                if channel.is_available():
                    updated.add(chan)
    if bump_step and updated.isdisjoint(trigger_to_nodes):
        # Tentatively the last step: deferred channels become available.
        for chan in channels if kinds is None else kinds.finishing:
            channel = channels[chan]
            if channel.finish() and next_version is not None:
                versions[chan] = next_version
                if channel.is_available():
                    updated.add(chan)
    return updated


def _path_key(task: Any) -> str:
    return task_path_str(task.path[:3])


def _writers(tasks: Sequence[Any], chan: str) -> list[str]:
    """The names of the tasks that wrote ``chan`` (for an error message)."""
    return [t.name for t in tasks for c, _ in t.writes if c == chan]


@dataclass(frozen=True, slots=True)
class ChannelKinds:
    """Which channels can change without a write: at a new step (``volatile``: ephemeral
    values, topics) or when the run is about to finish (``finishing``: deferred nodes)."""

    volatile: tuple[str, ...]
    finishing: tuple[str, ...]

    @classmethod
    def of(cls, channels: Mapping[str, Channel]) -> ChannelKinds:
        """Classify ``channels`` (a channel of an unknown kind is in both)."""
        from hone.graph._channels import (
            AnyValue,
            BinaryOperatorAggregate,
            EphemeralValue,
            LastValue,
            LastValueAfterFinish,
            NamedBarrierValue,
            NamedBarrierValueAfterFinish,
            Topic,
            UntrackedValue,
        )

        plain = (LastValue, BinaryOperatorAggregate, NamedBarrierValue, UntrackedValue)
        deferred = (LastValueAfterFinish, NamedBarrierValueAfterFinish)
        per_step = (EphemeralValue, Topic, AnyValue)
        volatile = tuple(k for k, c in channels.items() if type(c) not in (*plain, *deferred))
        finishing = tuple(k for k, c in channels.items() if type(c) not in (*plain, *per_step))
        return cls(volatile, finishing)


def _warn_unknown_channel(task: str, channel: str) -> None:
    import warnings

    from hone.errors import GraphWarning

    if channel.startswith("branch:to:"):
        what = f"routed to unknown node {channel.removeprefix('branch:to:')!r}"
    else:
        what = f"wrote to unknown channel {channel!r}"
    warnings.warn(
        f"Task {task} {what}; the write is ignored, as LangGraph ignores it.",
        GraphWarning,
        stacklevel=3,
    )


def should_interrupt(
    checkpoint: Mapping[str, Any], nodes: Sequence[str] | str, tasks: Iterable[Task]
) -> list[Task]:
    """The tasks a static breakpoint (``interrupt_before``/``after``) stops at: only when
    some channel changed since the last breakpoint stop."""
    versions = checkpoint["channel_versions"]
    seen = checkpoint["versions_seen"].get(INTERRUPT, {})
    null = null_version(checkpoint)
    if null is None or not any(v > seen.get(c, null) for c, v in versions.items()):
        return []
    if nodes == "*":
        return [t for t in tasks if not (t.node is not None and t.node.hidden)]
    return [t for t in tasks if t.name in nodes]


# ----------------------------------------------------------------------------- reads


def read_channels(
    channels: Mapping[str, Channel], select: Sequence[str] | str, *, skip_empty: bool = True
) -> Any:
    """The values of ``select`` (a key: its value or None; keys: a dict of those that have
    a value)."""
    if isinstance(select, str):
        channel = channels[select]
        return channel.get() if channel.is_available() else None
    out: dict[str, Any] = {}
    for key in select:
        found = channels.get(key)
        if found is not None and found.is_available():
            out[key] = found.get()
        elif not skip_empty:
            out[key] = None
    return out


def local_read(
    step: int,
    stop: int,
    channels: Mapping[str, Channel],
    managed: Mapping[str, type[ManagedValue]],
    writes: Sequence[tuple[str, Any]],
    select: Sequence[str] | str,
    *,
    fresh: bool,
) -> Any:
    """The state as a task sees it; with ``fresh``, with the task's own writes applied (what
    a router reads)."""
    keys = [select] if isinstance(select, str) else [k for k in select if k not in managed]
    if fresh:
        grouped: defaultdict[str, list[Any]] = defaultdict(list)
        for chan, value in writes:
            if chan in keys:
                grouped[chan].append(value)
        local: dict[str, Channel] = {}
        for key in keys:
            channel = channels.get(key)
            if channel is None:
                continue
            if grouped.get(key):
                channel = channel.copy()
                channel.update(grouped[key])
            local[key] = channel
        values = read_channels(local, select if isinstance(select, str) else keys)
    else:
        values = read_channels(channels, select if isinstance(select, str) else keys)
    if not isinstance(select, str):
        for key in select:
            if key in managed:
                values[key] = managed[key].get(step, stop)
    return values


# ----------------------------------------------------------------------------- plan


@dataclass(slots=True)
class PlanContext:
    """What task preparation needs besides the checkpoint and channels."""

    nodes: Mapping[str, Node]
    channels: Mapping[str, Channel]
    managed: Mapping[str, type[ManagedValue]]
    config: Mapping[str, Any]
    step: int
    stop: int
    #: The namespace of the graph being run ("" at the root).
    parent_ns: str = ""
    pending_writes: list[tuple[str, str, Any]] = field(default_factory=list)
    resume_map: Mapping[str, Any] | None = None
    #: The scratchpad of the task running this graph as a subgraph (for the command's answer).
    parent_scratchpad: Scratchpad | None = None
    for_execution: bool = True
    checkpoint_map: Mapping[str, str] = field(default_factory=dict)
    base_retry: tuple[RetryPolicy, ...] = ()
    base_cache: CachePolicy | None = None


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
            if tid == task.id and chan == "__hone_kept__":
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


def _task_config(task: Task) -> dict[str, Any]:
    """The config a task's node sees: the run's, with its step, node and namespace."""
    ctx = task._ctx
    assert ctx is not None
    node = task.node
    metadata = {
        **(ctx.config.get("metadata") or {}),
        "langgraph_step": ctx.step,
        "langgraph_node": task.name,
        "langgraph_triggers": task.triggers,
        "langgraph_path": task.path[:3],
        "langgraph_checkpoint_ns": task.ns,
    }
    if node is not None and node.metadata:
        metadata.update(node.metadata)
    configurable = {
        **(ctx.config.get("configurable") or {}),
        "checkpoint_ns": task.ns,
        "checkpoint_id": None,
        "checkpoint_map": {**ctx.checkpoint_map, ctx.parent_ns: task.checkpoint_id},
        TASK_ID_KEY: task.id,
    }
    return {
        **{k: v for k, v in ctx.config.items() if k not in ("configurable", "metadata")},
        "tags": list(ctx.config.get("tags") or ()),
        "metadata": metadata,
        "configurable": configurable,
        "run_name": task.name,
    }


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


def scratchpad_for(task_id: str, namespace_hash: str, ctx: PlanContext) -> Scratchpad:
    """A task's scratchpad: its saved answers, a mapped answer for its namespace, and the
    command's answer not yet claimed (shared by the run's tasks, consumed once)."""
    pending = ctx.pending_writes
    null_write: tuple[str, str, Any] | None = None
    resume: list[Any] = []
    keyed: dict[str, Any] = {}
    for write in pending:
        if write[0] == NULL_TASK_ID and write[1] == RESUME and null_write is None:
            null_write = write
        elif write[0] == task_id and write[1] == RESUME and not resume:
            resume = list(write[2]) if isinstance(write[2], list) else [write[2]]
        elif write[0] == task_id and write[1] == KEYED_RESUME:
            keyed.update(write[2])
    resume_map = ctx.resume_map or {}
    if namespace_hash in resume_map:
        resume.append(resume_map[namespace_hash])
    keyed.update({k: v for k, v in resume_map.items() if k != namespace_hash})
    parent = ctx.parent_scratchpad

    def null_resume(consume: bool = False) -> Any:
        if null_write is None:
            return parent.null_resume(consume) if parent is not None else None
        if consume:
            try:
                pending.remove(null_write)
            except ValueError:
                return None
        return null_write[2]

    return Scratchpad(ctx.step, ctx.stop, resume, keyed, null_resume)


def output_skip(chan: str) -> bool:
    """Whether a pending write of this kind is kept out of ``updates`` output."""
    return chan in (ERROR, INTERRUPT, NO_WRITES, RETURN)
