"""``create_react_agent``: the standard two-node ReAct graph (model, tools, repeat) on any
model: a hone backend, a model spec string, or a LangChain chat model.

The agent's replies take the family of the conversation: LangChain ``AIMessage`` objects when
the state's last message is LangChain's, hone's ``AssistantMessage`` otherwise.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypeAlias

from hone.agent._scope import get_model, report_stop
from hone.agent._step import AgentStep, AgentTurn, FinalAnswer
from hone.graph._builder import StateGraph
from hone.graph._managed import RemainingSteps
from hone.graph._messages import MessagesState
from hone.graph._model_stream import astream_model
from hone.graph._types import END, START
from hone.graph.prebuilt._tool_node import ToolNode, _is_langchain_turn, _last_turn
from hone.interop._messages import from_langchain, is_langchain_message, to_langchain
from hone.interop._model import ModelLike, resolve_model
from hone.messages import AnyMessage, AssistantMessage, SystemMessage, to_message
from hone.models import SamplingOptions
from hone.models._chat_reply import langchain_reply
from hone.tools import ToolLike, ToolRegistry

if TYPE_CHECKING:
    from hone.checkpoint import Checkpointer
    from hone.graph._compiled import CompiledGraph

__all__ = ["Prompt", "create_react_agent"]

#: A system prompt (text, or a hone or LangChain system message), or a function from the
#: state to the messages to send.
Prompt: TypeAlias = str | SystemMessage | Callable[[Any], Sequence[Any]] | Any

#: LangGraph's answer when the steps run out while the model still calls tools.
_NEED_MORE_STEPS = "Sorry, need more steps to process this request."


class _AgentState(MessagesState):
    """The conversation, and the super-steps left before the run's recursion limit (filled
    in by the runtime, never stored), as in LangGraph's ``AgentState``."""

    remaining_steps: NotRequired[RemainingSteps]


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


def _out_of_steps(turn: AgentTurn, remaining: int | None) -> bool:
    """LangGraph's rule: a turn that goes on (tool calls, or parse errors to retry) with fewer
    than two super-steps left gets its "need more steps" answer instead."""
    return turn.stop is None and remaining is not None and remaining < 2


def _final_turn(final_answer: FinalAnswer | None, remaining: int | None) -> bool:
    """Whether the model's turn must be the final-answer turn: a tool round would take the
    next two super-steps and the model's turn after it must still run before the limit (a
    step run with no super-step left ends the run with ``GraphRecursionError``, in LangGraph
    as in hone)."""
    return final_answer is not None and remaining is not None and remaining < 3


def _in_family(turn: AgentTurn, langchain: bool) -> list[Any]:
    """The turn's messages in the conversation's family (LangChain replies carry the
    completion's metadata)."""
    if not langchain:
        return list(turn.messages)
    return [
        langchain_reply(dataclasses.replace(turn.completion, message=m))
        if isinstance(m, AssistantMessage)
        else to_langchain(m)
        for m in turn.messages
    ]


def _route(state: Any) -> Literal["tools", "agent", "__end__"]:
    turn = _last_turn(state, "messages")
    if turn is not None:
        return "tools" if turn.tool_calls else "__end__"  # END
    # The model's turn could not be parsed: it gets the errors and another try.
    return "agent"


def create_react_agent(
    model: ModelLike | None,
    tools: ToolRegistry | Sequence[ToolLike] | ToolNode,
    *,
    prompt: Prompt | None = None,
    checkpointer: Checkpointer | None = None,
    options: SamplingOptions | None = None,
    final_answer: FinalAnswer | None = None,
    role: str | None = None,
    interrupt_before: Sequence[str] = (),
    interrupt_after: Sequence[str] = (),
    name: str = "react_agent",
) -> CompiledGraph:
    """A compiled ReAct agent: node ``agent`` calls the model with the tools' schemas; while
    the model calls tools, node ``tools`` (a :class:`ToolNode`) runs them and the model goes
    again; a turn without tool calls ends the run.

    Each model turn is an :class:`~hone.agent.AgentStep`, the step ``run_agent`` takes: for
    the same conversation both send the same requests, and a model whose tool-call syntax
    cannot be parsed reads the same parse errors and tries again.

    The step budget is the run's ``recursion_limit`` (a tool round takes two super-steps, a
    retry one). As in LangGraph, when the steps run out while the model still calls tools,
    the agent answers "Sorry, need more steps to process this request." instead of raising
    ``GraphRecursionError``; with ``final_answer`` it makes :class:`~hone.agent.FinalAnswer`'s
    turn instead (prompt appended, tools withheld) once no tool round fits any more:
    ``run_agent(max_steps=n)`` and ``recursion_limit=2 * n + 2`` send the same requests.

    The model is the one the run was given, when it was given one (rollouts give the
    recording policy: see :func:`~hone.graph.get_model`), else ``model``; so an agent built
    for serving trains without being rebuilt. With ``stream_mode="messages"`` the model's
    tokens stream as they are generated (see :func:`~hone.graph.astream_model`). Invoke it
    with ``{"messages": [("user", "...")]}``; the output state is
    :class:`~hone.graph.MessagesState`'s.

    Args:
        model: Any :class:`~hone.models.ModelBackend`, a model spec string
            (``"openai:gpt-4.1"``, ``"tiny:"``, or a LangChain provider such as
            ``"anthropic:..."``), or a LangChain chat model; None: every run must be given
            one (:func:`~hone.graph.use_model`).
        tools: The tools (a list of tools, LangChain tools or functions, a registry, or a
            ready :class:`ToolNode`).
        prompt: A system prompt (text or a system message of either family), or a function
            of the state returning the messages to send.
        checkpointer: Saves each step; needed for threads, resumes and reviewed tools.
        options: Sampling options for every model call.
        final_answer: hone's final-answer turn when the steps run out; None: LangGraph's
            "need more steps" reply.
        role: The role whose model the agent asks the run for (``get_model(role)``), for runs
            given one model per role.
        interrupt_before: Nodes (``"agent"``, ``"tools"``) to pause before.
        interrupt_after: Nodes to pause after.
        name: The graph's name.
    """
    built = None if model is None else resolve_model(model)
    tool_node = tools if isinstance(tools, ToolNode) else ToolNode(tools)
    step = AgentStep(
        tools=tuple(tool_node.tools.specs()),
        sampling=options or SamplingOptions(),
        final_answer=final_answer,
    )

    async def call_model(state: _AgentState) -> dict[str, Any]:
        backend = get_model(role, default=built)
        remaining = state.get("remaining_steps")
        turn = await step.arun(
            backend,
            _request_messages(prompt, state),
            final=_final_turn(final_answer, remaining),
            complete=astream_model,
        )
        langchain = _is_langchain_turn(state, "messages")
        if _out_of_steps(turn, remaining):  # LangGraph's answer instead of a recursion error
            report_stop("step_budget", backend)
            sorry = AssistantMessage(id=turn.reply.id, content=_NEED_MORE_STEPS)
            return {"messages": [to_langchain(sorry) if langchain else sorry]}
        return {"messages": _in_family(turn, langchain)}

    graph = StateGraph(_AgentState)
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
