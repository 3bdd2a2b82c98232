"""Reading and editing a thread's checkpoints: get_state, get_state_history, update_state."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from hone.checkpoint._protocol import CheckpointTuple
from hone.errors import CheckpointNotFoundError, ConfigError, InvalidUpdateError
from hone.graph._loop import Run
from hone.graph._persist import commit, reset, restore
from hone.graph._resume import carry_interrupts
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


def snapshot(
    graph: CompiledGraph,
    saved: CheckpointTuple,
    *,
    saver: Checkpointer | None = None,
    subgraphs: bool = False,
) -> StateSnapshot:
    """The snapshot of one stored checkpoint: values, next tasks and their interrupts; with
    ``subgraphs`` (and the ``saver``), a pending subgraph task's state is its own snapshot."""
    cp = saved.checkpoint
    run = _run(graph, RunConfig(thread_id=cp.thread_id, checkpoint_ns=cp.ns))
    restore(run, saved, reuse_writes=True)
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
        sub: RunConfig | StateSnapshot | None = None
        if task.node.subgraph is not None:
            segment = f"{task.name}:{task.id}"
            sub = RunConfig(
                thread_id=cp.thread_id, checkpoint_ns=f"{cp.ns}|{segment}" if cp.ns else segment
            )
            if subgraphs and saver is not None and written is None:
                sub = _sub_snapshot(
                    task.node.subgraph, task.node.subgraph.checkpointer or saver, sub
                )
        tasks.append(
            TaskInfo(
                id=task.id,
                name=task.name,
                path=task.path,
                error=run.errors.get(task.id),
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


def _sub_snapshot(subgraph: CompiledGraph, saver: Checkpointer, config: RunConfig) -> StateSnapshot:
    assert config.thread_id is not None
    saved = saver.get(config.thread_id, config.checkpoint_ns)
    if saved is None:
        return StateSnapshot({}, (), config, {}, None, None)
    return snapshot(subgraph, saved, saver=saver, subgraphs=True)


def graph_of_namespace(
    graph: CompiledGraph, ns: str
) -> tuple[CompiledGraph, Checkpointer | None, str]:
    """The (sub)graph whose checkpoints live in namespace ``ns`` ("" is ``graph`` itself), the
    saver that holds them (a subgraph's own checkpointer, else its parent's), and the
    namespace. A node's own config names its task in a last segment; that segment is dropped,
    so ``get_state(get_config())`` inside a node gives the state of the graph running it.

    Raises:
        ConfigError: a namespace segment names no subgraph node.
    """
    saver = graph.checkpointer
    segments = ns.split("|") if ns else []
    for index, segment in enumerate(segments):
        name = segment.split(":", 1)[0]
        node = graph.nodes.get(name)
        if node is not None and node.subgraph is None and index == len(segments) - 1:
            return graph, saver, "|".join(segments[:index])
        if node is None or node.subgraph is None:
            raise ConfigError(
                f"checkpoint namespace {ns!r}: {name!r} is not a subgraph node of this graph; "
                f"use the config from StateSnapshot.tasks[i].state"
            )
        graph = node.subgraph
        saver = graph.checkpointer or saver
    return graph, saver, ns


def _locate(
    graph: CompiledGraph, config: RunConfig, what: str
) -> tuple[CompiledGraph, Checkpointer, RunConfig]:
    """The graph, saver and config (namespace normalised) that ``config`` names."""
    _saver(graph, config, what)
    target, saver, ns = graph_of_namespace(graph, config.checkpoint_ns)
    assert saver is not None  # the root has one (checked above); subgraphs inherit it
    return target, saver, config.with_(checkpoint_ns=ns)


def get_state(graph: CompiledGraph, config: RunConfig, *, subgraphs: bool = False) -> StateSnapshot:
    """See :meth:`CompiledGraph.get_state`."""
    target, saver, config = _locate(graph, config, "get_state()")
    assert config.thread_id is not None
    saved = saver.get(config.thread_id, config.checkpoint_ns, config.checkpoint_id)
    if saved is None:
        return StateSnapshot({}, (), config, {}, None, None)
    return snapshot(target, saved, saver=saver, subgraphs=subgraphs)


def get_state_history(
    graph: CompiledGraph,
    config: RunConfig,
    *,
    limit: int | None,
    before: RunConfig | Mapping[str, Any] | None,
) -> Iterator[StateSnapshot]:
    """See :meth:`CompiledGraph.get_state_history`."""
    target, saver, config = _locate(graph, config, "get_state_history()")
    assert config.thread_id is not None
    before_id = RunConfig.of(before).checkpoint_id if before is not None else None
    for saved in saver.list(config.thread_id, config.checkpoint_ns, before=before_id, limit=limit):
        yield snapshot(target, saved)


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
    """See :meth:`CompiledGraph.update_state`.

    Like LangGraph, the update is a new checkpoint one step on, as if ``as_node`` had run:
    its writes and edges decide what runs next. A task interrupted on the old checkpoint that
    still runs next (the update came "as" another node) keeps its pending interrupt, with the
    same id and any answers already given, so ``Command(resume=...)`` still answers it; an
    update as the interrupted node itself stands in for that node, so its interrupt is dropped.

    Raises:
        CheckpointNotFoundError: ``config`` names a checkpoint the thread does not have.
        InvalidUpdateError: an unknown ``as_node``, an ambiguous last node, or values the
            schema rejects.
    """
    graph, saver, config = _locate(graph, config, "update_state()")
    assert config.thread_id is not None
    saved = saver.get(config.thread_id, config.checkpoint_ns, config.checkpoint_id)
    if saved is None and config.checkpoint_id is not None:
        raise CheckpointNotFoundError(
            f"thread {config.thread_id!r} has no checkpoint {config.checkpoint_id!r} in "
            f"namespace {config.checkpoint_ns!r}; update_state() needs an existing checkpoint"
        )
    run = _run(graph, config)
    run.saver = saver  # a subgraph's checkpoints live in its parent's saver
    forking = False
    if saved is None:
        reset(run)
    else:
        restore(run, saved, reuse_writes=False)
        if config.checkpoint_id is not None:
            latest = saver.get(config.thread_id, config.checkpoint_ns)
            forking = latest is not None and latest.checkpoint.id != config.checkpoint_id
    before = run.plan()
    task = _update_task(graph, run, values, as_node)
    commit(run, [task], source="fork" if forking else "update", consume=False)
    carry_interrupts(run, before)
    return run.snapshot_config()


def _update_task(graph: CompiledGraph, run: Run, values: Any, as_node: str | None) -> Task:
    node = _last_node(run) if as_node is None else as_node
    if node == START:
        return input_task(run, values)
    if node != END and node not in graph.nodes:
        raise InvalidUpdateError(
            f"update_state(as_node={node!r}) on thread {run.thread_id!r}: no such node; "
            f"known: {sorted(graph.nodes)}"
        )
    spec = graph.nodes[node] if node != END else graph.start_node
    fired = tuple(t for t in run.triggers if graph.trigger_of.get(t, ("",))[0] == node)
    task = Task("", node, ("update",), spec, fired, run.step + 1)
    if node == END:
        task.node = _no_edges(spec)
    finish_task(run, task, values)
    return task


def _no_edges(spec: Any) -> Any:
    from dataclasses import replace

    return replace(spec, edge_writes=(), branches=())


def iso(ts: float | None) -> str | None:
    """A timestamp as ISO 8601 (for display)."""
    return None if ts is None else datetime.fromtimestamp(ts, tz=UTC).isoformat()
