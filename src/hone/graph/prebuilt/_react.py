"""``create_react_agent``: the standard two-node ReAct graph (model, tools, repeat) on any
model: a hone backend, a model spec string, or a LangChain chat model.

The agent's replies take the family of the conversation: LangChain ``AIMessage`` objects when
the state's last message is LangChain's, hone's ``AssistantMessage`` otherwise.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Literal, NotRequired, TypeAlias

from hone.agent._scope import get_model, report_stop
from hone.agent._step import AgentStep, AgentTurn, FinalAnswer
from hone.agent._structured import StructuredStep
from hone.errors import ConfigError
from hone.graph._builder import StateGraph
from hone.graph._managed import RemainingSteps
from hone.graph._messages import MessagesState
from hone.graph._model_stream import astream_model
from hone.graph._types import END, START
from hone.graph.prebuilt._tool_node import ToolNode, _is_langchain_turn, _last_turn
from hone.interop._messages import from_langchain, is_langchain_message, to_langchain
from hone.interop._model import ModelLike, resolve_model
from hone.messages import AnyMessage, AssistantMessage, SystemMessage, to_message
from hone.models import ModelBackend, SamplingOptions
from hone.models._chat_reply import langchain_reply
from hone.tools import ToolLike, ToolRegistry

if TYPE_CHECKING:
    from hone.agents import AgentGuardrails, Guardrails
    from hone.checkpoint import Checkpointer
    from hone.graph._compiled import CompiledGraph

__all__ = ["Prompt", "ResponseFormat", "create_react_agent"]

logger = logging.getLogger(__name__)

#: A system prompt (text, or a hone or LangChain system message), or a function from the
#: state to the messages to send.
Prompt: TypeAlias = str | SystemMessage | Callable[[Any], Sequence[Any]] | Any

#: The structured final answer ``create_react_agent`` asks for after the agent answers: a
#: schema (pydantic model, TypedDict, JSON schema, OpenAI function dict), LangGraph's
#: ``(prompt, schema)`` pair, or a :class:`~hone.agents.StructuredStep` (its own prompt,
#: sampling and attempt budget).
ResponseFormat: TypeAlias = StructuredStep | tuple[str, Any] | type | Mapping[str, Any]

#: LangGraph's answer when the steps run out while the model still calls tools.
_NEED_MORE_STEPS = "Sorry, need more steps to process this request."


class _AgentState(MessagesState):
    """The conversation, and the super-steps left before the run's recursion limit (filled
    in by the runtime, never stored), as in LangGraph's ``AgentState``."""

    remaining_steps: NotRequired[RemainingSteps]


class _HookedAgentState(_AgentState):
    """``_AgentState`` with the keys a ``pre_model_hook`` writes: LangGraph's
    ``llm_input_messages`` (what the model sees this turn; the history is not changed) and
    ``context`` (state the hook keeps between turns, such as a running summary)."""

    llm_input_messages: NotRequired[list[Any]]
    context: NotRequired[dict[str, Any]]


class _HookedStructuredAgentState(_HookedAgentState):
    """``_HookedAgentState`` with ``structured_response``."""

    structured_response: NotRequired[Any]


class _StructuredAgentState(_AgentState):
    """``_AgentState`` with LangGraph's ``structured_response`` key: the value of the
    structured final answer (None when no reply fit within the attempts)."""

    structured_response: NotRequired[Any]


def _hone(values: Sequence[Any]) -> list[AnyMessage]:
    return [from_langchain(v) if is_langchain_message(v) else to_message(v) for v in values]


def _request_messages(prompt: Prompt | None, state: Any, hooked: bool = False) -> list[AnyMessage]:
    # After a pre_model_hook, the model sees what it put in ``llm_input_messages``.
    source = state.get("llm_input_messages") if hooked else None
    messages = _hone(list(source if source else state["messages"]))
    if prompt is None:
        return messages
    if isinstance(prompt, str):
        return [SystemMessage(content=prompt), *messages]
    if isinstance(prompt, SystemMessage) or is_langchain_message(prompt):
        return [*_hone([prompt]), *messages]
    return _hone(list(prompt(state)))


def _out_of_steps(turn: AgentTurn, remaining: int | None, reserve: int) -> bool:
    """LangGraph's rule: a turn that goes on (tool calls, or parse errors to retry) with fewer
    than two super-steps left gets its "need more steps" answer instead. ``reserve``: the
    super-steps kept for what runs after the answer (the structured response)."""
    return turn.stop is None and remaining is not None and remaining < 2 + reserve


