"""``CompiledGraph``: a validated graph, runnable with ``invoke``/``stream`` (sync) and
``ainvoke``/``astream`` (async), with checkpoint inspection and editing."""

from __future__ import annotations

import warnings
from collections import defaultdict
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hone.errors import ConfigError
from hone.graph._channels import Channel
from hone.graph._constants import INTERRUPT, NS_SEP, TASK_ID_KEY
from hone.graph._context import current_scope
from hone.graph._loop import Loop, recast_namespace
from hone.graph._runner import drive_async, drive_sync
from hone.graph._runtime import RunControl, Runtime, build_server_info, coerce_context
from hone.graph._settings import RunSettings
from hone.graph._stream import AsyncEvents, SyncEvents, check_modes, format_chunk

if TYPE_CHECKING:
    from hone.graph._builder import StateGraph
    from hone.graph._compile import Node
    from hone.graph._structure import GraphStructure
    from hone.graph._types import StateSnapshot

__all__ = ["CompiledGraph", "check_checkpointer", "ensure_config"]

_LIVE = frozenset(("custom", "messages"))
#: What a subgraph streams to its parent's stream when subgraphs are not streamed.
_NESTED = frozenset(("custom",))


def check_checkpointer(checkpointer: Any) -> None:
    """Accept None, True, False or a saver.

    Raises:
        TypeError: anything else.
    """
    if checkpointer in (None, True, False):
        return
    if not (hasattr(checkpointer, "get_tuple") and hasattr(checkpointer, "put")):
        raise TypeError(
            "Invalid checkpointer provided. Expected an instance of a checkpoint saver "
            "(e.g. InMemorySaver, SqliteSaver, PostgresSaver), `True`, `False`, or `None`. "
            f"Received {type(checkpointer).__name__}."
        )


#: configurable keys copied into ``metadata`` (LangGraph's allowlist).
_TO_METADATA = (
    "thread_id",
    "checkpoint_id",
    "checkpoint_ns",
    "task_id",
    "run_id",
    "assistant_id",
    "graph_id",
)
#: Keys that make a config address its own checkpoint lineage.
_COORDINATES = ("thread_id", "checkpoint_ns", "checkpoint_id", "checkpoint_map")
_CONFIG_KEYS = (
    "tags",
    "metadata",
    "callbacks",
    "run_name",
    "max_concurrency",
    "recursion_limit",
    "configurable",
    "run_id",
)


