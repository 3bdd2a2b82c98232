"""``create_react_agent``: the standard two-node ReAct graph (model, tools, repeat) on any
model: a hone backend, a model spec string, or a LangChain chat model.

The agent's replies take the family of the conversation: LangChain ``AIMessage`` objects when
the state's last message is LangChain's, hone's ``AssistantMessage`` otherwise. An agent
built on a LangChain chat model keeps its conversation in LangChain's messages (its state's
``messages`` key is typed with them, so untyped input becomes LangChain messages too) and
stores the model's replies exactly as the model returned them.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeAlias

from hone.agent._scope import report_stop
from hone.agent._step import AgentStep, AgentTurn, FinalAnswer
from hone.agent._structured import StructuredStep
from hone.errors import ConfigError
from hone.graph._builder import StateGraph
from hone.graph._model_stream import astream_model
from hone.graph._types import END, START
from hone.graph.prebuilt._react_model import DynamicModel, ModelSource
from hone.graph.prebuilt._react_prompt import Prompt, as_hone, prompt_messages
from hone.graph.prebuilt._react_route import Routes, Version
from hone.graph.prebuilt._react_state import (
    check_state_schema,
    default_state_schema,
    hooked_input_schema,
    langchain_state_schema,
    state_value,
)
from hone.graph.prebuilt._review import ReviewedTool
from hone.graph.prebuilt._tool_node import ToolNode, is_langchain_turn
from hone.interop._messages import to_langchain
from hone.interop._model import ModelLike
from hone.messages import AssistantMessage
from hone.models import SamplingOptions
from hone.models._chat_reply import langchain_reply
from hone.tools import ToolLike, ToolRegistry
from hone.tools._convert import langchain_source

if TYPE_CHECKING:
    from hone.agents import AgentGuardrails, Guardrails
    from hone.checkpoint import Checkpointer
    from hone.graph._compiled import CompiledGraph

__all__ = ["Prompt", "ResponseFormat", "create_react_agent"]

logger = logging.getLogger(__name__)

#: The structured final answer ``create_react_agent`` asks for after the agent answers: a
#: schema (pydantic model, TypedDict, JSON schema, OpenAI function dict), LangGraph's
#: ``(prompt, schema)`` pair, or a :class:`~hone.agents.StructuredStep` (its own prompt,
#: sampling and attempt budget).
ResponseFormat: TypeAlias = StructuredStep | tuple[str, Any] | type | Mapping[str, Any]

#: LangGraph's answer when the steps run out while the model still calls tools.
_NEED_MORE_STEPS = "Sorry, need more steps to process this request."

#: The agent's name for its guardrails when it has none.
_NAME = "react_agent"


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
    """The turn's messages in the conversation's family: a LangChain model's reply exactly
    as it returned it (while the turn keeps it unchanged), other replies converted with the
    completion's metadata (see :func:`~hone.models._chat_reply.langchain_reply`)."""
    if not langchain:
        return list(turn.messages)
    return [
        langchain_reply(dataclasses.replace(turn.completion, message=m))
        if isinstance(m, AssistantMessage)
        else to_langchain(m)
        for m in turn.messages
    ]


def _structured_node(
    step: StructuredStep, source: ModelSource
) -> Callable[[Any], Awaitable[dict[str, Any]]]:
    """Node ``generate_structured_response``: the structured answer after the agent's."""

    async def generate_structured_response(state: Any) -> dict[str, Any]:
        backend = (await source.choose(state)).backend
        messages = as_hone(list(state_value(state, "messages", [])))
        turn = await step.arun(backend, messages, complete=astream_model)
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


def _turn_wide(tool_node: ToolNode) -> str | None:
    """Why the tool node must run each turn's calls together (v1's shape), or None."""
    if tool_node.options.guard is not None:
        return "its tool guardrails screen every call of a turn before any runs"
    if any(isinstance(t, ReviewedTool) for t in tool_node.tools):
        return "its with_review tools are all reviewed before any call of a turn runs"
    return None


