"""The Pregel algorithm as pure functions over a checkpoint and its channels.

* :func:`prepare_tasks` — which tasks run next (in :mod:`hone.graph._plan`; the tasks
  themselves are :mod:`hone.graph._task`).
* :func:`apply_writes` — apply a super-step's writes at once (tasks sorted by path, so the
  order is deterministic), bump versions, and consume/finish channels.
* :func:`should_interrupt` — whether a static breakpoint stops the run.
* :func:`read_channels` / :func:`local_read` — the state, as a task sees it.

The names of the planning and task modules are importable from here too.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from hone.errors import InvalidUpdateError
from hone.graph._channels import (
    AnyValue,
    Channel,
    EphemeralValue,
    LastValue,
    LastValueAfterFinish,
    UntrackedValue,
)
from hone.graph._channels_barrier import NamedBarrierValue, NamedBarrierValueAfterFinish
from hone.graph._channels_reduce import BinaryOperatorAggregate, Topic
from hone.graph._constants import ERROR, ERROR_SOURCE, INTERRUPT, KEPT, NO_WRITES, RESERVED, RETURN
from hone.graph._interrupt import KEYED_RESUME
from hone.graph._plan import (
    cache_namespace,
    call_task,
    make_task_id,
    null_version,
    prepare_tasks,
    task_path_str,
)
from hone.graph._task import Call, PlanContext, Task, scratchpad_for

if TYPE_CHECKING:
    from hone.graph._state import ManagedValue

__all__ = [
    "Call",
    "ChannelKinds",
    "PlanContext",
    "Task",
    "apply_writes",
    "cache_namespace",
    "call_task",
    "increment",
    "local_read",
    "make_task_id",
    "null_version",
    "prepare_tasks",
    "read_channels",
    "scratchpad_for",
    "should_interrupt",
    "task_path_str",
]


#: Pending-write kinds that never reach a channel.
SKIP_CHANNELS = frozenset((*RESERVED, KEYED_RESUME, ERROR_SOURCE, KEPT))


def increment(current: int | None, channel: Any = None) -> int:
    """The default channel version: an integer counter."""
    return 1 if current is None else current + 1


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
    bump_step = False
    versions = checkpoint["channel_versions"]
    versions_seen = checkpoint["versions_seen"]
    read: set[str] = set()  # the channels that triggered a task
    for task in tasks:
        seen = versions_seen.setdefault(task.name, {})
        for chan in task.triggers:
            bump_step = True
            if chan in versions:
                seen[chan] = versions[chan]
            if chan not in RESERVED and chan in channels:
                read.add(chan)
    next_version = (
        None
        if get_next_version is None
        else get_next_version(max(versions.values()) if versions else None, None)
    )
    # Consume the channels that were read (a join resets, a deferred trigger clears).
    for chan in read:
        if channels[chan].consume() and next_version is not None:
            versions[chan] = next_version
    updated = _write_channels(channels, versions, tasks, next_version)
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


def _write_channels(
    channels: Mapping[str, Channel],
    versions: dict[str, Any],
    tasks: Sequence[Any],
    next_version: Any,
) -> set[str]:
    """Apply the tasks' writes, all of a channel's at once; return the channels that changed
    and have a value."""
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
    return updated


def _path_key(task: Any) -> str:
    return task_path_str(task.path[:3])


def _writers(tasks: Sequence[Any], chan: str) -> list[str]:
    """The names of the tasks that wrote ``chan`` (for an error message)."""
    return [t.name for t in tasks for c, _ in t.writes if c == chan]


@dataclass(frozen=True, slots=True)
class ChannelKinds:
    """Which channels can change without a write: at a new step (``volatile``: ephemeral
    values, topics) or when the run is about to finish (``finishing``: deferred nodes); and
    which are never checkpointed (``untracked``)."""

    volatile: tuple[str, ...]
    finishing: tuple[str, ...]
    untracked: frozenset[str] = frozenset()

    @classmethod
    def of(cls, channels: Mapping[str, Channel]) -> ChannelKinds:
        """Classify ``channels`` (a channel of an unknown kind is in both)."""
        plain = (LastValue, BinaryOperatorAggregate, NamedBarrierValue, UntrackedValue)
        deferred = (LastValueAfterFinish, NamedBarrierValueAfterFinish)
        per_step = (EphemeralValue, Topic, AnyValue)
        volatile = tuple(k for k, c in channels.items() if type(c) not in (*plain, *deferred))
        finishing = tuple(k for k, c in channels.items() if type(c) not in (*plain, *per_step))
        untracked = frozenset(k for k, c in channels.items() if isinstance(c, UntrackedValue))
        return cls(volatile, finishing, untracked)


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


def output_skip(chan: str) -> bool:
    """Whether a pending write of this kind is kept out of ``updates`` output."""
    return chan in (ERROR, INTERRUPT, NO_WRITES, RETURN)
