"""``create_react_agent``: the standard two-node ReAct graph (model, tools, repeat) on any
model: a hone backend, a model spec string, or a LangChain chat model.

The agent's replies take the family of the conversation: LangChain ``AIMessage`` objects when
the state's last message is LangChain's, hone's ``AssistantMessage`` otherwise.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, TypeAlias

from hone.graph._builder import StateGraph
from hone.graph._messages import MessagesState
from hone.graph._model_stream import astream_model
from hone.graph._types import END, START
from hone.graph.prebuilt._tool_node import ToolNode, _is_langchain_turn, _last_turn
from hone.interop._messages import from_langchain, is_langchain_message, to_langchain
from hone.interop._model import ModelLike, resolve_model
from hone.messages import AnyMessage, SystemMessage, UserMessage, to_message
from hone.models import ChatRequest, Completion, SamplingOptions
from hone.models._chat_reply import langchain_reply
from hone.tools import ToolLike, ToolRegistry

if TYPE_CHECKING:
    from hone.checkpoint import Checkpointer
    from hone.graph._compiled import CompiledGraph

__all__ = ["Prompt", "create_react_agent"]

#: A system prompt (text, or a hone or LangChain system message), or a function from the
#: state to the messages to send.
Prompt: TypeAlias = str | SystemMessage | Callable[[Any], Sequence[Any]] | Any


def _hone(values: Sequence[Any]) -> list[AnyMessage]:
    return [from_langchain(v) if is_langchain_message(v) else to_message(v) for v in values]


def _request_messages(prompt: Prompt | None, state: Any) -> list[AnyMessage]:
    messages = _hone(list(state["messages"]))
    if prompt is None:
        return messages
    if isinstance(prompt, str):
        return [SystemMessage(content=prompt), *messages]
    if isinstance(prompt, SystemMessage) or is_langchain_message(prompt):
        return [*_hone([prompt]), *messages]
    return _hone(list(prompt(state)))


def _reply(completion: Completion, langchain: bool) -> list[Any]:
    """The model's turn (and, when its tool calls could not be parsed, the parse errors for
    it to read), in the conversation's family."""
    reply: list[Any] = [completion.message]
    if completion.parse_errors and not completion.message.tool_calls:
        # The parser phrases its errors for the model ("Your tool call could not be parsed").
        reply.append(UserMessage(content="\n".join(completion.parse_errors)))
    if langchain:
        reply = [langchain_reply(completion), *(to_langchain(m) for m in reply[1:])]
    return reply


def _route(state: Any) -> Literal["tools", "agent", "__end__"]:
    turn = _last_turn(state, "messages")
    if turn is not None:
        return "tools" if turn.tool_calls else "__end__"  # END
    # The model's turn could not be parsed: it gets the errors and another try.
    return "agent"


def create_react_agent(
    model: ModelLike,
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
        model: Any :class:`~hone.models.ModelBackend`, a model spec string
            (``"openai:gpt-4.1"``, ``"tiny:"``, or a LangChain provider such as
            ``"anthropic:..."``), or a LangChain chat model.
        tools: The tools (a list of tools, LangChain tools or functions, a registry, or a
            ready :class:`ToolNode`).
        prompt: A system prompt (text or a system message of either family), or a function
            of the state returning the messages to send.
        checkpointer: Saves each step; needed for threads, resumes and reviewed tools.
        options: Sampling options for every model call.
        interrupt_before: Nodes (``"agent"``, ``"tools"``) to pause before.
        interrupt_after: Nodes to pause after.
        name: The graph's name.
    """
    backend = resolve_model(model)
    tool_node = tools if isinstance(tools, ToolNode) else ToolNode(tools)
    specs = tuple(tool_node.tools.specs())
    sampling = options or SamplingOptions()

    async def call_model(state: MessagesState) -> dict[str, Any]:
        request = ChatRequest(
            messages=tuple(_request_messages(prompt, state)), tools=specs, options=sampling
        )
        completion = await astream_model(backend, request)
        return {"messages": _reply(completion, _is_langchain_turn(state, "messages"))}

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
