"""A stateful graph runtime with LangGraph's API: nodes update a shared state in
bulk-synchronous super-steps, with checkpoints, interrupts, subgraphs and streaming.

LangGraph programs run by changing imports::

    from hone.graph import StateGraph, START, END, add_messages, Command, Send, interrupt
"""

from hone.graph._builder import StateGraph
from hone.graph._channels import BinaryOperatorAggregate, Channel, EphemeralValue, LastValue, Topic
from hone.graph._compiled import CompiledGraph
from hone.graph._context import emit_message_delta, get_config, get_stream_writer, get_task_id
from hone.graph._interrupt import interrupt, interrupt_many
from hone.graph._mermaid import draw_mermaid
from hone.graph._messages import REMOVE_ALL_MESSAGES, MessagesState, RemoveMessage, add_messages
from hone.graph._model_stream import AssistantMessageChunk, astream_model, stream_model
from hone.graph._structure import GraphEdge, GraphNode, GraphStructure
from hone.graph._types import (
    END,
    START,
    Command,
    Interrupt,
    RetryPolicy,
    RunConfig,
    Send,
    StateSnapshot,
    StreamMode,
    TaskInfo,
    default_retry_on,
)

__all__ = [
    "END",
    "REMOVE_ALL_MESSAGES",
    "START",
    "AssistantMessageChunk",
    "BinaryOperatorAggregate",
    "Channel",
    "Command",
    "CompiledGraph",
    "EphemeralValue",
    "GraphEdge",
    "GraphNode",
    "GraphStructure",
    "Interrupt",
    "LastValue",
    "MessagesState",
    "RemoveMessage",
    "RetryPolicy",
    "RunConfig",
    "Send",
    "StateGraph",
    "StateSnapshot",
    "StreamMode",
    "TaskInfo",
    "Topic",
    "add_messages",
    "astream_model",
    "default_retry_on",
    "draw_mermaid",
    "emit_message_delta",
    "get_config",
    "get_stream_writer",
    "get_task_id",
    "interrupt",
    "interrupt_many",
    "stream_model",
]