def _graph_version(version: Version | None, tool_node: ToolNode, *, post_hook: bool) -> Version:
    """The version the graph is built with: ``version``, else v2 unless the tool node needs
    each turn's calls together.

    Raises:
        ConfigError: an unknown version; ``"v2"`` or a ``post_model_hook`` (which sends each
            call the hook leaves to the tools on its own) with a tool node that needs the
            whole turn.
    """
    if version not in (None, "v1", "v2"):
        raise ConfigError(f"version must be 'v1' or 'v2', got {version!r}")
    reason = _turn_wide(tool_node)
    if reason is None:
        return version or "v2"
    if version == "v2" or post_hook:
        asked = "version='v2'" if version == "v2" else "a post_model_hook"
        raise ConfigError(
            f"{asked} runs each tool call in its own task, but this agent needs a turn's calls "
            f"together: {reason}; leave version unset (or 'v1') and drop the post_model_hook"
        )
    return "v1"


def _builtin_tools(
    tools: ToolRegistry | Sequence[ToolLike | Mapping[str, Any]] | ToolNode,
) -> tuple[Mapping[str, Any], ...]:
    """The provider's own tools in ``tools`` (dicts such as ``{"type": "mcp", ...}``): offered
    to the model as they are and run by the provider, never by the tool node (LangGraph's
    ``llm_builtin_tools``)."""
    if isinstance(tools, ToolNode | ToolRegistry):
        return ()
    return tuple(t for t in tools if isinstance(t, Mapping))


def _offered(step: AgentStep, names: frozenset[str] | None) -> AgentStep:
    """``step`` offering only the tools ``names`` (a model's ``bind_tools``), or all."""
    if names is None:
        return step
    kept = tuple(
        t for t in step.tools if t.get("type") != "function" or t["function"]["name"] in names
    )
    return dataclasses.replace(step, tools=kept)


@dataclass(frozen=True, slots=True)
class _Agent:
    """What the model node needs: how to call the model, and when the steps run out."""

    step: AgentStep
    source: ModelSource
    prompt: Prompt | None
    hooked: bool
    #: Super-steps kept beyond a tool round: the structured answer after the last turn,
    #: and the hooks that run around each model turn.
    reserve: int
    guard: AgentGuardrails | None

    async def __call__(self, state: Any) -> dict[str, Any]:
        """Node ``agent``: one model turn (an :class:`~hone.agent.AgentStep`)."""
        choice = await self.source.choose(state)
        remaining = state_value(state, "remaining_steps")
        final_answer = self.step.final_answer
        turn = await _offered(self.step, choice.tools).arun(
            choice.backend,
            await prompt_messages(self.prompt, state, hooked=self.hooked),
            final=_final_turn(final_answer, remaining, self.reserve),
            complete=astream_model,
        )
        langchain = is_langchain_turn(state_value(state, "messages", []), "messages")
        if _out_of_steps(turn, remaining, self.reserve):
            # LangGraph's answer instead of a recursion error.
            report_stop("step_budget", choice.backend)
            sorry = AssistantMessage(id=turn.reply.id, content=_NEED_MORE_STEPS)
            return {"messages": [to_langchain(sorry) if langchain else sorry]}
        if self.guard is not None and turn.stop is not None:  # the agent's answer
            turn = await _checked_answer(self.guard, turn, state)
        return {"messages": _in_family(turn, langchain)}


