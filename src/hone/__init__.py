"""hone: LLM agents that get better with practice.

The top level holds what most programs need; each sub-package (``hone.graph``, ``hone.models``,
``hone.tools``, ``hone.checkpoint``, ``hone.train``, ...) exports the rest.
"""

from hone._version import __version__
from hone.agent import AgentOptions, arun_agent, run_agent
from hone.messages import (
    AssistantMessage,
    SystemMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
)
from hone.models import ModelBackend, SamplingOptions, load_model
from hone.tools import Tool, ToolContext, ToolRegistry, tool

__all__ = [
    "AgentOptions",
    "AssistantMessage",
    "ModelBackend",
    "SamplingOptions",
    "SystemMessage",
    "Tool",
    "ToolCall",
    "ToolContext",
    "ToolMessage",
    "ToolRegistry",
    "UserMessage",
    "__version__",
    "arun_agent",
    "load_model",
    "run_agent",
    "tool",
]
