"""The values a graph program exchanges with the runtime: commands, sends, interrupts,
policies (retry, cache, timeout), run configuration and state snapshots.

They follow LangGraph's shapes field by field, so programs written against LangGraph read and
compare them unchanged (``StateSnapshot`` and ``TaskInfo`` are named tuples, configs are plain
dicts).
"""

from __future__ import annotations

import pickle
import warnings
from collections.abc import Callable, Hashable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from datetime import timedelta
from typing import Any, ClassVar, Generic, Literal, NamedTuple, TypeAlias, TypeVar

from hone._retry import RetryPolicy, default_retry_on
from hone.graph._constants import END, START

__all__ = [
    "END",
    "START",
    "All",
    "CachePolicy",
    "Command",
    "Durability",
    "GraphOutput",
    "Interrupt",
    "Overwrite",
    "RetryPolicy",
    "RunConfig",
    "Send",
    "StateSnapshot",
    "StateUpdate",
    "StreamMode",
    "StreamWriter",
    "TaskInfo",
    "TimeoutPolicy",
    "TracePolicy",
    "default_cache_key",
    "default_retry_on",
    "merge_parent_commands",
    "omit_payload",
]

StreamMode: TypeAlias = Literal[
    "values", "updates", "checkpoints", "tasks", "debug", "messages", "custom", "tools"
]
STREAM_MODES: frozenset[str] = frozenset(
    ("values", "updates", "checkpoints", "tasks", "debug", "messages", "custom", "tools")
)
#: When checkpoints are written: before the next step starts ("sync"), while it runs
#: ("async", the default) or only when the run ends ("exit").
Durability: TypeAlias = Literal["sync", "async", "exit"]
#: ``interrupt_before="*"``: every node.
All: TypeAlias = Literal["*"]
#: What ``get_stream_writer()`` returns and a ``writer`` parameter receives.
StreamWriter: TypeAlias = Callable[[Any], None]

N = TypeVar("N", bound=Hashable)


# ----------------------------------------------------------------------------- control


@dataclass(frozen=True, slots=True, eq=False)
class Send:
    """Run ``node`` once with ``arg`` as its input (not the graph state): map-reduce fan-out.

    Return sends from a conditional edge's router (or put them in ``Command.goto``); each one
    becomes its own task in the next super-step and its updates fan in through reducers.
    ``timeout`` overrides the node's timeout policy for this one task.
    """

    node: str
    arg: Any
    timeout: TimeoutPolicy | float | timedelta | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        if self.timeout is not None and not isinstance(self.timeout, TimeoutPolicy):
            object.__setattr__(self, "timeout", TimeoutPolicy.coerce(self.timeout))

    def __hash__(self) -> int:
        return hash((self.node, self.arg, self.timeout))

    def __repr__(self) -> str:
        if self.timeout is None:
            return f"Send(node={self.node!r}, arg={self.arg!r})"
        return f"Send(node={self.node!r}, arg={self.arg!r}, timeout={self.timeout!r})"

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, Send)
            and self.node == other.node
            and self.arg == other.arg
            and self.timeout == other.timeout
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Command(Generic[N]):
    """What a node can return instead of a plain update: update the state, go to nodes,
    resume interrupts, or act on the parent graph.

    Annotate a node ``-> Command[Literal["a", "b"]]`` so compile() knows where it may go.
    """

    #: None for this graph; :attr:`PARENT` for the graph that runs this one as a subgraph.
    graph: str | None = None
    #: A state update: a dict, a sequence of ``(key, value)`` pairs, or a schema instance.
    update: Any | None = None
    #: The answer(s) for pending ``interrupt()`` calls: one value, or ``{interrupt_id: value}``.
    resume: dict[str, Any] | Any | None = None
    #: Node name(s) or :class:`Send` packets to run next.
    goto: Send | Sequence[Send | N] | N = ()

    PARENT: ClassVar[Literal["__parent__"]] = "__parent__"

    def __repr__(self) -> str:
        shown = ", ".join(f"{f.name}={v!r}" for f in fields(self) if (v := getattr(self, f.name)))
        return f"Command({shown})"

    def update_items(self) -> list[tuple[str, Any]]:
        """The update as ``(key, value)`` pairs (a non-dict, non-schema update is the root
        value, key ``__root__``)."""
        from hone.graph._state import update_pairs

        update = self.update
        if update is None:
            return []
        if isinstance(update, dict):
            return list(update.items())
        if isinstance(update, list | tuple) and all(
            isinstance(t, tuple) and len(t) == 2 and isinstance(t[0], str) for t in update
        ):
            return list(update)
        pairs = update_pairs(update)
        if pairs is not None:
            return pairs
        return [("__root__", update)]

    def goto_items(self) -> list[Any]:
        """``goto`` as a list."""
        goto: Any = self.goto
        if isinstance(goto, str | Send):
            return [goto]
        return list(goto)


