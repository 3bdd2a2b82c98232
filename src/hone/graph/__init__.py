"""A stateful graph runtime with LangGraph's API and semantics: nodes update a shared state
in bulk-synchronous super-steps, with durable checkpoints, interrupts, time travel,
subgraphs, streaming, retries, caching and timeouts.

LangGraph programs run by changing imports::

    from hone.graph import StateGraph, START, END, add_messages, Command, Send, interrupt

A node reaches the model its run was given with :func:`get_model` (rollouts give the
recording policy; :func:`use_model` gives one when serving).
"""

from hone.agent._scope import get_model, use_model
from hone.graph._builder import StateGraph
from hone.graph._cache import BaseCache, InMemoryCache
from hone.graph._channels import (
    AnyValue,
    Channel,
    EphemeralValue,
    LastValue,
    LastValueAfterFinish,
    UntrackedValue,
)
from hone.graph._channels_barrier import NamedBarrierValue, NamedBarrierValueAfterFinish
from hone.graph._channels_reduce import BinaryOperatorAggregate, Topic
from hone.graph._compiled import CompiledGraph, CompiledStateGraph
from hone.graph._constants import TAG_HIDDEN, TAG_NOSTREAM
from hone.graph._context import (
    emit_message_delta,
    get_config,
    get_runtime,
    get_store,
    get_stream_writer,
    get_task_id,
)
from hone.graph._execute import NodeError
from hone.graph._func import entrypoint, task
from hone.graph._interrupt import (
    GraphBubbleUp,
    GraphInterrupt,
    ParentCommand,
    interrupt,
    interrupt_many,
)
from hone.graph._managed import IsLastStep, RemainingSteps
from hone.graph._mermaid import draw_mermaid
from hone.graph._messages import (
    REMOVE_ALL_MESSAGES,
    MessagesState,
    RemoveMessage,
    add_messages,
    push_message,
)
from hone.graph._model_stream import AssistantMessageChunk, astream_model, stream_model
from hone.graph._runner import GraphDrained
from hone.graph._runtime import ExecutionInfo, RunControl, Runtime, ServerInfo
from hone.graph._stream_parts import (
    CheckpointPayload,
    CheckpointStreamPart,
    CheckpointTask,
    CustomStreamPart,
    DebugPayload,
    DebugStreamPart,
    MessagesStreamPart,
    StreamPart,
    TaskPayload,
    TaskResultPayload,
    TasksStreamPart,
    ToolsStreamPart,
    UpdatesStreamPart,
    ValuesStreamPart,
)
from hone.graph._structure import GraphEdge, GraphNode, GraphStructure
from hone.graph._types import (
    END,
    START,
    All,
    CachePolicy,
    Command,
    Durability,
    GraphOutput,
    Interrupt,
    Overwrite,
    RetryPolicy,
    RunConfig,
    Send,
    StateSnapshot,
    StateUpdate,
    StreamMode,
    StreamWriter,
    TaskInfo,
    TimeoutPolicy,
    TracePolicy,
    default_retry_on,
    omit_payload,
)

__all__ = [
    "END",
    "REMOVE_ALL_MESSAGES",
    "START",
    "TAG_HIDDEN",
    "TAG_NOSTREAM",
    "All",
    "AnyValue",
    "AssistantMessageChunk",
    "BaseCache",
    "BinaryOperatorAggregate",
    "CachePolicy",
    "Channel",
    "CheckpointPayload",
    "CheckpointStreamPart",
    "CheckpointTask",
    "Command",
    "CompiledGraph",
    "CompiledStateGraph",
    "CustomStreamPart",
    "DebugPayload",
    "DebugStreamPart",
    "Durability",
    "EphemeralValue",
    "ExecutionInfo",
    "GraphBubbleUp",
    "GraphDrained",
    "GraphEdge",
    "GraphInterrupt",
    "GraphNode",
    "GraphOutput",
    "GraphStructure",
    "InMemoryCache",
    "Interrupt",
    "IsLastStep",
    "LastValue",
    "LastValueAfterFinish",
    "MessagesState",
    "MessagesStreamPart",
    "NamedBarrierValue",
    "NamedBarrierValueAfterFinish",
    "NodeError",
    "Overwrite",
    "ParentCommand",
    "RemainingSteps",
    "RemoveMessage",
    "RetryPolicy",
    "RunConfig",
    "RunControl",
    "Runtime",
    "Send",
    "ServerInfo",
    "StateGraph",
    "StateSnapshot",
    "StateUpdate",
    "StreamMode",
    "StreamPart",
    "StreamWriter",
    "TaskInfo",
    "TaskPayload",
    "TaskResultPayload",
    "TasksStreamPart",
    "TimeoutPolicy",
    "ToolsStreamPart",
    "Topic",
    "TracePolicy",
    "UntrackedValue",
    "UpdatesStreamPart",
    "ValuesStreamPart",
    "add_messages",
    "astream_model",
    "default_retry_on",
    "draw_mermaid",
    "emit_message_delta",
    "entrypoint",
    "get_config",
    "get_model",
    "get_runtime",
    "get_store",
    "get_stream_writer",
    "get_task_id",
    "interrupt",
    "interrupt_many",
    "omit_payload",
    "push_message",
    "stream_model",
    "task",
    "use_model",
]