def _final_turn(final_answer: FinalAnswer | None, remaining: int | None, reserve: int) -> bool:
    """Whether the model's turn must be the final-answer turn: a tool round would take the
    next two super-steps and the model's turn after it must still run before the limit (a
    step run with no super-step left ends the run with ``GraphRecursionError``, in LangGraph
    as in hone)."""
    return final_answer is not None and remaining is not None and remaining < 3 + reserve


def _structured_step(
    response_format: ResponseFormat, options: SamplingOptions | None
) -> StructuredStep:
    """The structured step ``response_format`` asks for.

    Raises:
        ConfigError: a tuple that is not ``(prompt text, schema)``, or a schema
            ``with_structured_output`` rejects.
    """
    if isinstance(response_format, StructuredStep):
        return response_format
    sampling = options or SamplingOptions()
    if isinstance(response_format, tuple):
        if len(response_format) != 2 or not isinstance(response_format[0], str):
            raise ConfigError(
                "response_format as a tuple must be (prompt, schema) with the prompt as text, "
                f"got {response_format!r}"
            )
        prompt, schema = response_format
        return StructuredStep(schema, system=prompt, sampling=sampling)
    return StructuredStep(response_format, sampling=sampling)


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


def _structured_node(
    step: StructuredStep, role: str | None, built: ModelBackend | None
) -> Callable[[Any], Awaitable[dict[str, Any]]]:
    """Node ``generate_structured_response``: the structured answer after the agent's."""

    async def generate_structured_response(state: Any) -> dict[str, Any]:
        backend = get_model(role, default=built)
        turn = await step.arun(backend, _hone(list(state["messages"])), complete=astream_model)
        if not turn.ok:
            logger.warning(
                "no structured response fit %r in %d attempts: %s",
                step.name,
                len(turn.attempts),
                "; ".join(turn.problems),
            )
        return {"structured_response": turn.value}

    return generate_structured_response


async def _checked_answer(guard: AgentGuardrails, turn: AgentTurn, state: Any) -> AgentTurn:
    """The turn with its answer as the output guardrails let it pass."""
    reply = turn.reply
    checked = await guard.check_reply(reply, state)
    if checked is reply:
        return turn
    return dataclasses.replace(
        turn, messages=tuple(checked if m is reply else m for m in turn.messages)
    )


def _route(state: Any) -> Literal["tools", "agent", "__end__"]:
    turn = _last_turn(state, "messages")
    if turn is not None:
        return "tools" if turn.tool_calls else "__end__"  # END
    # The model's turn could not be parsed: it gets the errors and another try.
    return "agent"


def _route_structured(
    state: Any,
) -> Literal["tools", "agent", "generate_structured_response"]:
    route = _route(state)
    return "generate_structured_response" if route == "__end__" else route


