"""Middleware for :func:`~hone.agents.create_agent`, as LangChain's
``langchain.agents.middleware``: the :class:`AgentMiddleware` base class with its node hooks
(``before_agent``, ``before_model``, ``after_model``, ``after_agent``) and call wrappers
(``wrap_model_call``, ``wrap_tool_call``), decorators that make a middleware from a function,
the types the hooks see, and ready middleware.

Importing this package never imports LangChain: the hooks see the conversation in whichever
message family the agent keeps it (LangChain's for a LangChain chat model, hone's otherwise).
"""

from hone.agents.middleware._auto_mode import AutoModeMiddleware
from hone.agents.middleware._base import AgentMiddleware, hook_config
from hone.agents.middleware._context_editing import (
    ClearToolUsesEdit,
    ContextEdit,
    ContextEditingMiddleware,
)
from hone.agents.middleware._decorators import (
    after_agent,
    after_model,
    before_agent,
    before_model,
    dynamic_prompt,
    wrap_model_call,
    wrap_tool_call,
)
from hone.agents.middleware._file_search import FilesystemFileSearchMiddleware
from hone.agents.middleware._human_in_the_loop import (
    Action,
    ActionRequest,
    ApproveDecision,
    Decision,
    DecisionType,
    EditDecision,
    HITLRequest,
    HITLResponse,
    HumanInTheLoopMiddleware,
    InterruptMode,
    InterruptOnConfig,
    RejectDecision,
    RespondDecision,
    ReviewConfig,
    ToolApprovalRequest,
)
from hone.agents.middleware._internal_call_transformer import (
    INTERNAL_CALL_METADATA_KEY,
    InternalCallTransformer,
    internal_call_metadata,
)
from hone.agents.middleware._model_call_limit import (
    ModelCallLimitExceededError,
    ModelCallLimitMiddleware,
    ModelCallLimitState,
)
from hone.agents.middleware._model_fallback import ModelFallbackMiddleware
from hone.agents.middleware._model_refusal import ModelRefusalError, ModelRefusalMiddleware
from hone.agents.middleware._model_retry import ModelRetryMiddleware
from hone.agents.middleware._model_router import ModelChoice, ModelRouterMiddleware
from hone.agents.middleware._pii import (
    PIIDetectionError,
    PIIMatch,
    PIIMiddleware,
    detect_credit_card,
    detect_email,
    detect_ip,
    detect_mac_address,
    detect_url,
)
from hone.agents.middleware._provider_tool_search import ProviderToolSearchMiddleware
from hone.agents.middleware._redaction import RedactionRule
from hone.agents.middleware._shell_execution import (
    BaseExecutionPolicy,
    CodexSandboxExecutionPolicy,
    DockerExecutionPolicy,
    HostExecutionPolicy,
)
from hone.agents.middleware._shell_session import CommandExecutionResult, ShellSession
from hone.agents.middleware._shell_tool import ShellToolError, ShellToolMiddleware, ShellToolState
from hone.agents.middleware._summarization import SummarizationMiddleware, TriggerClause
from hone.agents.middleware._todo import (
    WRITE_TODOS_SYSTEM_PROMPT,
    WRITE_TODOS_TOOL_DESCRIPTION,
    PlanningState,
    Todo,
    TodoListMiddleware,
    write_todos,
)
from hone.agents.middleware._tool_call_limit import (
    ToolCallLimitExceededError,
    ToolCallLimitMiddleware,
    ToolCallLimitState,
)
from hone.agents.middleware._tool_emulator import LLMToolEmulator
from hone.agents.middleware._tool_error import ToolErrorMiddleware
from hone.agents.middleware._tool_retry import ToolRetryMiddleware
from hone.agents.middleware._tool_selection import LLMToolSelectorMiddleware
from hone.agents.middleware._trace_policy import configure_trace_policy
from hone.agents.middleware._types import (
    AgentState,
    ExtendedModelResponse,
    InputAgentState,
    JumpTo,
    ModelCallResult,
    ModelRequest,
    ModelResponse,
    OmitFromInput,
    OmitFromOutput,
    OmitFromSchema,
    OutputAgentState,
    PrivateStateAttr,
)
from hone.graph._runtime import Runtime
from hone.graph._types import TracePolicy, omit_payload
from hone.graph.prebuilt._tool_request import ToolCallRequest

__all__ = [
    "INTERNAL_CALL_METADATA_KEY",
    "WRITE_TODOS_SYSTEM_PROMPT",
    "WRITE_TODOS_TOOL_DESCRIPTION",
    "Action",
    "ActionRequest",
    "AgentMiddleware",
    "AgentState",
    "ApproveDecision",
    "AutoModeMiddleware",
    "BaseExecutionPolicy",
    "ClearToolUsesEdit",
    "CodexSandboxExecutionPolicy",
    "CommandExecutionResult",
    "ContextEdit",
    "ContextEditingMiddleware",
    "Decision",
    "DecisionType",
    "DockerExecutionPolicy",
    "EditDecision",
    "ExtendedModelResponse",
    "FilesystemFileSearchMiddleware",
    "HITLRequest",
    "HITLResponse",
    "HostExecutionPolicy",
    "HumanInTheLoopMiddleware",
    "InputAgentState",
    "InternalCallTransformer",
    "InterruptMode",
    "InterruptOnConfig",
    "JumpTo",
    "LLMToolEmulator",
    "LLMToolSelectorMiddleware",
    "ModelCallLimitExceededError",
    "ModelCallLimitMiddleware",
    "ModelCallLimitState",
    "ModelCallResult",
    "ModelChoice",
    "ModelFallbackMiddleware",
    "ModelRefusalError",
    "ModelRefusalMiddleware",
    "ModelRequest",
    "ModelResponse",
    "ModelRetryMiddleware",
    "ModelRouterMiddleware",
    "OmitFromInput",
    "OmitFromOutput",
    "OmitFromSchema",
    "OutputAgentState",
    "PIIDetectionError",
    "PIIMatch",
    "PIIMiddleware",
    "PlanningState",
    "PrivateStateAttr",
    "ProviderToolSearchMiddleware",
    "RedactionRule",
    "RejectDecision",
    "RespondDecision",
    "ReviewConfig",
    "Runtime",
    "ShellSession",
    "ShellToolError",
    "ShellToolMiddleware",
    "ShellToolState",
    "SummarizationMiddleware",
    "Todo",
    "TodoListMiddleware",
    "ToolApprovalRequest",
    "ToolCallLimitExceededError",
    "ToolCallLimitMiddleware",
    "ToolCallLimitState",
    "ToolCallRequest",
    "ToolErrorMiddleware",
    "ToolRetryMiddleware",
    "TracePolicy",
    "TriggerClause",
    "after_agent",
    "after_model",
    "before_agent",
    "before_model",
    "configure_trace_policy",
    "detect_credit_card",
    "detect_email",
    "detect_ip",
    "detect_mac_address",
    "detect_url",
    "dynamic_prompt",
    "hook_config",
    "internal_call_metadata",
    "omit_payload",
    "wrap_model_call",
    "wrap_tool_call",
    "write_todos",
]