def merge_parent_commands(commands: list[Command[Any]]) -> Command[Any]:
    """Commands for the parent graph as one: every update, then every goto, in order."""
    if len(commands) == 1:
        return commands[0]
    update = [item for c in commands for item in c.update_items()]
    goto = [target for c in commands for target in c.goto_items()]
    return Command(graph=Command.PARENT, update=update or None, goto=goto)


@dataclass(slots=True)
class Overwrite:
    """Write a value to a key with a reducer *replacing* it instead of reducing into it.

    ``{"messages": Overwrite(["only this"])}``; two overwrites of one key in a super-step
    are an error.
    """

    value: Any
    type: Literal["__overwrite__"] = "__overwrite__"


# ----------------------------------------------------------------------------- interrupts


@dataclass(init=False, slots=True)
class Interrupt:
    """A question a node asked with ``interrupt(value)``; resume it by ``id``.
    ``response_schema``: the JSON schema of the answer it expects, when it said (None
    otherwise)."""

    value: Any
    id: str
    response_schema: Any

    def __init__(self, value: Any, id: str = "placeholder-id", response_schema: Any = None) -> None:
        self.value = value
        self.id = id
        self.response_schema = response_schema

    @property
    def interrupt_id(self) -> str:
        """Deprecated name of :attr:`id` (LangGraph before 0.6)."""
        warnings.warn(
            "Interrupt.interrupt_id is deprecated; use Interrupt.id", DeprecationWarning, 2
        )
        return self.id


# ----------------------------------------------------------------------------- policies
# RetryPolicy and default_retry_on live in hone._retry: tools use the very same class.


def default_cache_key(*args: Any, **kwargs: Any) -> bytes:
    """The default node cache key: the pickled arguments (dicts sorted)."""
    return pickle.dumps((_freeze(args), _freeze(kwargs)), protocol=5)


def _freeze(value: Any) -> Any:
    if isinstance(value, Mapping):
        return tuple(sorted(((_freeze(k), _freeze(v)) for k, v in value.items()), key=repr))
    if isinstance(value, list | tuple):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, set | frozenset):
        return tuple(sorted((_freeze(v) for v in value), key=repr))
    return value


@dataclass(frozen=True, kw_only=True, slots=True)
class CachePolicy:
    """Cache a node's writes by its input: ``key_func(input)`` names the entry, kept for
    ``ttl`` seconds (None: forever). Needs ``compile(cache=...)``."""

    key_func: Callable[..., str | bytes] = default_cache_key
    ttl: int | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class TracePolicy:
    """What a node's own callback run records (``add_node(..., trace_policy=...)``).

    ``process_inputs(input)`` / ``process_outputs(output)`` turn the node's input / output
    into what its run reports to LangChain callback handlers and tracers (``on_chain_start``
    inputs, ``on_chain_end`` outputs): to omit or summarize a long message history, say. They
    never change what the node receives or returns, run only when the run reports to a
    handler, and fail open: a processor that raises is logged and the value is recorded as
    it is. Child runs (a model called inside the node) and the graph's own run are not
    affected, so this is not a way to redact secrets everywhere.
    """

    process_inputs: Callable[[Any], Any] | None = None
    process_outputs: Callable[[Any], Any] | None = None


def omit_payload(_value: Any) -> dict[str, Any]:
    """A :class:`TracePolicy` processor that records an empty payload: the run and its
    timing stay, the value is left out."""
    return {}


def _seconds(value: float | timedelta | None, name: str) -> float | None:
    if value is None:
        return None
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if seconds <= 0:
        raise ValueError(f"{name} must be greater than 0")
    return seconds


@dataclass(frozen=True, kw_only=True, slots=True)
class TimeoutPolicy:
    """How long an async node may run: ``run_timeout`` in all, ``idle_timeout`` without
    progress (refreshed by stream output, or only by ``runtime.heartbeat()`` with
    ``refresh_on="heartbeat"``). A node past its limit fails with ``NodeTimeoutError``."""

    run_timeout: float | timedelta | None = None
    idle_timeout: float | timedelta | None = None
    refresh_on: Literal["auto", "heartbeat"] = "auto"

    @classmethod
    def coerce(cls, value: float | timedelta | TimeoutPolicy | None) -> TimeoutPolicy | None:
        """A policy from seconds, a timedelta or a policy (None when no limit is set).

        Raises:
            ValueError: a limit that is not positive, or an unknown ``refresh_on``.
        """
        if value is None:
            return None
        policy = value if isinstance(value, TimeoutPolicy) else cls(run_timeout=value)
        if policy.refresh_on not in ("auto", "heartbeat"):
            raise ValueError("refresh_on must be 'auto' or 'heartbeat'")
        run = _seconds(policy.run_timeout, "run_timeout")
        idle = _seconds(policy.idle_timeout, "idle_timeout")
        if run is None and idle is None:
            return None
        return cls(run_timeout=run, idle_timeout=idle, refresh_on=policy.refresh_on)


