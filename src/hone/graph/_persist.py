"""Checkpoint I/O of a run: restoring a saved checkpoint with its pending writes, and
committing a super-step's writes as a new checkpoint."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hone.checkpoint._protocol import Checkpoint, CheckpointTuple, new_checkpoint_id
from hone.graph._channels import MISSING
from hone.graph._resume import ALIAS, CACHED, ERROR, INTERRUPT, RESUME
from hone.graph._stream import debug_event
from hone.graph._task import SENDS, Task

if TYPE_CHECKING:
    from hone.graph._loop import Run

__all__ = ["commit", "reset", "restore"]


def reset(run: Run) -> None:
    """Start from an empty state: channel defaults, no triggers, no checkpoint."""
    run.state = {}
    for key, channel in run.channels.items():
        initial = channel.initial()
        if initial is not MISSING:
            run.state[key] = initial
    run.triggers, run.versions, run.seen = {}, {}, {}
    run.checkpoint_id, run.step, run.saved_writes, run.cached = "", -2, {}, {}


def restore(run: Run, saved: CheckpointTuple, *, reuse_writes: bool) -> None:
    """Load a saved checkpoint into the run, with its pending writes (task results only when
    ``reuse_writes``: not when forking from an older checkpoint)."""
    cp = saved.checkpoint
    run.checkpoint_id, run.step = cp.id, cp.step
    run.state, run.triggers = {}, {}
    for key, value in cp.channel_values.items():
        if key in run.channels:
            run.state[key] = value
        elif key.startswith("join:"):
            run.triggers[key] = set(value)
        else:
            run.triggers[key] = value
    run.versions = dict(cp.channel_versions)
    run.seen = {k: dict(v) for k, v in cp.versions_seen.items()}
    run.saved_writes, run.aliases, run.errors, run.cached = {}, {}, {}, {}
    for write in sorted(saved.pending_writes, key=lambda w: (w.task_id, w.idx)):
        if write.channel == RESUME:
            run.resume.setdefault(write.value["id"], write.value["value"])
        elif write.channel == INTERRUPT:
            run.pending_interrupts[write.task_id] = write.value
        elif write.channel == ALIAS:
            run.aliases[write.task_id] = write.value
        elif write.channel == ERROR:
            run.errors[write.task_id] = f"{write.value['type']}: {write.value['message']}"
        elif write.channel == CACHED:
            if reuse_writes:
                record = write.value
                run.cached[(record["task_id"], record["key"])] = record["value"]
        elif reuse_writes:
            writes = run.saved_writes.setdefault(write.task_id, [])
            if write.channel != "__no_writes__":
                writes.append((write.channel, write.value))


def commit(run: Run, tasks: list[Task], *, source: str, consume: bool) -> None:
    """Apply the tasks' writes at once (in task order) and save a checkpoint."""
    state, triggers = dict(run.state), dict(run.triggers)
    if consume:
        triggers.pop(SENDS, None)
    for task in tasks:
        for channel in task.triggers:
            triggers.pop(channel, None)
    grouped: dict[str, list[Any]] = {}
    writers: dict[str, list[str]] = {}
    for task in tasks:
        for channel, value in task.writes:
            if channel in grouped:
                grouped[channel].append(value)
                writers[channel].append(task.name)
            else:
                grouped[channel] = [value]
                writers[channel] = [task.name]
    channels = run.channels
    for channel, values in grouped.items():
        spec = channels.get(channel)
        if spec is not None:
            state[channel] = spec.apply(state.get(channel, MISSING), values, writers[channel])
        elif channel == SENDS:
            triggers[SENDS] = [*triggers.get(SENDS, ()), *values]
        elif channel.startswith("join:"):
            triggers[channel] = set(triggers.get(channel, ())) | set(values)
        else:
            triggers[channel] = True
    for key in run.graph.ephemeral_keys:
        if key not in grouped:
            state.pop(key, None)
    run.state, run.triggers = state, triggers
    run.step = run.step + 1 if run.step > -2 else -1
    _save(run, source, grouped, tasks)
    if "values" in run.modes:
        run.emit("values", run.output_values())


def _save(run: Run, source: str, updated: dict[str, list[Any]], tasks: list[Task]) -> None:
    parent_id = run.checkpoint_id or None
    run.saved_writes, run.aliases, run.cached = {}, {}, {}
    if run.saver is None:
        # Nothing is stored: an id unique within this run keeps task ids unique.
        run.checkpoint_id = f"{run.id_prefix}{run.step}"
        return
    run.checkpoint_id = new_checkpoint_id()
    versions = dict(run.versions)
    for channel in updated:
        versions[channel] = versions.get(channel, 0) + 1
    seen = dict(run.seen)
    for task in tasks:
        if task.triggers:
            seen[task.name] = {
                **seen.get(task.name, {}),
                **{c: versions.get(c, 0) for c in task.triggers},
            }
    run.versions, run.seen = versions, seen
    values = dict(run.state)
    for key, value in run.triggers.items():
        values[key] = sorted(value) if key.startswith("join:") else value
    assert run.thread_id is not None
    checkpoint = Checkpoint(
        id=run.checkpoint_id,
        thread_id=run.thread_id,
        ns=run.ns,
        parent_id=parent_id,
        step=run.step,
        source=source,  # type: ignore[arg-type]
        channel_values=values,
        channel_versions=versions,
        versions_seen=seen,
        metadata={"source": source, "step": run.step, **run.config.metadata},
    )
    with run.saver_lock:
        run.saver.put(checkpoint, new_versions={c: versions[c] for c in updated})
    if "debug" in run.modes:
        payload = {
            "config": run.snapshot_config(),
            "values": run.output_values(),
            "metadata": checkpoint.metadata,
            "next": [t.name for t in run.plan()],
        }
        run.emit("debug", debug_event("checkpoint", run.step, payload))
