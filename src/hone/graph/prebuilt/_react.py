"""``create_react_agent``: the standard two-node ReAct graph (model, tools, repeat) on a hone
model backend."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from hone.graph._builder import StateGraph
from hone.graph._messages import MessagesState
from hone.graph._model_stream import astream_model
from hone.graph._types import END, START
from hone.graph.prebuilt._tool_node import ToolNode, _last_turn
from hone.messages import AnyMessage, SystemMessage, UserMessage, to_messages
from hone.models import ChatRequest, ModelBackend, SamplingOptions
from hone.tools import ToolLike, ToolRegistry

if TYPE_CHECKING:
    from hone.checkpoint import Checkpointer
    from hone.graph._compiled import CompiledGraph

__all__ = ["Prompt", "create_react_agent"]

#: A system prompt (text or message), or a function from the state to the messages to send.
Prompt: TypeAlias = str | SystemMessage | Callable[[Any], Sequence[Any]]


def _request_messages(prompt: Prompt | None, state: Any) -> list[AnyMessage]:
    messages = to_messages(list(state["messages"]))
    if prompt is None:
        return messages
    if isinstance(prompt, str):
        return [SystemMessage(content=prompt), *messages]
    if isinstance(prompt, SystemMessage):
        return [prompt, *messages]
    return to_messages(list(prompt(state)))


def _parse_feedback(errors: Sequence[str]) -> UserMessage:
    # The parser phrases its errors for the model ("Your tool call could not be parsed: ...").
    return UserMessage(content="\n".join(errors))


def _route(state: Any) -> Literal["tools", "agent", "__end__"]:
    turn = _last_turn(state, "messages")
    if turn is not None:
        return "tools" if turn.tool_calls else "__end__"  # END
    # The model's turn could not be parsed: it gets the errors and another try.
    return "agent"


def create_react_agent(
    model: ModelBackend,
    tools: ToolRegistry | Sequence[ToolLike] | ToolNode,
    *,
    prompt: Prompt | None = None,
    checkpointer: Checkpointer | None = None,
    options: SamplingOptions | None = None,
    interrupt_before: Sequence[str] = (),
    interrupt_after: Sequence[str] = (),
    name: str = "react_agent",
) -> CompiledGraph:
    """A compiled ReAct agent: node ``agent`` calls the model with the tools' schemas; while
    the model calls tools, node ``tools`` (a :class:`ToolNode`) runs them and the model goes
    again; a turn without tool calls ends the run.

    With ``stream_mode="messages"`` the model's tokens stream as they are generated (see
    :func:`~hone.graph.astream_model`). The state is :class:`~hone.graph.MessagesState`. Invoke it with
    ``{"messages": [("user", "...")]}``. When the model's tool-call syntax cannot be parsed,
    it reads the parse errors and tries again (bounded by the run's ``recursion_limit``).

    Args:
        model: Any :class:`~hone.models.ModelBackend`.
        tools: The tools (a list, a registry, or a ready :class:`ToolNode`).
        prompt: A system prompt, or a function of the state returning the messages to send.
        checkpointer: Saves each step; needed for threads, resumes and reviewed tools.
        options: Sampling options for every model call.
        interrupt_before: Nodes (``"agent"``, ``"tools"``) to pause before.
        interrupt_after: Nodes to pause after.
        name: The graph's name.
    """
    tool_node = tools if isinstance(tools, ToolNode) else ToolNode(tools)
    specs = tuple(tool_node.tools.specs())
    sampling = options or SamplingOptions()

    async def call_model(state: MessagesState) -> dict[str, Any]:
        request = ChatRequest(
            messages=tuple(_request_messages(prompt, state)), tools=specs, options=sampling
        )
        completion = await astream_model(model, request)
        reply: list[AnyMessage] = [completion.message]
        if completion.parse_errors and not completion.message.tool_calls:
            reply.append(_parse_feedback(completion.parse_errors))
        return {"messages": reply}

    graph = StateGraph(MessagesState)
    graph.add_node("agent", call_model)
    graph.add_node(tool_node.name, tool_node)
    graph.add_edge(START, "agent")
    graph.add_conditional_edges(
        "agent", _route, {"tools": tool_node.name, "agent": "agent", END: END}
    )
    graph.add_edge(tool_node.name, "agent")
    return graph.compile(
        checkpointer,
        interrupt_before=interrupt_before,
        interrupt_after=interrupt_after,
        name=name,
    )
