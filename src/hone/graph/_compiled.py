"""``CompiledGraph``: a validated graph, runnable with ``invoke``/``stream`` (sync) and
``ainvoke``/``astream`` (async), with checkpoint inspection and editing (the
:class:`~hone.graph._compiled_state.StateMethods` it mixes in)."""

from __future__ import annotations

import contextlib
from collections import defaultdict
from collections.abc import AsyncGenerator, AsyncIterator, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hone.errors import ConfigError
from hone.graph._channels import Channel
from hone.graph._compiled_state import StateMethods
from hone.graph._config import ensure_config
from hone.graph._constants import NS_SEP
from hone.graph._context import current_scope
from hone.graph._invocation import (
    check_durability,
    invoke_result,
    prepare_loop,
    print_event,
    streamed_result,
)
from hone.graph._loop import Loop
from hone.graph._runnable import RunnableMethods
from hone.graph._runner import drive_async, drive_sync
from hone.graph._runtime import RunControl
from hone.graph._stream import (
    AsyncEvents,
    SyncEvents,
    check_modes,
    format_chunk,
    state_coercion,
)

if TYPE_CHECKING:
    from hone.graph._builder import StateGraph
    from hone.graph._compile import Node

__all__ = ["CompiledGraph", "CompiledStateGraph", "check_checkpointer", "ensure_config"]

_LIVE = frozenset(("custom", "messages"))


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


class CompiledGraph(StateMethods, RunnableMethods):
    """A runnable graph. Build one with ``StateGraph(...).compile()``.

    ``CompiledGraph[State, Context, Input, Output]`` is accepted in annotations, as
    LangGraph's ``CompiledStateGraph[...]`` is (the parameters are not checked)."""

    def __class_getitem__(cls, params: Any) -> type[CompiledGraph]:
        return cls

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
        stream_transformers: Sequence[Any] = (),
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
        #: Transformer factories every ``stream_events(version="v3")`` run adds.
        self.stream_transformers: tuple[Any, ...] = tuple(stream_transformers)
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
        durability = check_durability(durability, kwargs)
        if stream_mode is None:
            stream_mode = "values" if current_scope() is not None else self.stream_mode
        printing = check_modes(print_mode) if print_mode else []
        if debug or self.debug:
            printing = ["updates", "values"]
        events = SyncEvents()
        loop = prepare_loop(
            self,
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
        coercion = state_coercion(self, loop.ns_path) if version == "v2" else None
        for event in drive_sync(loop, events, live):
            if event[1] in printing:
                print_event(event, subgraphs)
            if event[1] in wanted:
                yield format_chunk(event, stream_mode, subgraphs, version, coercion)

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
    ) -> AsyncGenerator[Any, None]:
        """Async :meth:`stream`."""
        durability = check_durability(durability, kwargs)
        if stream_mode is None:
            stream_mode = "values" if current_scope() is not None else self.stream_mode
        printing = check_modes(print_mode) if print_mode else []
        if debug or self.debug:
            printing = ["updates", "values"]
        events = AsyncEvents()
        loop = prepare_loop(
            self,
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
        coercion = state_coercion(self, loop.ns_path) if version == "v2" else None
        # Closed with this stream: a reader that stops reading cancels the running nodes now.
        async with contextlib.aclosing(drive_async(loop, events, live)) as driving:
            async for event in driving:
                if event[1] in printing:
                    print_event(event, subgraphs)
                if event[1] in wanted:
                    yield format_chunk(event, stream_mode, subgraphs, version, coercion)

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
                    # v2 returns another mode's chunks as StreamParts; values are read below.
                    version=version if stream_mode != "values" else "v1",
                    **kwargs,
                )
            )
            if stream_mode != "values":
                return chunks
            return self._typed_output(streamed_result(chunks, version))
        loop = self._invoke_loop(
            input,
            config,
            context,
            output_keys,
            interrupt_before,
            interrupt_after,
            check_durability(durability, kwargs),
            control,
        )
        for _ in drive_sync(loop, None, False):
            pass
        return self._typed_output(invoke_result(loop, version))

    def _typed_output(self, result: Any) -> Any:
        """A v2 result (``GraphOutput``) with its value as the graph's output schema when that
        is a pydantic model or dataclass (LangGraph's v2); v1 results as they are."""
        from hone.graph._types import GraphOutput

        if not isinstance(result, GraphOutput):
            return result
        coercion = state_coercion(self, ())
        if coercion is None:
            return result
        return GraphOutput(value=coercion.values((), result.value), interrupts=result.interrupts)

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
                    version=version if stream_mode != "values" else "v1",
                    **kwargs,
                )
            ]
            if stream_mode != "values":
                return chunks
            return self._typed_output(streamed_result(chunks, version))
        loop = self._invoke_loop(
            input,
            config,
            context,
            output_keys,
            interrupt_before,
            interrupt_after,
            check_durability(durability, kwargs),
            control,
        )
        async for _ in drive_async(loop, None, False):
            pass
        return self._typed_output(invoke_result(loop, version))

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
        return prepare_loop(
            self,
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
    # (the thread's state, its history and edits: StateMethods, in _compiled_state.py)

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

    def get_graph(self, config: Any = None, *, xray: int | bool = False) -> Any:
        """The graph for drawing. With langchain-core installed, LangChain's ``Graph`` exactly
        as LangGraph's ``get_graph()`` builds it (``draw_mermaid``, ``draw_ascii``,
        ``to_json``, ``draw_mermaid_png``; ``xray`` inlines subgraphs that many levels deep,
        every level with ``True``); without it, hone's :class:`~hone.graph.GraphStructure`
        (``xray``: with subgraphs' structures)."""
        from hone.graph._lc_graph import langchain_available, langchain_graph
        from hone.graph._structure import structure

        if langchain_available():
            return langchain_graph(self, xray=xray)
        return structure(self, xray=bool(xray))

    @property
    def InputType(self) -> Any:
        """The graph's input schema."""
        return self.input_schema

    @property
    def OutputType(self) -> Any:
        """The graph's output schema."""
        return self.output_schema


_ = ConfigError


#: LangGraph's name for a compiled ``StateGraph`` (``langgraph.graph.state``), for annotations
#: written against it.
CompiledStateGraph = CompiledGraph