def create_react_agent(
    model: ModelLike | DynamicModel | None,
    tools: ToolRegistry | Sequence[ToolLike | Mapping[str, Any]] | ToolNode,
    *,
    prompt: Prompt | None = None,
    response_format: ResponseFormat | None = None,
    pre_model_hook: Any = None,
    post_model_hook: Any = None,
    state_schema: type[Any] | None = None,
    context_schema: type[Any] | None = None,
    checkpointer: Checkpointer | None = None,
    store: Any = None,
    interrupt_before: Sequence[str] | None = None,
    interrupt_after: Sequence[str] | None = None,
    debug: bool = False,
    version: Version | None = None,
    name: str | None = "react_agent",
    options: SamplingOptions | None = None,
    final_answer: FinalAnswer | None = None,
    role: str | None = None,
    guardrails: Guardrails | None = None,
    **deprecated: Any,
) -> CompiledGraph:
    """A compiled ReAct agent: node ``agent`` calls the model with the tools' schemas; while
    the model calls tools, node ``tools`` (a :class:`ToolNode`) runs them and the model goes
    again; a turn without tool calls ends the run. With no tools there is no ``tools`` node.

    Each model turn is an :class:`~hone.agent.AgentStep`, the step ``run_agent`` takes: for
    the same conversation both send the same requests, and a model whose tool-call syntax
    cannot be parsed reads the same parse errors and tries again (straight back to the
    model: hooks do not run for a turn that could not be parsed).

    The step budget is the run's ``recursion_limit`` (a tool round takes two super-steps, a
    retry one). As in LangGraph, when the steps run out while the model still calls tools,
    the agent answers "Sorry, need more steps to process this request." instead of raising
    ``GraphRecursionError``; with ``final_answer`` it makes :class:`~hone.agent.FinalAnswer`'s
    turn instead (prompt appended, tools withheld) once no tool round fits any more:
    ``run_agent(max_steps=n)`` and ``recursion_limit=2 * n + 2`` send the same requests.
    The budget keeps a super-step for each hook and for the structured answer.

    The model is the one the run was given, when it was given one (rollouts give the
    recording policy: see :func:`~hone.graph.get_model`), else ``model``; so an agent built
    for serving trains without being rebuilt. With ``stream_mode="messages"`` the model's
    tokens stream as they are generated (see :func:`~hone.graph.astream_model`). Invoke it
    with ``{"messages": [("user", "...")]}``; the output state is :class:`AgentState`'s (or
    ``state_schema``'s).

    With ``version="v2"`` (the default, unless the tool node needs whole turns: see
    ``version``), the route after the model sends each tool call to its own ``tools`` task
    (``Send("tools", {"__type": "tool_call_with_context", "tool_call": ..., "state": ...})``,
    LangGraph's ``ToolCallWithContext``); all of a turn's tasks run in one super-step, so
    the step budget is the same as v1's, where one ``tools`` task runs the whole turn.

    With ``response_format``, as in LangGraph, once the agent answers, node
    ``generate_structured_response`` asks the model (the conversation, after the format's
    own prompt if it has one; no tools) for a value of the schema and puts it in the state's
    ``structured_response`` key; the messages stay as they are. The request carries the
    schema as ``response_format``; a reply that does not fit is shown to the model with its
    problems and retried (a :class:`~hone.agents.StructuredStep`: 3 attempts unless you pass
    your own), each attempt a model call a rollout records. When none fits,
    ``structured_response`` is None.

    With ``guardrails`` (:class:`~hone.agents.Guardrails`), node ``guard_input`` runs the
    input guardrails at the agent's entry and the model waits for it (a rejection is the
    agent's answer, and neither model nor tool runs); the tool node screens every call of a
    turn before any runs and checks each result; the answer is checked before it enters the
    state. Tools outside ``allowed_tools`` are not offered.

    Args:
        model: Any :class:`~hone.models.ModelBackend`, a model spec string
            (``"openai:gpt-4.1"``, ``"tiny:"``, or a LangChain provider such as
            ``"anthropic:..."``), a LangChain chat model (or its ``bind_tools(...)``
            binding: the model is then offered the tools it binds, which the agent must
            have), or LangGraph's dynamic model: a function ``(state, runtime) -> model``
            (sync or async, any of those kinds) called before each model turn and by
            ``generate_structured_response``; None: every run must be given one
            (:func:`~hone.graph.use_model`), which also wins over a dynamic model's choice.
        tools: The tools (a list of tools, LangChain tools or functions, a registry, or a
            ready :class:`ToolNode`); dicts in the list are the provider's built-in tools,
            offered to the model and never run by the tool node.
        prompt: A system prompt (text or a system message of either family), or a function
            of the state (sync or async; it may take ``config``, ``store``, ``runtime`` or
            ``writer`` as a node does) or a LangChain runnable returning the messages to send.
        response_format: The schema of a structured final answer (see
            :data:`ResponseFormat`); None: none.
        pre_model_hook: A node (function of the state, sync or async) run before every model
            call, as in LangGraph: it returns ``{"llm_input_messages": [...]}`` for what the
            model sees this turn (the history stays whole, and the key is not part of the
            output), or ``{"messages": [...]}`` to update the history; with the default state
            it may keep data in the ``context`` key. Short-term memory: a function using
            :func:`hone.memory.trim_messages`, or a :class:`hone.memory.SummarizationNode`
            with ``output_messages_key="llm_input_messages"``.
        post_model_hook: A node run after every model turn, as in LangGraph (validation,
            human review, guardrails of your own): it may change or remove the turn's tool
            calls, or answer some with tool messages. Then the calls of the last model turn
            that no tool message answers go to the tools (one ``Send`` each, whatever the
            version); when the hook answered them all, the model goes again; a turn
            without calls goes to the structured answer or ends the run.
        state_schema: The graph's state (a TypedDict or pydantic model); it must have
            ``messages`` and ``remaining_steps`` (and ``structured_response`` with
            ``response_format``): subclass :class:`AgentState` or
            :class:`AgentStatePydantic`. None: :class:`AgentState` (or
            :class:`AgentStateWithStructuredResponse`).
        context_schema: The type of the run context (``invoke(..., context=...)``) nodes,
            tools and a dynamic model read from ``runtime.context``.
        checkpointer: Saves each step; needed for threads, resumes and reviewed tools.
        store: A long-term store (:mod:`hone.store`) the nodes and tools reach with
            :func:`~hone.graph.get_store`, as LangGraph's ``store``.
        interrupt_before: Nodes (``"agent"``, ``"tools"``, ...) to pause before.
        interrupt_after: Nodes to pause after.
        debug: Print each step's tasks and writes, as ``stream(..., debug=True)`` does.
        version: ``"v2"``: each tool call runs in its own ``tools`` task; ``"v1"``: one
            task runs all calls of a turn. None (the default): ``"v2"``, unless the tool
            node needs each turn's calls together (:func:`with_review` tools, reviewed
            together, or tool guardrails, which screen every call before any runs): then
            ``"v1"``.
        name: The graph's name (and the agent's, for its guardrails).
        options: Sampling options for every model call.
        final_answer: hone's final-answer turn when the steps run out; None: LangGraph's
            "need more steps" reply.
        role: The role whose model the agent asks the run for (``get_model(role)``), for runs
            given one model per role.
        guardrails: Checks at the agent's boundaries (bound to ``name`` and ``role``).
        **deprecated: LangGraph's ``config_schema`` (a ``DeprecationWarning``; it is the
            ``context_schema``); any other keyword is a TypeError naming it.

    Raises:
        ConfigError: a ``response_format`` that is not a schema, a ``(prompt, schema)`` pair
            or a :class:`~hone.agents.StructuredStep`; ``guardrails`` naming tools the agent
            does not have; a ``state_schema`` missing a key the agent needs; an unknown
            ``version``, or ``"v2"`` or a ``post_model_hook`` with a tool node that needs
            whole turns; a model that is none of the kinds above, or a ``bind_tools``
            binding with other settings or tools the agent does not have.
    """
    if deprecated:
        context_schema = _context_from_deprecated(deprecated, context_schema)
    if state_schema is not None:
        check_state_schema(state_schema, structured=response_format is not None)
    structured = None if response_format is None else _structured_step(response_format, options)
    builtin = _builtin_tools(tools)
    if isinstance(tools, ToolNode):
        tool_node = tools
    else:
        tool_node = ToolNode([t for t in tools if not isinstance(t, Mapping)])
    guard = None if guardrails is None else guardrails.bind(agent=name or _NAME, role=role)
    if guard is not None:
        tool_node = guard.tool_node(tool_node)
    routes = Routes(
        version=_graph_version(version, tool_node, post_hook=post_model_hook is not None),
        tools=tool_node.name if tool_node.tools.names() else None,
        entry="pre_model_hook" if pre_model_hook is not None else "agent",
        post_hook=post_model_hook is not None,
        structured=structured is not None,
        direct=frozenset(
            t.name for t in tool_node.tools if getattr(langchain_source(t), "return_direct", False)
        ),
    )
    agent = _Agent(
        step=AgentStep(
            tools=(
                *(tool_node.tools.specs() if guard is None else guard.offered(tool_node.tools)),
                *builtin,
            ),
            sampling=options or SamplingOptions(),
            final_answer=final_answer,
        ),
        source=ModelSource(model, tool_node.tools.names(), role),
        prompt=prompt,
        hooked=pre_model_hook is not None,
        reserve=sum(x is not None for x in (structured, pre_model_hook, post_model_hook)),
        guard=guard,
    )
    schema = state_schema or default_state_schema(
        hooked=agent.hooked, structured=structured is not None
    )
    if agent.source.langchain:
        schema = langchain_state_schema(schema)
    graph = StateGraph(schema, context_schema=context_schema)
    input_schema = hooked_input_schema(schema) if agent.hooked else None
    graph.add_node("agent", agent, input_schema=input_schema)
    if routes.tools is not None:
        graph.add_node(routes.tools, tool_node)
        if routes.direct:
            graph.add_conditional_edges(routes.tools, routes.after_tools, [routes.entry, END])
        else:
            graph.add_edge(routes.tools, routes.entry)
    if structured is not None:
        graph.add_node("generate_structured_response", _structured_node(structured, agent.source))
        graph.add_edge("generate_structured_response", END)
    _add_hooks(graph, routes, pre_model_hook, post_model_hook)
    _add_entry(graph, guard, routes.entry)
    return graph.compile(
        checkpointer,
        store=store,
        interrupt_before=interrupt_before,
        interrupt_after=interrupt_after,
        debug=debug,
        name=name,
    )


