"""Ready-made graph parts: a tool-running node, its router, a ReAct agent, and tool review.

::

    from hone.graph.prebuilt import ToolNode, create_react_agent, tools_condition, with_review

    agent = create_react_agent(model, [search, with_review(send_email)], checkpointer=saver)
"""

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
from hone.graph.prebuilt._tool_node import ToolNode, tools_condition

__all__ = [
    "AgentState",
    "AgentStatePydantic",
    "AgentStateWithStructuredResponse",
    "AgentStateWithStructuredResponsePydantic",
    "Prompt",
    "ReviewConfig",
    "ReviewDecision",
    "ReviewedTool",
    "ToolNode",
    "create_react_agent",
    "review_interrupt_id",
    "tools_condition",
    "with_review",
]
