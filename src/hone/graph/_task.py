"""A task of a super-step: a node (or a ``Send`` packet, or a functional-API call) with its
input and the writes it produced; and :class:`PlanContext`, what planning tasks needs. A
task's config and scratchpad (its interrupt answers) are built on first use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from hone.graph._constants import NULL_TASK_ID, RESUME, TASK_ID_KEY
from hone.graph._context import Scratchpad
from hone.graph._interrupt import KEYED_RESUME, interrupt_id
from hone.graph._types import CachePolicy, RetryPolicy, TimeoutPolicy

if TYPE_CHECKING:
    from hone.graph._channels import Channel
    from hone.graph._compile import Node
    from hone.graph._state import ManagedValue

__all__ = ["Call", "PlanContext", "Task", "scratchpad_for"]


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
        # A functional-API call's path ends with LangGraph's "call" flag.
        "langgraph_path": (*task.path[:3], True) if task.call is not None else task.path[:3],
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
    # As LangGraph's: the run's own run_id and run_name named the runs above; a node's
    # config carries neither.
    return {
        **{
            k: v
            for k, v in ctx.config.items()
            if k not in ("configurable", "metadata", "run_id", "run_name")
        },
        "tags": list(ctx.config.get("tags") or ()),
        "metadata": metadata,
        "configurable": configurable,
    }


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
