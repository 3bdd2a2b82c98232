"""A compiled graph as a LangChain ``Runnable``: LCEL composition, ``astream_events`` and
the JSON schemas of its input, output and context.

A hone graph is not a LangChain ``Runnable`` (importing hone imports no LangChain), but
LangChain-style programs compose graphs with runnables (``graph | parser``) and read their
events with ``astream_events``. :func:`as_runnable` wraps a graph in a ``Runnable`` whose
``invoke``/``stream`` (and async twins) are the graph's own; the graph reports its runs to
the callbacks LangChain passes it (``_callbacks``), which is all ``astream_events`` needs.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any, Literal, overload

from hone.graph._schemas import context_jsonschema, input_jsonschema, output_jsonschema

if TYPE_CHECKING:
    from hone.graph._compiled import CompiledGraph
    from hone.graph.streaming import AsyncGraphRunStream, GraphRunStream

__all__ = ["RunnableMethods", "as_runnable"]


@functools.cache
def _runnable_class() -> type[Any]:
    try:
        from langchain_core.runnables import Runnable
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError(
            "a graph as a LangChain Runnable (astream_events, `graph | runnable`) needs "
            "langchain-core: pip install 'hone[langchain]'"
        ) from exc

    class GraphRunnable(Runnable[Any, Any]):
        """A hone graph behind LangChain's ``Runnable`` interface."""

        def __init__(self, graph: CompiledGraph) -> None:
            self.graph = graph
            self.name = graph.name

        def __repr__(self) -> str:
            return f"GraphRunnable({self.graph.name!r})"

        @property
        def InputType(self) -> Any:
            return Any

        @property
        def OutputType(self) -> Any:
            return Any

        def invoke(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
            return self.graph.invoke(input, config, **kwargs)

        async def ainvoke(self, input: Any, config: Any = None, **kwargs: Any) -> Any:
            return await self.graph.ainvoke(input, config, **kwargs)

        def stream(self, input: Any, config: Any = None, **kwargs: Any) -> Iterator[Any]:
            yield from self.graph.stream(input, config, **kwargs)

        async def astream(
            self, input: Any, config: Any = None, **kwargs: Any
        ) -> AsyncGenerator[Any, None]:
            async with contextlib.aclosing(self.graph.astream(input, config, **kwargs)) as chunks:
                async for chunk in chunks:
                    yield chunk

    return GraphRunnable


def as_runnable(graph: CompiledGraph) -> Any:
    """``graph`` as a LangChain ``Runnable`` (needs langchain-core)."""
    return _runnable_class()(graph)


class RunnableMethods:
    """The LangChain-facing methods of :class:`~hone.graph.CompiledGraph` (a mixin)."""

    __slots__ = ()

    def as_runnable(self) -> Any:
        """This graph as a LangChain ``Runnable`` (``prompt | graph.as_runnable()``)."""
        return as_runnable(self)  # type: ignore[arg-type]

    def __or__(self, other: Any) -> Any:
        """``graph | runnable``: a LangChain sequence that runs this graph first."""
        return as_runnable(self) | other  # type: ignore[arg-type]

    def __ror__(self, other: Any) -> Any:
        """``{...} | graph`` (a mapping or a plain function first)."""
        return other | as_runnable(self)  # type: ignore[arg-type]

    def get_input_jsonschema(self, config: Any = None) -> dict[str, Any]:
        """The JSON schema of the graph's input, as LangGraph derives it."""
        return input_jsonschema(self)  # type: ignore[arg-type]

    def get_output_jsonschema(self, config: Any = None) -> dict[str, Any]:
        """The JSON schema of the graph's output, as LangGraph derives it."""
        return output_jsonschema(self)  # type: ignore[arg-type]

    def get_context_jsonschema(self) -> dict[str, Any] | None:
        """The JSON schema of the graph's run context (None without a context schema).

        Raises:
            ValueError: the context schema is not a pydantic model, TypedDict or dataclass.
        """
        return context_jsonschema(self)  # type: ignore[arg-type]

    @overload
    def stream_events(
        self,
        input: Any,
        config: Any = None,
        *,
        version: Literal["v3"],
        transformers: Sequence[Callable[..., Any]] | None = None,
        **kwargs: Any,
    ) -> GraphRunStream: ...

    @overload
    def stream_events(
        self,
        input: Any,
        config: Any = None,
        *,
        version: Literal["v1", "v2"] = "v2",
        transformers: Sequence[Callable[..., Any]] | None = None,
        **kwargs: Any,
    ) -> Iterator[Any]: ...

    def stream_events(
        self,
        input: Any,
        config: Any = None,
        *,
        version: str = "v2",
        transformers: Sequence[Callable[..., Any]] | None = None,
        **kwargs: Any,
    ) -> Any:
        """Event streaming. ``version="v3"``: a :class:`~hone.graph.streaming.GraphRunStream`
        whose projections (``run.values``, ``run.messages``, ``run.subgraphs``, ...) drive
        the run as they are read (:mod:`hone.graph.streaming`); ``transformers`` adds
        projections after the graph's own. Other keyword arguments (``context``,
        ``durability``, ``interrupt_before``, ``control``, ...) go to :meth:`stream`.
        ``"v1"``/``"v2"`` are LangChain's callback events, which LangChain only offers async
        (:meth:`astream_events`).

        Raises:
            TypeError: ``stream_mode`` or ``subgraphs`` given with v3 (it sets them), or a
                transformer instance instead of a class or factory.
            NotImplementedError: ``version`` is ``"v1"`` or ``"v2"``.
            ValueError: an unknown ``version``.
        """
        if version == "v3":
            from hone.graph.streaming._entry import stream_v3

            return stream_v3(self, input, config, transformers, kwargs)  # type: ignore[arg-type]
        if version in ("v1", "v2"):
            raise NotImplementedError(
                f"synchronous stream_events(version={version!r}) does not exist in LangChain: "
                "use astream_events, or stream_events(version='v3')"
            )
        raise ValueError(f"unknown stream_events version {version!r}: use 'v1', 'v2' or 'v3'")

    @overload
    def astream_events(
        self,
        input: Any,
        config: Any = None,
        *,
        version: Literal["v3"],
        transformers: Sequence[Callable[..., Any]] | None = None,
        **kwargs: Any,
    ) -> Awaitable[AsyncGraphRunStream]: ...

    @overload
    def astream_events(
        self,
        input: Any,
        config: Any = None,
        *,
        version: Literal["v1", "v2"] = "v2",
        include_names: Sequence[str] | None = None,
        include_types: Sequence[str] | None = None,
        include_tags: Sequence[str] | None = None,
        exclude_names: Sequence[str] | None = None,
        exclude_types: Sequence[str] | None = None,
        exclude_tags: Sequence[str] | None = None,
        **kwargs: Any,
    ) -> AsyncIterator[Any]: ...

    def astream_events(
        self,
        input: Any,
        config: Any = None,
        *,
        version: str = "v2",
        include_names: Sequence[str] | None = None,
        include_types: Sequence[str] | None = None,
        include_tags: Sequence[str] | None = None,
        exclude_names: Sequence[str] | None = None,
        exclude_types: Sequence[str] | None = None,
        exclude_tags: Sequence[str] | None = None,
        transformers: Sequence[Callable[..., Any]] | None = None,
        **kwargs: Any,
    ) -> Any:
        """LangChain's event stream of a run (``version="v2"``, LangChain's default):
        ``on_chain_start`` / ``on_chain_stream`` / ``on_chain_end`` for the graph and each
        node, router calls, and the events of LangChain models, tools and custom events
        inside nodes, with LangGraph's names, tags and metadata. Other keyword arguments
        (``stream_mode``, ``durability``, ``context``, ...) go to :meth:`astream`. Needs
        langchain-core.

        ``version="v3"``: an awaitable of an
        :class:`~hone.graph.streaming.AsyncGraphRunStream` (see :meth:`stream_events`).
        """
        if version == "v3":
            from hone.graph.streaming._entry import astream_v3

            filters = {
                "include_names": include_names,
                "include_types": include_types,
                "include_tags": include_tags,
                "exclude_names": exclude_names,
                "exclude_types": exclude_types,
                "exclude_tags": exclude_tags,
            }
            if given := sorted(k for k, v in filters.items() if v is not None):
                raise TypeError(
                    f"astream_events(version='v3') does not filter events ({', '.join(given)} "
                    "are v1/v2 options): read the projections you need, or add a transformer"
                )
            return astream_v3(self, input, config, transformers, kwargs)  # type: ignore[arg-type]
        return as_runnable(self).astream_events(  # type: ignore[arg-type]
            input,
            config,
            version=version,
            include_names=include_names,
            include_types=include_types,
            include_tags=include_tags,
            exclude_names=exclude_names,
            exclude_types=exclude_types,
            exclude_tags=exclude_tags,
            **kwargs,
        )
