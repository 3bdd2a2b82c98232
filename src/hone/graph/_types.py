"""The values a graph program exchanges with the runtime: commands, sends, interrupts,
retry policies, run configuration and state snapshots."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, ClassVar, Generic, Literal, TypeAlias, TypeVar

__all__ = [
    "END",
    "START",
    "Command",
    "Interrupt",
    "RetryPolicy",
    "RunConfig",
    "Send",
    "StateSnapshot",
    "StreamMode",
    "TaskInfo",
    "default_retry_on",
]

#: The virtual node a graph starts from.
START = "__start__"
#: The virtual node a graph ends at.
END = "__end__"

StreamMode: TypeAlias = Literal["values", "updates", "messages", "custom", "debug"]
STREAM_MODES: frozenset[str] = frozenset(("values", "updates", "messages", "custom", "debug"))

N = TypeVar("N")


@dataclass(frozen=True, slots=True)
class Send:
    """Run ``node`` once with ``arg`` as its input (not the graph state): map-reduce fan-out.

    Return a list of sends from a conditional edge's router (or in ``Command.goto``); each one
    becomes its own task in the next super-step. Their updates fan in through reducers.
    """

    node: str
    arg: Any


@dataclass(frozen=True, slots=True)
class Command(Generic[N]):
    """What a node can return instead of a plain update: update the state, go to nodes,
    resume an interrupt, or act on the parent graph.

    Annotate a node ``-> Command[Literal["a", "b"]]`` so compile() knows where it may go.
    """

    #: None for this graph; :attr:`PARENT` for the graph that runs this one as a subgraph.
    graph: str | None = None
    #: A state update: a dict (or a sequence of ``(key, value)`` pairs).
    update: Any = None
    #: The value(s) for pending ``interrupt()`` calls: one value, or ``{interrupt_id: value}``.
    resume: Any = None
    #: Node name(s) or :class:`Send` to run next.
    goto: str | Send | Sequence[str | Send] = ()

    PARENT: ClassVar[str] = "__parent__"

    def update_items(self) -> list[tuple[str, Any]]:
        """The update as ``(key, value)`` pairs."""
        if self.update is None:
            return []
        if isinstance(self.update, Mapping):
            return list(self.update.items())
        if isinstance(self.update, list | tuple):
            return [(k, v) for k, v in self.update]
        from hone.graph._state import object_update

        return object_update(self.update)

    def goto_items(self) -> list[str | Send]:
        """``goto`` as a list."""
        if isinstance(self.goto, str | Send):
            return [self.goto]
        return list(self.goto)


@dataclass(frozen=True, slots=True)
class Interrupt:
    """A question a node asked with ``interrupt(value)``; resume it by ``id``."""

    value: Any
    id: str


_NO_RETRY: tuple[type[BaseException], ...] = (
    ValueError,
    TypeError,
    ArithmeticError,
    ImportError,
    LookupError,
    NameError,
    SyntaxError,
    RuntimeError,
    ReferenceError,
    StopIteration,
    StopAsyncIteration,
)


def default_retry_on(exc: BaseException) -> bool:
    """Retry network-ish failures; never programming errors (``ValueError``, ``KeyError``...)."""
    if isinstance(exc, ConnectionError | TimeoutError):
        return True
    return not isinstance(exc, (*_NO_RETRY, OSError))


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How to retry a failing node: ``max_attempts`` in all, with exponential backoff."""

    initial_interval: float = 0.5
    backoff_factor: float = 2.0
    max_interval: float = 128.0
    max_attempts: int = 3
    jitter: bool = True
    #: Exception types to retry, or a predicate on the exception.
    retry_on: (
        type[BaseException] | Sequence[type[BaseException]] | Callable[[BaseException], bool]
    ) = default_retry_on

    def should_retry(self, exc: BaseException, attempt: int) -> bool:
        """Whether to retry after the ``attempt``-th (1-based) failure with ``exc``."""
        if attempt >= self.max_attempts:
            return False
        on = self.retry_on
        if isinstance(on, type):
            return isinstance(exc, on)
        if isinstance(on, Sequence):
            return isinstance(exc, tuple(on))
        return bool(on(exc))

    def delay(self, attempt: int) -> float:
        """Seconds to wait after the ``attempt``-th (1-based) failure."""
        base = min(self.max_interval, self.initial_interval * self.backoff_factor ** (attempt - 1))
        return base + (random.uniform(0, 1) if self.jitter else 0.0)