def _add_hooks(graph: StateGraph, routes: Routes, pre_hook: Any, post_hook: Any) -> None:
    """The hooks around the model node, and the routes after it."""
    if pre_hook is not None:
        graph.add_node("pre_model_hook", pre_hook)
        graph.add_edge("pre_model_hook", "agent")
    if post_hook is not None:
        graph.add_node("post_model_hook", post_hook)
        graph.add_conditional_edges(
            "post_model_hook", routes.after_post_hook, routes.post_hook_targets()
        )
    graph.add_conditional_edges("agent", routes.after_model, routes.model_targets())


def _add_entry(graph: StateGraph, guard: AgentGuardrails | None, entry: str) -> None:
    """Start at ``entry``, after the input guardrails when there are some (a rejection is
    the agent's answer, and neither model nor tool runs)."""
    if guard is not None and guard.checks_input:
        graph.add_node("guard_input", guard.input_node(entry), destinations=(entry, END))
        graph.add_edge(START, "guard_input")
    else:
        graph.add_edge(START, entry)


def _context_from_deprecated(given: dict[str, Any], context_schema: Any) -> Any:
    """The context schema, from LangGraph's deprecated ``config_schema`` when only that is
    given; any other unknown keyword is refused as LangGraph refuses it.

    Raises:
        TypeError: a keyword create_react_agent does not take.
    """
    given = dict(given)
    if "config_schema" in given:
        warnings.warn(
            "`config_schema` is deprecated and will be removed. Please use `context_schema` "
            "instead.",
            DeprecationWarning,
            stacklevel=3,
        )
        config_schema = given.pop("config_schema")
        context_schema = context_schema or config_schema
    if given:
        raise TypeError(f"create_react_agent() got unexpected keyword arguments: {given}")
    return context_schema
