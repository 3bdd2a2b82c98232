"""Opening a v3 run: the transformer pipeline, the stream modes it needs, the graph's stream.

``stream_events(version="v3")`` builds a root mux from the built-in transformers (values,
messages, lifecycle, subgraphs), the graph's compile-time ``transformers`` and the call's, asks
the graph for exactly the stream modes they need (``subgraphs=True``, v2 parts, LangChain
models on the content-block protocol), and hands both to a run stream.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hone.graph._constants import CONFIG_KEY_STREAM_MESSAGES_V2, NS_SEP
from hone.graph._invocation import calling_scope
from hone.graph.streaming._lifecycle import LifecycleTransformer, SubgraphTransformer
from hone.graph.streaming._messages import MessagesTransformer
from hone.graph.streaming._mux import StreamMux, TransformerFactory
from hone.graph.streaming._projections import ValuesTransformer
from hone.graph.streaming._run import AsyncGraphRunStream, GraphRunStream
from hone.graph.streaming._transformer import StreamTransformer

if TYPE_CHECKING:
    from hone.graph._compiled import CompiledGraph

__all__ = ["astream_v3", "reject_owned_kwargs", "stream_factories", "stream_v3"]

_BUILTINS: tuple[TransformerFactory, ...] = (
    ValuesTransformer,
    MessagesTransformer,
    LifecycleTransformer,
    SubgraphTransformer,
)
_OWNED = ("stream_mode", "subgraphs")


def reject_owned_kwargs(kwargs: Mapping[str, Any]) -> None:
    """Refuse the stream arguments a v3 run sets itself.

    Raises:
        TypeError: ``stream_mode`` or ``subgraphs`` was given.
    """
    if given := [k for k in _OWNED if k in kwargs]:
        raise TypeError(
            f"stream_events(version='v3') / astream_events(version='v3') do not accept "
            f"{', '.join(given)}: v3 sets them (the stream modes are those its transformers "
            "need, and subgraphs are always streamed, to feed run.subgraphs)"
        )


def stream_factories(specs: Sequence[Callable[..., Any]] | None) -> list[TransformerFactory]:
    """Transformer factories (classes or ``scope -> transformer`` callables), checked.

    Raises:
        TypeError: a ready transformer instance (it cannot be rebuilt for subgraph scopes) or
            something that is not callable.
    """
    factories: list[TransformerFactory] = []
    for spec in specs or ():
        if isinstance(spec, StreamTransformer):
            raise TypeError(
                f"stream_events(version='v3') transformers must be scope-aware callables, got "
                f"the pre-built instance {type(spec).__name__}: pass the class, or "
                f"`lambda scope: {type(spec).__name__}(scope, ...)`"
            )
        if not callable(spec):
            raise TypeError(
                "stream_events(version='v3') transformers must be scope-aware callables, got "
                f"{type(spec).__name__}"
            )
        factories.append(spec)
    return factories


def _namespace(graph: CompiledGraph, config: Mapping[str, Any] | None) -> tuple[str, ...]:
    """The namespace of the run's own events: ``()`` for a run of its own; for a run started
    inside a node as that node's subgraph, the node's checkpoint namespace (the stream puts
    it before every event), so the run's projections keep its own events."""
    scope, _ = calling_scope(graph, config)
    if scope is None:
        return ()  # a run of its own: its events start at the root
    ns = scope.config["configurable"].get("checkpoint_ns") or ""
    return tuple(str(ns).split(NS_SEP)) if ns else ()


def _open(
    graph: CompiledGraph,
    config: Mapping[str, Any] | None,
    transformers: Sequence[Callable[..., Any]] | None,
    *,
    is_async: bool,
) -> tuple[StreamMux, dict[str, Any], list[str]]:
    mux = StreamMux(
        factories=[
            *_BUILTINS,
            *stream_factories(graph.stream_transformers),
            *stream_factories(transformers),
        ],
        scope=_namespace(graph, config),
        is_async=is_async,
    )
    modes = sorted({m for t in mux._transformers for m in t.required_stream_modes})
    conf = dict(config or {})
    conf["configurable"] = {
        **(conf.get("configurable") or {}),
        CONFIG_KEY_STREAM_MESSAGES_V2: True,
    }
    return mux, conf, modes


def stream_v3(
    graph: CompiledGraph,
    input: Any,
    config: Mapping[str, Any] | None,
    transformers: Sequence[Callable[..., Any]] | None,
    kwargs: dict[str, Any],
) -> GraphRunStream:
    """A sync v3 run of ``graph`` (nothing runs until it is read)."""
    reject_owned_kwargs(kwargs)
    mux, conf, modes = _open(graph, config, transformers, is_async=False)
    parts = graph.stream(input, conf, stream_mode=modes, subgraphs=True, version="v2", **kwargs)
    return GraphRunStream(iter(parts), mux)


async def astream_v3(
    graph: CompiledGraph,
    input: Any,
    config: Mapping[str, Any] | None,
    transformers: Sequence[Callable[..., Any]] | None,
    kwargs: dict[str, Any],
) -> AsyncGraphRunStream:
    """An async v3 run of ``graph`` (nothing runs until it is read)."""
    reject_owned_kwargs(kwargs)
    mux, conf, modes = _open(graph, config, transformers, is_async=True)
    parts = graph.astream(input, conf, stream_mode=modes, subgraphs=True, version="v2", **kwargs)
    return AsyncGraphRunStream(aiter(parts), mux)