_CONFIG_KEYS = (
    "configurable",
    "recursion_limit",
    "tags",
    "metadata",
    "run_name",
    "max_concurrency",
)


@dataclass(frozen=True, slots=True)
class RunConfig(Mapping[str, Any]):
    """How to run a graph: which thread and checkpoint, limits, tags.

    Accepted wherever LangGraph's config dict is; :meth:`of` reads that dict shape
    (``{"configurable": {"thread_id": ...}, "recursion_limit": ...}``). It also reads like that
    dict (``config["configurable"]["thread_id"]``) for programs written against LangGraph.
    """

    thread_id: str | None = None
    checkpoint_id: str | None = None
    checkpoint_ns: str = ""
    #: The most super-steps one run may take.
    recursion_limit: int = 25
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)
    #: Other user keys of ``configurable`` (user id, model choice, ...).
    configurable: Mapping[str, Any] = field(default_factory=dict)
    run_name: str | None = None
    #: At most this many tasks of one super-step run at once (None: no limit).
    max_concurrency: int | None = None
    #: Inside a node: the id of the running task (stable across retries and resumes).
    task_id: str | None = None

    @classmethod
    def of(cls, config: RunConfig | Mapping[str, Any] | None) -> RunConfig:
        """A RunConfig from a RunConfig, a LangGraph-style config dict, or None."""
        if config is None:
            return _DEFAULT_CONFIG
        if isinstance(config, RunConfig):
            return config
        conf = dict(config.get("configurable") or {})
        thread_id = conf.pop("thread_id", None)
        task_id = conf.pop("task_id", None)
        return cls(
            thread_id=None if thread_id is None else str(thread_id),
            checkpoint_id=conf.pop("checkpoint_id", None),
            checkpoint_ns=conf.pop("checkpoint_ns", "") or "",
            recursion_limit=int(config.get("recursion_limit", 25)),
            tags=tuple(config.get("tags") or ()),
            metadata=dict(config.get("metadata") or {}),
            configurable=conf,
            run_name=config.get("run_name"),
            max_concurrency=config.get("max_concurrency"),
            task_id=task_id,
        )

    def with_(self, **changes: Any) -> RunConfig:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def _configurable(self) -> dict[str, Any]:
        out = dict(self.configurable)
        if self.thread_id is not None:
            out["thread_id"] = self.thread_id
        out["checkpoint_ns"] = self.checkpoint_ns
        if self.checkpoint_id is not None:
            out["checkpoint_id"] = self.checkpoint_id
        if self.task_id is not None:
            out["task_id"] = self.task_id
        return out

    def __getitem__(self, key: str) -> Any:
        if key == "configurable":
            return self._configurable()
        if key in _CONFIG_KEYS:
            return getattr(self, key)
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        return iter(_CONFIG_KEYS)

    def __len__(self) -> int:
        return len(_CONFIG_KEYS)

    def to_dict(self) -> dict[str, Any]:
        """The LangGraph-style config dict."""
        return {key: self[key] for key in _CONFIG_KEYS}


_DEFAULT_CONFIG = RunConfig()


@dataclass(frozen=True, slots=True)
class TaskInfo:
    """A task of the next super-step, as :class:`StateSnapshot` shows it."""

    id: str
    name: str
    path: tuple[Any, ...] = ()
    #: ``"ExceptionType: message"`` when the task failed on this checkpoint.
    error: str | None = None
    interrupts: tuple[Interrupt, ...] = ()
    #: When the task runs a subgraph: the config of its checkpoints, or its snapshot when
    #: ``get_state(..., subgraphs=True)`` was asked for a task that has not finished.
    state: RunConfig | StateSnapshot | None = None
    #: The task's update when it already finished (a parallel sibling interrupted).
    result: Any = None


@dataclass(frozen=True, slots=True)
class StateSnapshot:
    """The state of a thread at one checkpoint."""

    values: dict[str, Any]
    #: Nodes that run in the next super-step.
    next: tuple[str, ...]
    config: RunConfig
    metadata: Mapping[str, Any]
    created_at: float | None
    parent_config: RunConfig | None
    tasks: tuple[TaskInfo, ...] = ()
    interrupts: tuple[Interrupt, ...] = ()