def ensure_config(
    *configs: Mapping[str, Any] | None, ambient: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """One config dict from several (later ones win; ``configurable`` and ``metadata``
    merge; tags concatenate), on top of the running node's config (``ambient``), with
    LangGraph's defaults. A config that names its own thread or checkpoint does not inherit
    the node's ``configurable``."""
    out: dict[str, Any] = {
        "tags": [],
        "metadata": {},
        "callbacks": None,
        "recursion_limit": 25,
        "configurable": {},
    }
    if ambient:
        for key, value in ambient.items():
            if value not in (None, {}, [], ()):
                out[key] = (
                    dict(value)
                    if isinstance(value, dict)
                    else (list(value) if isinstance(value, list) else value)
                )
        for config in configs:
            explicit = (config or {}).get("configurable") if config else None
            if explicit and any(explicit.get(k) not in (None, "", {}) for k in _COORDINATES):
                out["configurable"] = {}
                break
    for config in configs:
        if not config:
            continue
        items = config.to_dict().items() if hasattr(config, "to_dict") else config.items()
        for key, value in items:
            if value is None or (
                isinstance(value, dict | list) and not value and key != "configurable"
            ):
                continue
            if key == "configurable" or key == "metadata":
                out[key] = {**out[key], **value}
            elif key == "tags":
                out[key] = [*out["tags"], *value]
            elif key in _CONFIG_KEYS:
                out[key] = value
            else:
                out["configurable"][key] = value
    configurable = out["configurable"]
    metadata = out["metadata"]
    for key in _TO_METADATA:
        if key not in metadata and configurable.get(key):
            metadata[key] = configurable[key]
    return out


class CompiledGraph:
    """A runnable graph. Build one with ``StateGraph(...).compile()``."""

    def __init__(
        self,
        *,
        builder: StateGraph | None,
        channels: dict[str, Channel],
        managed: dict[str, Any],
        nodes: dict[str, Node],
        output_keys: Sequence[str] | str,
        stream_keys: Sequence[str] | str,
        checkpointer: Any,
        store: Any,
        cache: Any,
        interrupt_before: Sequence[str] | str,
        interrupt_after: Sequence[str] | str,
        debug: bool,
        name: str,
        context_schema: Any = None,
        input_schema: Any = None,
        output_schema: Any = None,
        retry_policy: tuple[Any, ...] = (),
        cache_policy: Any = None,
        stream_mode: str = "updates",
        stream_eager: bool = False,
    ) -> None:
        self.builder = builder
        self.channels = channels
        self.managed = managed
        self.nodes = nodes
        self.output_keys = output_keys
        self.stream_keys = stream_keys
        self.checkpointer = checkpointer
        self.store = store
        self.cache = cache
        self.interrupt_before_nodes = interrupt_before
        self.interrupt_after_nodes = interrupt_after
        self.debug = debug
        self.name = name
        self.context_schema = builder.context_schema if builder is not None else context_schema
        self.input_schema = builder.input_schema if builder is not None else input_schema
        self.output_schema = builder.output_schema if builder is not None else output_schema
        #: Defaults for tasks that set none (the functional API's entrypoint policies).
        self.retry_policy = retry_policy
        self.cache_policy = cache_policy
        #: The default of ``stream()``'s ``stream_mode``.
        self.stream_mode = stream_mode
        #: Stream events as they happen even in modes that do not need it.
        self.stream_eager = stream_eager
        self.config: dict[str, Any] | None = None
        #: Seconds a super-step may take (None: no limit); past it the run fails with
        #: ``TimeoutError``.
        self.step_timeout: float | None = None
        triggers: defaultdict[str, list[str]] = defaultdict(list)
        for node in nodes.values():
            for trigger in node.triggers:
                triggers[trigger].append(node.name)
        self.trigger_to_nodes: dict[str, list[str]] = dict(triggers)
        from hone.graph._algo import ChannelKinds

        self.channel_kinds = ChannelKinds.of(channels)
        self.may_goto_parent = False
        for node in nodes.values():
            if node.timeout is not None and node.callee is not None and not node.callee.is_async:
                from hone.graph._types import sync_timeout_error

                raise sync_timeout_error(node.name)

    # ------------------------------------------------------------------ setup

    def with_config(self, config: Mapping[str, Any] | None = None, **kwargs: Any) -> CompiledGraph:
        """A copy that runs with ``config`` merged into every run's config."""
        import copy

        new = copy.copy(self)
        new.config = ensure_config(self.config, config, kwargs)
        return new

    def copy(self, update: Mapping[str, Any] | None = None) -> CompiledGraph:
        """A shallow copy with some attributes replaced."""
        import copy

        new = copy.copy(self)
        for key, value in (update or {}).items():
            setattr(new, key, value)
        return new

    def get_name(self) -> str:
        """The graph's name."""
        return self.name

    def _saver_for(self, config: dict[str, Any], parent_loop: Loop | None) -> Any:
        if self.checkpointer is False:
            return None
        if parent_loop is not None:
            if self.checkpointer not in (None, True):
                return self.checkpointer
            return parent_loop.checkpointer
        if self.checkpointer is True:
            raise RuntimeError("checkpointer=True cannot be used for root graphs.")
        return self.checkpointer

    def _prepare(
        self,
        input: Any,
        config: Mapping[str, Any] | None,
        *,
        stream_mode: str | Sequence[str],
        sink: Any,
        subgraphs: bool,
        context: Any,
        output_keys: Sequence[str] | str | None,
        interrupt_before: Sequence[str] | str | None,
        interrupt_after: Sequence[str] | str | None,
        durability: str | None,
        control: RunControl | None,
        extra_modes: Sequence[str] = (),
    ) -> Loop:
        scope = current_scope()
        merged = ensure_config(self.config, config, ambient=scope.config if scope else None)
        if scope is not None and TASK_ID_KEY not in merged["configurable"]:
            scope = None  # a run of its own (its config names its thread): not a subgraph
        parent_loop = scope.loop if scope is not None else None
        if merged["recursion_limit"] < 1:
            raise ValueError("recursion_limit must be at least 1")
        modes = frozenset([*check_modes(stream_mode), *extra_modes])
        if output_keys is None:
            output_keys = self.stream_keys
        else:
            unknown = [
                k
                for k in ([output_keys] if isinstance(output_keys, str) else output_keys)
                if k not in self.channels
            ]
            if unknown:
                raise ValueError(f"output_keys {unknown} are not channels of the graph")
        saver = self._saver_for(merged, parent_loop)
        if saver is not None and not merged.get("configurable") and parent_loop is None:
            raise ValueError(
                "Checkpointer requires one or more of the following 'configurable' keys: "
                "thread_id, checkpoint_ns, checkpoint_id"
            )
        if saver is None and durability is not None and parent_loop is None:
            warnings.warn(
                "`durability` has no effect when no checkpointer is present.", stacklevel=3
            )
        if parent_loop is not None and scope is not None:
            parent_settings = parent_loop.settings
            if sink is None:
                nested_modes = (
                    parent_settings.modes
                    if parent_settings.subgraphs
                    else parent_settings.modes & _NESTED
                )
                settings = RunSettings(
                    sink=parent_settings.sink,
                    modes=nested_modes,
                    subgraphs=parent_settings.subgraphs,
                    durability=durability or parent_settings.durability,
                    runtime=parent_settings.runtime,
                    store=parent_settings.store,
                    cache=parent_settings.cache,
                    streamed=parent_settings.streamed,
                    streamed_lock=parent_settings.streamed_lock,
                )
            else:
                parent_modes = (
                    parent_settings.modes
                    if parent_settings.subgraphs
                    else parent_settings.modes & _NESTED
                )
                settings = RunSettings(
                    sink=_Duplex(sink, modes, parent_settings.sink, parent_modes),
                    modes=modes | parent_modes,
                    subgraphs=subgraphs or parent_settings.subgraphs,
                    durability=durability or parent_settings.durability,
                    runtime=parent_settings.runtime,
                    store=parent_settings.store,
                    cache=parent_settings.cache,
                    streamed=parent_settings.streamed,
                    streamed_lock=parent_settings.streamed_lock,
                )
            conf = merged["configurable"]
            ns = str(scope.config["configurable"].get("checkpoint_ns", ""))
            if self.checkpointer is True:
                ns = recast_namespace(ns)
            count = scope.scratchpad.subgraph_counter()
            if count:
                ns = f"{ns}{NS_SEP}{count}"
            conf["checkpoint_ns"] = ns
            conf.setdefault("checkpoint_id", None)
            task = scope.task
            resuming = True if getattr(task, "resuming", False) else parent_loop.child_resuming
            loop = Loop(
                self,
                input,
                merged,
                settings=settings,
                checkpointer=saver,
                interrupt_before=interrupt_before or self.interrupt_before_nodes,
                interrupt_after=interrupt_after or self.interrupt_after_nodes,
                output_keys=output_keys,
                parent=scope,
                resume_map=parent_loop.resume_map,
                resuming=resuming,
                replay=parent_loop.replay,
            )
            return loop
        configurable = merged["configurable"]
        store = self.store
        runtime = Runtime(
            context=coerce_context(self.context_schema, context),
            store=store,
            server_info=build_server_info(configurable),
            control=control or RunControl(),
        )
        settings = RunSettings(
            sink=sink,
            modes=modes,
            subgraphs=subgraphs,
            durability=durability or configurable.get("__pregel_durability") or "async",
            runtime=runtime,
            store=store,
            cache=self.cache,
        )
        if saver is None:
            settings.durability = durability or "async"
        return Loop(
            self,
            input,
            merged,
            settings=settings,
            checkpointer=saver,
            interrupt_before=interrupt_before or self.interrupt_before_nodes,
            interrupt_after=interrupt_after or self.interrupt_after_nodes,
            output_keys=output_keys,
            parent=None,
        )

    # ------------------------------------------------------------------ runs

    def stream(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        context: Any = None,
        stream_mode: str | Sequence[str] | None = None,
        print_mode: str | Sequence[str] = (),
        output_keys: Sequence[str] | str | None = None,
        interrupt_before: Sequence[str] | str | None = None,
        interrupt_after: Sequence[str] | str | None = None,
        durability: str | None = None,
        control: RunControl | None = None,
        subgraphs: bool = False,
        debug: bool | None = None,
        version: str = "v1",
        **kwargs: Any,
    ) -> Iterator[Any]:
        """Run and yield chunks. Modes: ``updates`` (the default: ``{node: update}`` as
        each node finishes), ``values`` (the state after each step), ``messages``
        (``(message_chunk, metadata)``), ``custom`` (from ``get_stream_writer()``),
        ``checkpoints``, ``tasks``, ``debug``. Several modes yield ``(mode, chunk)``;
        ``subgraphs=True`` prefixes the namespace tuple. ``durability`` is ``"sync"``,
        ``"async"`` (the default) or ``"exit"``.
        """
        durability = _durability(durability, kwargs)
        if stream_mode is None:
            stream_mode = "values" if current_scope() is not None else self.stream_mode
        printing = check_modes(print_mode) if print_mode else []
        if debug or self.debug:
            printing = ["updates", "values"]
        events = SyncEvents()
        loop = self._prepare(
            input,
            config,
            stream_mode=stream_mode,
            sink=events,
            subgraphs=subgraphs,
            context=context,
            output_keys=output_keys,
            interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
            durability=durability,
            control=control,
            extra_modes=printing,
        )
        live = self.stream_eager or subgraphs or not _LIVE.isdisjoint(loop.settings.modes)
        wanted = set(check_modes(stream_mode))
        for event in drive_sync(loop, events, live):
            if event[1] in printing:
                _print(event, subgraphs)
            if event[1] in wanted:
                yield format_chunk(event, stream_mode, subgraphs, version)

    async def astream(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        context: Any = None,
        stream_mode: str | Sequence[str] | None = None,
        print_mode: str | Sequence[str] = (),
        output_keys: Sequence[str] | str | None = None,
        interrupt_before: Sequence[str] | str | None = None,
        interrupt_after: Sequence[str] | str | None = None,
        durability: str | None = None,
        control: RunControl | None = None,
        subgraphs: bool = False,
        debug: bool | None = None,
        version: str = "v1",
        **kwargs: Any,
    ) -> AsyncIterator[Any]:
        """Async :meth:`stream`."""
        durability = _durability(durability, kwargs)
        if stream_mode is None:
            stream_mode = "values" if current_scope() is not None else self.stream_mode
        printing = check_modes(print_mode) if print_mode else []
        if debug or self.debug:
            printing = ["updates", "values"]
        events = AsyncEvents()
        loop = self._prepare(
            input,
            config,
            stream_mode=stream_mode,
            sink=events,
            subgraphs=subgraphs,
            context=context,
            output_keys=output_keys,
            interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
            durability=durability,
            control=control,
            extra_modes=printing,
        )
        live = self.stream_eager or subgraphs or not _LIVE.isdisjoint(loop.settings.modes)
        wanted = set(check_modes(stream_mode))
        async for event in drive_async(loop, events, live):
            if event[1] in printing:
                _print(event, subgraphs)
            if event[1] in wanted:
                yield format_chunk(event, stream_mode, subgraphs, version)

    def invoke(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        context: Any = None,
        stream_mode: str = "values",
        print_mode: str | Sequence[str] = (),
        output_keys: Sequence[str] | str | None = None,
        interrupt_before: Sequence[str] | str | None = None,
        interrupt_after: Sequence[str] | str | None = None,
        durability: str | None = None,
        control: RunControl | None = None,
        version: str = "v1",
        **kwargs: Any,
    ) -> Any:
        """Run to the end (or an interrupt) and return the output values; interrupts add
        ``__interrupt__``. ``input`` None resumes the thread; ``Command(resume=...)``
        answers pending interrupts. With another ``stream_mode``, return its chunks."""
        if (
            stream_mode != "values"
            or print_mode
            or self.debug
            or set(kwargs) - {"checkpoint_during"}
        ):
            chunks = list(
                self.stream(
                    input,
                    config,
                    context=context,
                    stream_mode=["updates", "values"] if stream_mode == "values" else stream_mode,
                    print_mode=print_mode,
                    output_keys=self.output_keys if output_keys is None else output_keys,
                    interrupt_before=interrupt_before,
                    interrupt_after=interrupt_after,
                    durability=durability,
                    control=control,
                    **kwargs,
                )
            )
            return chunks if stream_mode != "values" else _last_values(chunks, version)
        loop = self._invoke_loop(
            input,
            config,
            context,
            output_keys,
            interrupt_before,
            interrupt_after,
            _durability(durability, kwargs),
            control,
        )
        for _ in drive_sync(loop, None, False):
            pass
        return _result(loop, version)

    async def ainvoke(
        self,
        input: Any,
        config: Mapping[str, Any] | None = None,
        *,
        context: Any = None,
        stream_mode: str = "values",
        print_mode: str | Sequence[str] = (),
        output_keys: Sequence[str] | str | None = None,
        interrupt_before: Sequence[str] | str | None = None,
        interrupt_after: Sequence[str] | str | None = None,
        durability: str | None = None,
        control: RunControl | None = None,
        version: str = "v1",
        **kwargs: Any,
    ) -> Any:
        """Async :meth:`invoke`."""
        if (
            stream_mode != "values"
            or print_mode
            or self.debug
            or set(kwargs) - {"checkpoint_during"}
        ):
            chunks = [
                c
                async for c in self.astream(
                    input,
                    config,
                    context=context,
                    stream_mode=["updates", "values"] if stream_mode == "values" else stream_mode,
                    print_mode=print_mode,
                    output_keys=self.output_keys if output_keys is None else output_keys,
                    interrupt_before=interrupt_before,
                    interrupt_after=interrupt_after,
                    durability=durability,
                    control=control,
                    **kwargs,
                )
            ]
            return chunks if stream_mode != "values" else _last_values(chunks, version)
        loop = self._invoke_loop(
            input,
            config,
            context,
            output_keys,
            interrupt_before,
            interrupt_after,
            _durability(durability, kwargs),
            control,
        )
        async for _ in drive_async(loop, None, False):
            pass
        return _result(loop, version)

    def _invoke_loop(
        self,
        input: Any,
        config: Mapping[str, Any] | None,
        context: Any,
        output_keys: Sequence[str] | str | None,
        interrupt_before: Sequence[str] | str | None,
        interrupt_after: Sequence[str] | str | None,
        durability: str | None,
        control: RunControl | None,
    ) -> Loop:
        """The loop of an invoke: nothing streamed (subgraphs still reach a parent's
        stream); the output and interrupts are read from the loop."""
        return self._prepare(
            input,
            config,
            stream_mode=(),
            sink=None,
            subgraphs=False,
            context=context,
            output_keys=self.output_keys if output_keys is None else output_keys,
            interrupt_before=interrupt_before,
            interrupt_after=interrupt_after,
            durability=durability,
            control=control,
        )

    def batch(self, inputs: Sequence[Any], config: Any = None, **kwargs: Any) -> list[Any]:
        """Invoke on each input (configs: one for all, or one per input)."""
        configs = config if isinstance(config, list) else [config] * len(inputs)
        return [self.invoke(i, c, **kwargs) for i, c in zip(inputs, configs, strict=True)]

    async def abatch(self, inputs: Sequence[Any], config: Any = None, **kwargs: Any) -> list[Any]:
        """Async :meth:`batch` (concurrently)."""
        import asyncio

        configs = config if isinstance(config, list) else [config] * len(inputs)
        return list(
            await asyncio.gather(
                *(self.ainvoke(i, c, **kwargs) for i, c in zip(inputs, configs, strict=True))
            )
        )

    # ---------------------------------------------------------- inspection

    def get_state(self, config: Mapping[str, Any], *, subgraphs: bool = False) -> StateSnapshot:
        """The thread's state at its latest (or the given) checkpoint. A config naming a
        subgraph's namespace gives that subgraph's state; with ``subgraphs=True`` each
        pending subgraph task's ``state`` is its own snapshot."""
        from hone.graph._history import get_state

        return get_state(self, ensure_config(config), subgraphs=subgraphs)

    async def aget_state(
        self, config: Mapping[str, Any], *, subgraphs: bool = False
    ) -> StateSnapshot:
        """Async :meth:`get_state`."""
        import asyncio

        return await asyncio.to_thread(self.get_state, config, subgraphs=subgraphs)

    def get_state_history(
        self,
        config: Mapping[str, Any],
        *,
        filter: dict[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> Iterator[StateSnapshot]:
        """The thread's checkpoints as snapshots, newest first."""
        from hone.graph._history import get_state_history

        yield from get_state_history(
            self, ensure_config(config), filter=filter, before=before, limit=limit
        )

    async def aget_state_history(
        self,
        config: Mapping[str, Any],
        *,
        filter: dict[str, Any] | None = None,
        before: Mapping[str, Any] | None = None,
        limit: int | None = None,
    ) -> AsyncIterator[StateSnapshot]:
        """Async :meth:`get_state_history`."""
        import asyncio

        snapshots = await asyncio.to_thread(
            lambda: list(self.get_state_history(config, filter=filter, before=before, limit=limit))
        )
        for snapshot in snapshots:
            yield snapshot

    def update_state(
        self,
        config: Mapping[str, Any],
        values: Any,
        as_node: str | None = None,
        task_id: str | None = None,
    ) -> dict[str, Any]:
        """Write ``values`` as if node ``as_node`` returned them (its edges decide what runs
        next); saves a new checkpoint (a fork when ``config`` names an older one) and returns
        its config. ``as_node="__copy__"`` copies the checkpoint; ``values=None,
        as_node=END`` clears the pending tasks."""
        from hone.graph._history import bulk_update_state
        from hone.graph._types import StateUpdate

        return bulk_update_state(
            self, ensure_config(config), [[StateUpdate(values, as_node, task_id)]]
        )

    async def aupdate_state(
        self,
        config: Mapping[str, Any],
        values: Any,
        as_node: str | None = None,
        task_id: str | None = None,
    ) -> dict[str, Any]:
        """Async :meth:`update_state`."""
        import asyncio

        return await asyncio.to_thread(self.update_state, config, values, as_node, task_id)

    def bulk_update_state(
        self, config: Mapping[str, Any], supersteps: Sequence[Sequence[Any]]
    ) -> dict[str, Any]:
        """Apply several super-steps of updates (each a list of ``StateUpdate(values,
        as_node, task_id)``) in one go; returns the last checkpoint's config.

        Raises:
            ValueError: no checkpointer, or no updates.
            InvalidUpdateError: an unknown or ambiguous node.
        """
        from hone.graph._history import bulk_update_state

        return bulk_update_state(self, ensure_config(config), supersteps)

    async def abulk_update_state(
        self, config: Mapping[str, Any], supersteps: Sequence[Sequence[Any]]
    ) -> dict[str, Any]:
        """Async :meth:`bulk_update_state`."""
        import asyncio

        return await asyncio.to_thread(self.bulk_update_state, config, supersteps)

    def get_subgraphs(
        self, *, namespace: str | None = None, recurse: bool = False
    ) -> Iterator[tuple[str, CompiledGraph]]:
        """The graph's subgraph nodes as ``(namespace, graph)``; with ``recurse``, theirs
        too; with ``namespace``, only the one at that path."""
        for name, node in self.nodes.items():
            if namespace is not None and not namespace.startswith(name):
                continue
            graph = node.subgraph
            if graph is None:
                continue
            if name == namespace:
                yield name, graph
                return
            if namespace is None:
                yield name, graph
            if recurse:
                inner = namespace[len(name) + 1 :] if namespace is not None else None
                for sub, g in graph.get_subgraphs(namespace=inner, recurse=recurse):
                    yield f"{name}{NS_SEP}{sub}", g

    async def aget_subgraphs(
        self, *, namespace: str | None = None, recurse: bool = False
    ) -> AsyncIterator[tuple[str, CompiledGraph]]:
        """Async :meth:`get_subgraphs`."""
        for item in self.get_subgraphs(namespace=namespace, recurse=recurse):
            yield item

    def clear_cache(self, nodes: Sequence[str] | None = None) -> None:
        """Drop cached node writes (of ``nodes``, or all).

        Raises:
            ValueError: the graph has no cache.
        """
        if self.cache is None:
            raise ValueError("No cache is set for this graph. Cannot clear cache.")
        from hone.graph._algo import cache_namespace

        names = list(nodes) if nodes is not None else list(self.nodes)
        self.cache.clear(
            [cache_namespace(self.nodes[n].cache_fn, n) for n in names if n in self.nodes]
        )

    async def aclear_cache(self, nodes: Sequence[str] | None = None) -> None:
        """Async :meth:`clear_cache`."""
        self.clear_cache(nodes)

    def get_graph(self, config: Any = None, *, xray: int | bool = False) -> GraphStructure:
        """The graph's structure as data (nodes, edges, branches, subgraphs) for drawing."""
        from hone.graph._structure import structure

        return structure(self, xray=bool(xray))

    @property
    def InputType(self) -> Any:
        """The graph's input schema."""
        return self.input_schema

    @property
    def OutputType(self) -> Any:
        """The graph's output schema."""
        return self.output_schema


class _Duplex:
    """A sink that forwards each event to the sinks that stream its mode (a stream inside a
    node, and its parent's)."""

    def __init__(
        self, first: Any, first_modes: frozenset[str], second: Any, second_modes: frozenset[str]
    ) -> None:
        self.targets = [(first, first_modes), (second, second_modes)]

    def put(self, event: Any) -> None:
        mode = event[1]
        for sink, modes in self.targets:
            if sink is not None and mode in modes:
                sink.put(event)


def _result(loop: Loop, version: str) -> Any:
    """What invoke returns: the output (None when no output value was ever produced), with
    the interrupts the run stopped at."""
    latest = loop.output if loop.values_seen else None
    interrupts = list(loop.interrupts_seen)
    if version == "v2":
        from hone.graph._types import GraphOutput

        return GraphOutput(value=latest, interrupts=tuple(interrupts))
    if interrupts:
        base = latest if isinstance(latest, dict) else {}
        return {**base, INTERRUPT: interrupts}
    return latest


def _last_values(chunks: list[Any], version: str) -> Any:
    """What invoke returns from streamed ``(mode, payload)`` chunks of updates and values."""
    latest: Any = None
    interrupts: list[Any] = []
    for chunk in chunks:
        mode, payload = chunk if len(chunk) == 2 else chunk[1:]
        if mode == "updates" and isinstance(payload, dict) and INTERRUPT in payload:
            interrupts.extend(payload[INTERRUPT])
        elif mode == "values":
            latest = payload
    if version == "v2":
        from hone.graph._types import GraphOutput

        return GraphOutput(value=latest, interrupts=tuple(interrupts))
    if interrupts:
        return {**(latest if isinstance(latest, dict) else {}), INTERRUPT: interrupts}
    return latest


def _durability(durability: str | None, kwargs: dict[str, Any]) -> str | None:
    checkpoint_during = kwargs.pop("checkpoint_during", None)
    if kwargs:
        raise TypeError(f"unexpected arguments: {sorted(kwargs)}")
    if checkpoint_during is not None:
        warnings.warn(
            "`checkpoint_during` is deprecated and will be removed. Please use `durability` "
            "instead.",
            DeprecationWarning,
            stacklevel=3,
        )
        if durability is not None:
            raise ValueError(
                "Cannot use both `checkpoint_during` and `durability` parameters. Please use "
                "`durability` instead."
            )
        return "async" if checkpoint_during else "exit"
    if durability is not None and durability not in ("sync", "async", "exit"):
        raise ValueError(f"durability must be 'sync', 'async' or 'exit', got {durability!r}")
    return durability


def _print(event: Any, subgraphs: bool) -> None:
    ns, mode, payload = event
    if subgraphs and ns:
        print(f"[{mode}] [graph={ns}] {payload!r}")
    else:
        print(f"[{mode}] {payload!r}")


_ = ConfigError