def create_react_agent(
    model: ModelLike | None,
    tools: ToolRegistry | Sequence[ToolLike] | ToolNode,
    *,
    prompt: Prompt | None = None,
    checkpointer: Checkpointer | None = None,
    store: Any = None,
    options: SamplingOptions | None = None,
    final_answer: FinalAnswer | None = None,
    response_format: ResponseFormat | None = None,
    role: str | None = None,
    guardrails: Guardrails | None = None,
    pre_model_hook: Any = None,
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

    With ``response_format``, as in LangGraph, once the agent answers, node
    ``generate_structured_response`` asks the model (the conversation, after the format's
    own prompt if it has one; no tools) for a value of the schema and puts it in the state's
    ``structured_response`` key; the messages stay as they are. The request carries the
    schema as ``response_format``; a reply that does not fit is shown to the model with its
    problems and retried (a :class:`~hone.agents.StructuredStep`: 3 attempts unless you pass
    your own), each attempt a model call a rollout records. When none fits,
    ``structured_response`` is None. The step budget keeps one super-step for this node.

    With ``guardrails`` (:class:`~hone.agents.Guardrails`), node ``guard_input`` runs the
    input guardrails at the agent's entry and the model waits for it (a rejection is the
    agent's answer, and neither model nor tool runs); the tool node screens every call of a
    turn before any runs and checks each result; the answer is checked before it enters the
    state. Tools outside ``allowed_tools`` are not offered.

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
        store: A long-term store (:mod:`hone.store`) the nodes and tools reach with
            :func:`~hone.graph.get_store`, as LangGraph's ``store``.
        options: Sampling options for every model call.
        final_answer: hone's final-answer turn when the steps run out; None: LangGraph's
            "need more steps" reply.
        response_format: The schema of a structured final answer (see
            :data:`ResponseFormat`); None: none.
        role: The role whose model the agent asks the run for (``get_model(role)``), for runs
            given one model per role.
        guardrails: Checks at the agent's boundaries (bound to ``name`` and ``role``).
        pre_model_hook: A node (function of the state, sync or async) run before every model
            call, as in LangGraph: it returns ``{"llm_input_messages": [...]}`` for what the
            model sees this turn (the history stays whole), or ``{"messages": [...]}`` to
            update the history; it may keep data in the state's ``context`` key. Short-term
            memory: a function using :func:`hone.memory.trim_messages`, or a
            :class:`hone.memory.SummarizationNode` with
            ``output_messages_key="llm_input_messages"``.
        interrupt_before: Nodes (``"agent"``, ``"tools"``) to pause before.
        interrupt_after: Nodes to pause after.
        name: The graph's name.

    Raises:
        ConfigError: a ``response_format`` that is not a schema, a ``(prompt, schema)`` pair
            or a :class:`~hone.agents.StructuredStep`; ``guardrails`` naming tools the agent
            does not have.
    """
    built = None if model is None else resolve_model(model)
    structured = None if response_format is None else _structured_step(response_format, options)
    hooked = pre_model_hook is not None
    # Super-steps kept beyond a tool round: the structured answer after the last turn, and
    # the hook that runs before each model turn.
    reserve = (0 if structured is None else 1) + (1 if hooked else 0)
    tool_node = tools if isinstance(tools, ToolNode) else ToolNode(tools)
    guard = None if guardrails is None else guardrails.bind(agent=name, role=role)
    if guard is not None:
        tool_node = guard.tool_node(tool_node)
    step = AgentStep(
        tools=tuple(tool_node.tools.specs() if guard is None else guard.offered(tool_node.tools)),
        sampling=options or SamplingOptions(),
        final_answer=final_answer,
    )

    # Unannotated state: the node reads the whole state (llm_input_messages too).
    async def call_model(state: Any) -> dict[str, Any]:
        backend = get_model(role, default=built)
        remaining = state.get("remaining_steps")
        turn = await step.arun(
            backend,
            _request_messages(prompt, state, hooked),
            final=_final_turn(final_answer, remaining, reserve),
            complete=astream_model,
        )
        langchain = _is_langchain_turn(state, "messages")
        if _out_of_steps(
            turn, remaining, reserve
        ):  # LangGraph's answer instead of a recursion error
            report_stop("step_budget", backend)
            sorry = AssistantMessage(id=turn.reply.id, content=_NEED_MORE_STEPS)
            return {"messages": [to_langchain(sorry) if langchain else sorry]}
        if guard is not None and turn.stop is not None:  # the agent's answer
            turn = await _checked_answer(guard, turn, state)
        return {"messages": _in_family(turn, langchain)}

    schemas = {
        (False, False): _AgentState,
        (False, True): _StructuredAgentState,
        (True, False): _HookedAgentState,
        (True, True): _HookedStructuredAgentState,
    }
    graph = StateGraph(schemas[(hooked, structured is not None)])
    graph.add_node("agent", call_model)
    graph.add_node(tool_node.name, tool_node)
    # Every model turn starts at ``entry``: the hook when there is one.
    entry = "pre_model_hook" if hooked else "agent"
    if hooked:
        graph.add_node("pre_model_hook", pre_model_hook)
        graph.add_edge("pre_model_hook", "agent")
    if guard is not None and guard.checks_input:
        graph.add_node("guard_input", guard.input_node(entry), destinations=(entry, END))
        graph.add_edge(START, "guard_input")
    else:
        graph.add_edge(START, entry)
    if structured is None:
        graph.add_conditional_edges(
            "agent", _route, {"tools": tool_node.name, "agent": entry, END: END}
        )
    else:
        graph.add_node("generate_structured_response", _structured_node(structured, role, built))
        graph.add_conditional_edges(
            "agent",
            _route_structured,
            {
                "tools": tool_node.name,
                "agent": entry,
                "generate_structured_response": "generate_structured_response",
            },
        )
        graph.add_edge("generate_structured_response", END)
    graph.add_edge(tool_node.name, entry)
    return graph.compile(
        checkpointer,
        store=store,
        interrupt_before=interrupt_before,
        interrupt_after=interrupt_after,
        name=name,
    )
