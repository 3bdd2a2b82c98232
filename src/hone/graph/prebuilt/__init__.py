"""Ready-made graph parts: a tool-running node, its router, a ReAct agent, and tool review.

::

    from hone.graph.prebuilt import ToolNode, create_react_agent, tools_condition, with_review

    agent = create_react_agent(model, [search, with_review(send_email)], checkpointer=saver)

Tools may ask for what the model must not choose: ``Annotated[dict, InjectedState]`` (the
graph state, or ``InjectedState("key")`` one key), ``Annotated[BaseStore, InjectedStore()]``
and ``runtime: ToolRuntime``. These three load on first use: with langchain-core installed
they subclass its markers, and importing this package never imports LangChain.
"""

from typing import TYPE_CHECKING, Any

from hone.graph.prebuilt._injected import tool_runtime
from hone.graph.prebuilt._react import create_react_agent
from hone.graph.prebuilt._react_prompt import Prompt
from hone.graph.prebuilt._react_state import (
    AgentState,
    AgentStatePydantic,
    AgentStateWithStructuredResponse,
    AgentStateWithStructuredResponsePydantic,
)
from hone.graph.prebuilt._review import (
    ReviewConfig,
    ReviewDecision,
    ReviewedTool,
    review_interrupt_id,
    with_review,
)
from hone.graph.prebuilt._tool_errors import ERRORS_AS_VALUES, HandleToolErrors
from hone.graph.prebuilt._tool_node import ToolNode, tools_condition
from hone.graph.prebuilt._tool_request import (
    AsyncToolCallWrapper,
    ToolCallRequest,
    ToolCallWithContext,
    ToolCallWrapper,
)
from hone.graph.streaming._tools import ToolCallTransformer

if TYPE_CHECKING:
    from hone.graph.prebuilt._markers import InjectedState, InjectedStore, ToolRuntime

__all__ = [
    "ERRORS_AS_VALUES",
    "AgentState",
    "AgentStatePydantic",
    "AgentStateWithStructuredResponse",
    "AgentStateWithStructuredResponsePydantic",
    "AsyncToolCallWrapper",
    "HandleToolErrors",
    "InjectedState",
    "InjectedStore",
    "Prompt",
    "ReviewConfig",
    "ReviewDecision",
    "ReviewedTool",
    "ToolCallRequest",
    "ToolCallTransformer",
    "ToolCallWithContext",
    "ToolCallWrapper",
    "ToolNode",
    "ToolRuntime",
    "create_react_agent",
    "review_interrupt_id",
    "tool_runtime",
    "tools_condition",
    "with_review",
]

#: Names loaded on first use from ``_markers`` (which imports langchain-core when installed).
_LAZY = frozenset({"InjectedState", "InjectedStore", "ToolRuntime"})


def __getattr__(name: str) -> Any:
    """``InjectedState``, ``InjectedStore`` and ``ToolRuntime``, imported on first use."""
    if name in _LAZY:
        from hone.graph.prebuilt import _markers

        value = getattr(_markers, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})
