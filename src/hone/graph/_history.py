"""Reading and editing a thread's checkpoints: get_state, get_state_history, update_state."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hone.checkpoint._protocol import CheckpointTuple
from hone.errors import ConfigError, InvalidUpdateError
from hone.graph._loop import Run
from hone.graph._task import Task, finish_task, input_task
from hone.graph._types import END, START, Interrupt, RunConfig, StateSnapshot, TaskInfo

if TYPE_CHECKING:
    from hone.checkpoint import Checkpointer
    from hone.graph._compiled import CompiledGraph

__all__ = ["get_state", "get_state_history", "update_state"]


def _saver(graph: CompiledGraph, config: RunConfig, what: str) -> Checkpointer:
    if graph.checkpointer is None:
        raise ConfigError(f"{what} needs a checkpointer: compile(checkpointer=InMemorySaver())")
    if config.thread_id is None:
        raise ConfigError(f'{what} needs a thread id: {{"configurable": {{"thread_id": ...}}}}')
    return graph.checkpointer


def _run(graph: CompiledGraph, config: RunConfig) -> Run:
    return Run(
        graph,
        config.with_(checkpoint_id=None),
        modes=frozenset(),
        events=None,
        interrupt_before=frozenset(),
        interrupt_after=frozenset(),
        parent=None,
    )


def snapshot(graph: CompiledGraph, saved: CheckpointTuple) -> StateSnapshot:
    """The snapshot of one stored checkpoint: values, next tasks and their interrupts."""
    cp = saved.checkpoint
    run = _run(graph, RunConfig(thread_id=cp.thread_id, checkpoint_ns=cp.ns))
    run._restore(saved, reuse_writes=True)
    waiting: dict[str, list[Interrupt]] = {}
    for record in run.pending_interrupts.values():
        if record["id"] not in run.resume:
            waiting.setdefault(record["task_id"], []).append(
                Interrupt(record["value"], record["id"])
            )
    tasks: list[TaskInfo] = []
    for task in run.plan():
        written = run.saved_writes.get(task.id)
        if written is not None:
            task.writes = written
        sub = None
        if task.node.subgraph is not None:
            segment = f"{task.name}:{task.id}"
            sub = RunConfig(
                thread_id=cp.thread_id, checkpoint_ns=f"{cp.ns}|{segment}" if cp.ns else segment
            )
        tasks.append(
            TaskInfo(
                id=task.id,
                name=task.name,
                path=task.path,
                interrupts=tuple(waiting.get(task.id, ())),
                state=sub,
                result=task.update_of_writes(graph.channels) if written is not None else None,
            )
        )
    parent = (
        RunConfig(thread_id=cp.thread_id, checkpoint_ns=cp.ns, checkpoint_id=cp.parent_id)
        if cp.parent_id
        else None
    )
    return StateSnapshot(
        values={k: run.state[k] for k in graph.state_spec.keys if k in run.state},
        next=tuple(t.name for t in tasks),
        config=RunConfig(thread_id=cp.thread_id, checkpoint_ns=cp.ns, checkpoint_id=cp.id),
        metadata=cp.metadata,
        created_at=cp.created_at,
        parent_config=parent,
        tasks=tuple(tasks),
        interrupts=tuple(i for t in tasks for i in t.interrupts),
    )


def get_state(graph: CompiledGraph, config: RunConfig) -> StateSnapshot:
    """See :meth:`CompiledGraph.get_state`."""
    saver = _saver(graph, config, "get_state()")
    assert config.thread_id is not None
    saved = saver.get(config.thread_id, config.checkpoint_ns, config.checkpoint_id)
    if saved is None:
        return StateSnapshot({}, (), config, {}, None, None)
    return snapshot(graph, saved)


def get_state_history(
    graph: CompiledGraph,
    config: RunConfig,
    *,
    limit: int | None,
    before: RunConfig | Mapping[str, Any] | None,
) -> Iterator[StateSnapshot]:
    """See :meth:`CompiledGraph.get_state_history`."""
    saver = _saver(graph, config, "get_state_history()")
    assert config.thread_id is not None
    before_id = RunConfig.of(before).checkpoint_id if before is not None else None
    for saved in saver.list(config.thread_id, config.checkpoint_ns, before=before_id, limit=limit):
        yield snapshot(graph, saved)


def _last_node(run: Run) -> str:
    # The node that ran last is the one that saw the newest channel versions.
    best: dict[str, int] = {
        node: max(seen.values(), default=0)
        for node, seen in run.seen.items()
        if node in run.graph.nodes
    }
    if not best:
        return START
    top = max(best.values())
    names = sorted(n for n, v in best.items() if v == top)
    if len(names) > 1:
        raise InvalidUpdateError(
            f"ambiguous update: nodes {names} ran last; pass as_node= to say which node the "
            f"update comes from"
        )
    return names[0]


def update_state(
    graph: CompiledGraph, config: RunConfig, values: Any, as_node: str | None
) -> RunConfig:
    """See :meth:`CompiledGraph.update_state`."""
    saver = _saver(graph, config, "update_state()")
    assert config.thread_id is not None
    saved = saver.get(config.thread_id, config.checkpoint_ns, config.checkpoint_id)
    run = _run(graph, config)
    forking = False
    if saved is None:
        run._reset()
    else:
        run._restore(saved, reuse_writes=False)
        if config.checkpoint_id is not None:
            latest = saver.get(config.thread_id, config.checkpoint_ns)
            forking = latest is not None and latest.checkpoint.id != config.checkpoint_id
    node = _last_node(run) if as_node is None else as_node
    if node == START:
        task = input_task(run, values)
    elif node == END or node in graph.nodes:
        spec = graph.nodes[node] if node != END else graph.start_node
        fired = tuple(t for t in run.triggers if graph.trigger_of.get(t, ("",))[0] == node)
        task = Task("", node, ("update",), spec, fired, run.step + 1)
        if node == END:
            task.node = _no_edges(spec)
        finish_task(run, task, values)
    else:
        raise InvalidUpdateError(
            f"update_state(as_node={node!r}): no such node; known: {sorted(graph.nodes)}"
        )
    run.commit([task], source="fork" if forking else "update", consume=False)
    return run.snapshot_config()


def _no_edges(spec: Any) -> Any:
    from dataclasses import replace

    return replace(spec, edge_writes=(), branches=())


def iso(ts: float | None) -> str | None:
    """A timestamp as ISO 8601 (for display)."""
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC).isoformat()
