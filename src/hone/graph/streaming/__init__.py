"""Event streaming (LangGraph's ``stream_events(version="v3")``): a run as typed projections.

``graph.stream_events(input, version="v3")`` returns a :class:`GraphRunStream` (and
``await graph.astream_events(input, version="v3")`` an :class:`AsyncGraphRunStream`) whose
projections are read independently, each driving the run as it is read::

    run = graph.stream_events({"messages": [("user", "hi")]}, version="v3")
    for message in run.messages:          # one ChatModelStream per model reply
        for token in message.text:
            print(token, end="")
    final_state = run.output

Built-in projections: ``values``, ``messages``, ``lifecycle``, ``subgraphs``; add ``updates``,
``custom``, ``checkpoints``, ``debug``, ``tasks`` or ``tool_calls`` by passing their transformers, and your own
by subclassing :class:`StreamTransformer` (``compile(transformers=[...])`` or
``stream_events(..., transformers=[...])``). See docs/streaming.md.
"""

from hone.graph.streaming._channel import StreamChannel
from hone.graph.streaming._lifecycle import (
    LifecycleCause,
    LifecyclePayload,
    LifecycleTransformer,
    SubgraphTransformer,
    TaskLifecycle,
)
from hone.graph.streaming._messages import MessagesTransformer
from hone.graph.streaming._mux import StreamMux, TransformerFactory
from hone.graph.streaming._projections import (
    CheckpointsTransformer,
    CustomTransformer,
    DebugTransformer,
    TasksTransformer,
    UpdatesTransformer,
    ValuesTransformer,
)
from hone.graph.streaming._protocol import ProtocolEvent
from hone.graph.streaming._run import (
    AsyncGraphRunStream,
    AsyncSubgraphRunStream,
    GraphRunStream,
    SubgraphRunStream,
    SubgraphStatus,
)
from hone.graph.streaming._tools import ToolCallStream, ToolCallTransformer
from hone.graph.streaming._transformer import StreamTransformer

__all__ = [
    "AsyncGraphRunStream",
    "AsyncSubgraphRunStream",
    "CheckpointsTransformer",
    "CustomTransformer",
    "DebugTransformer",
    "GraphRunStream",
    "LifecycleCause",
    "LifecyclePayload",
    "LifecycleTransformer",
    "MessagesTransformer",
    "ProtocolEvent",
    "StreamChannel",
    "StreamMux",
    "StreamTransformer",
    "SubgraphRunStream",
    "SubgraphStatus",
    "SubgraphTransformer",
    "TaskLifecycle",
    "TasksTransformer",
    "ToolCallStream",
    "ToolCallTransformer",
    "TransformerFactory",
    "UpdatesTransformer",
    "ValuesTransformer",
]