def sync_timeout_error(name: str, kind: str = "Node") -> ValueError:
    """The error for a timeout on a sync node or task (it could not be cancelled)."""
    return ValueError(
        "Node timeouts are only supported for async nodes because sync Python execution "
        f"cannot be safely cancelled in-process. {kind} {name!r} is sync."
    )


# ----------------------------------------------------------------------------- config

_CONFIG_KEYS = ("configurable", "recursion_limit", "tags", "metadata", "run_name")


@dataclass(frozen=True, slots=True)
class RunConfig(Mapping[str, Any]):
    """A typed way to write a run's config: which thread and checkpoint, limits, tags.

    It is a mapping with LangGraph's config shape (``config["configurable"]["thread_id"]``),
    so it is accepted wherever a config dict is. Configs the runtime returns are plain dicts.
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

    def with_(self, **changes: Any) -> RunConfig:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def _configurable(self) -> dict[str, Any]:
        out = dict(self.configurable)
        if self.thread_id is not None:
            out["thread_id"] = self.thread_id
        if self.checkpoint_ns:
            out["checkpoint_ns"] = self.checkpoint_ns
        if self.checkpoint_id is not None:
            out["checkpoint_id"] = self.checkpoint_id
        return out

    def __getitem__(self, key: str) -> Any:
        if key == "configurable":
            return self._configurable()
        if key == "max_concurrency" and self.max_concurrency is not None:
            return self.max_concurrency
        if key in _CONFIG_KEYS:
            value = getattr(self, key)
            if value is None or value == () or value == {}:
                raise KeyError(key)
            return list(value) if key == "tags" else value
        raise KeyError(key)

    def __iter__(self) -> Iterator[str]:
        keys = [k for k in _CONFIG_KEYS if k in self]
        if self.max_concurrency is not None:
            keys.append("max_concurrency")
        return iter(keys)

    def __contains__(self, key: object) -> bool:
        try:
            self[key]  # type: ignore[index]
        except KeyError:
            return False
        return True

    def __len__(self) -> int:
        return sum(1 for _ in self)

    def to_dict(self) -> dict[str, Any]:
        """The LangGraph-style config dict."""
        return {key: self[key] for key in self}


# ----------------------------------------------------------------------------- snapshots


class TaskInfo(NamedTuple):
    """A task of the next super-step, as :class:`StateSnapshot` shows it (LangGraph's
    ``PregelTask``)."""

    id: str
    name: str
    path: tuple[Any, ...]
    #: The task's failure on this checkpoint, if it failed.
    error: Exception | None = None
    interrupts: tuple[Interrupt, ...] = ()
    #: When the task runs a subgraph: the config of its checkpoints, or its snapshot when
    #: ``get_state(..., subgraphs=True)`` was asked.
    state: Any = None
    #: The task's output when it already finished (a parallel sibling interrupted).
    result: Any | None = None


class StateSnapshot(NamedTuple):
    """The state of a thread at one checkpoint."""

    values: dict[str, Any] | Any
    #: Nodes that run in the next super-step.
    next: tuple[str, ...]
    config: dict[str, Any]
    metadata: dict[str, Any] | None
    created_at: str | None
    parent_config: dict[str, Any] | None
    tasks: tuple[TaskInfo, ...]
    interrupts: tuple[Interrupt, ...]


@dataclass(frozen=True, slots=True)
class GraphOutput:
    """What ``invoke(..., version="v2")`` returns: the output value and the interrupts the
    run stopped at."""

    value: Any
    interrupts: tuple[Interrupt, ...] = ()

    def __getitem__(self, key: str) -> Any:
        warnings.warn(
            "GraphOutput[key] is deprecated; use .value or .interrupts", DeprecationWarning, 2
        )
        if key == "__interrupt__":
            return self.interrupts
        if isinstance(self.value, dict):
            return self.value[key]
        try:
            return getattr(self.value, key)
        except AttributeError:
            raise KeyError(key) from None

    def __contains__(self, key: object) -> bool:
        warnings.warn("`key in GraphOutput` is deprecated", DeprecationWarning, 2)
        if key == "__interrupt__":
            return bool(self.interrupts)
        if isinstance(self.value, dict):
            return key in self.value
        return isinstance(key, str) and hasattr(self.value, key)


class StateUpdate(NamedTuple):
    """One update of :meth:`CompiledGraph.bulk_update_state`: values written as if node
    ``as_node`` returned them (optionally as task ``task_id``)."""

    #: The update (a dict, a schema instance, a Command; None with ``as_node=END`` clears;
    #: a list of ``(values, as_node)`` with ``as_node="__copy__"``).
    values: Any
    as_node: str | None = None
    task_id: str | None = None
