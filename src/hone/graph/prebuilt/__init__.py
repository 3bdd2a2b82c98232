"""Ready-made graph parts: a tool-running node, its router, a ReAct agent, and tool review.

::

    from hone.graph.prebuilt import ToolNode, create_react_agent, tools_condition, with_review

    agent = create_react_agent(model, [search, with_review(send_email)], checkpointer=saver)
"""

from hone.graph.prebuilt._react import Prompt, create_react_agent
from hone.graph.prebuilt._review import (
    ReviewConfig,
    ReviewDecision,
    ReviewedTool,
    review_interrupt_id,
    with_review,
)
from hone.graph.prebuilt._tool_errors import HandleToolErrors
from hone.graph.prebuilt._tool_node import ToolNode, tools_condition
from hone.graph.prebuilt._tool_request import (
    AsyncToolCallWrapper,
    ToolCallRequest,
    ToolCallWithContext,
    ToolCallWrapper,
)

__all__ = [
    "AsyncToolCallWrapper",
    "HandleToolErrors",
    "Prompt",
    "ReviewConfig",
    "ReviewDecision",
    "ReviewedTool",
    "ToolCallRequest",
    "ToolCallWithContext",
    "ToolCallWrapper",
    "ToolNode",
    "create_react_agent",
    "review_interrupt_id",
    "tools_condition",
    "with_review",
]
