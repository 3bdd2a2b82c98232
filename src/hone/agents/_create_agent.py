"""``create_agent``: LangChain's agent (``langchain.agents.create_agent``) on hone's graph
runtime — a model node, a tool node, and middleware hooks around them.

The graph: ``START`` → each middleware's ``before_agent`` → each ``before_model`` →
``model`` → each ``after_model`` (the last middleware's first) → ``tools`` (one task per
call) and back to the first ``before_model``, or out through each ``after_agent`` (the last
middleware's first) to ``END``. Hooks marked with ``hook_config(can_jump_to=...)`` route on
the ``jump_to`` they return. ``wrap_model_call`` / ``wrap_tool_call`` wrap every call, the
first middleware outermost.
"""

from __future__ import annotations

import itertools
import typing
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Annotated, Any, get_args, get_origin

from typing_extensions import TypedDict

from hone.agents._agent_chain import AsyncModelWrapper, ModelWrapper
from hone.agents._agent_model import ModelNode
from hone.agents._agent_routes import Jumps, tools_route
from hone.agents._subagent_stream import SubagentTransformer
from hone.agents.middleware._base import HOOKS, AgentMiddleware, can_jump_to, defined, implements
from hone.agents.middleware._trace_policy import hook_trace_policy
from hone.agents.middleware._types import AgentState, OmitFromSchema, system_message_for
from hone.agents.structured_output import (
    AutoStrategy,
    OutputToolBinding,
    ProviderStrategy,
    ToolStrategy,
)
from hone.errors import ConfigError
from hone.graph._builder import StateGraph
from hone.graph._context import get_runtime
from hone.graph._types import END, START
from hone.graph.prebuilt._react_state import langchain_state_schema
from hone.graph.prebuilt._tool_errors import LANGGRAPH_DEFAULT
from hone.graph.prebuilt._tool_node import ToolNode
from hone.graph.streaming._tools import ToolCallTransformer
from hone.interop import resolve_model
from hone.interop._model import is_langchain_chat_model
from hone.tools import Tool
from hone.tools._convert import is_langchain_tool, langchain_source

if TYPE_CHECKING:
    from hone.checkpoint import Checkpointer
    from hone.graph._compiled import CompiledGraph

__all__ = ["create_agent"]


class _HookNode:
    """A middleware's node hook as a node: the sync hook in a sync run, the async one in an
    async run (a sync hook serves both; an async-only hook needs an async run)."""

    def __init__(self, name: str, sync: Callable[..., Any] | None, asynced: Any) -> None:
        self.name = name
        self._sync = sync
        self._async = asynced

    def invoke(self, state: Any, config: Any = None) -> Any:
        if self._sync is None:
            raise TypeError(
                f'No synchronous function provided to "{self.name}".\nEither initialize with '
                "a synchronous function or invoke via the async API (ainvoke, astream, etc.)"
            )
        return self._sync(state, get_runtime())

    async def ainvoke(self, state: Any, config: Any = None) -> Any:
        if self._async is None:
            assert self._sync is not None
            return self._sync(state, get_runtime())
        return await self._async(state, get_runtime())


def _metadata(annotation: Any) -> list[Any]:
    while get_origin(annotation) in (typing.Required, typing.NotRequired):
        annotation = get_args(annotation)[0]
    return list(annotation.__metadata__) if get_origin(annotation) is Annotated else []


def _merged(schemas: Sequence[type[Any]], name: str, omit: str | None) -> type[Any]:
    """One TypedDict with the keys of ``schemas`` (a later schema's key wins), leaving out
    the keys marked with :class:`OmitFromSchema` for ``omit`` (``"input"`` / ``"output"``).

    Raises:
        ConfigError: a schema whose keys cannot be read.
    """
    keys: dict[str, Any] = {}
    for schema in dict.fromkeys(schemas):
        try:
            hints = typing.get_type_hints(schema, include_extras=True)
        except Exception as exc:
            raise ConfigError(
                f"state schema {getattr(schema, '__name__', schema)!r} must be a TypedDict "
                f"with annotated keys: {exc}"
            ) from exc
        for key, annotation in hints.items():
            keys.pop(key, None)
            marks = [m for m in _metadata(annotation) if isinstance(m, OmitFromSchema)]
            if omit is None or not any(getattr(m, omit) for m in marks):
                keys[key] = annotation
    merged: type[Any] = TypedDict(name, keys)  # type: ignore[misc]
    return merged


def _composed_tool_wrappers(wrappers: Sequence[Any]) -> Any:
    """One ``wrap_tool_call`` from several, the first outermost."""
    if not wrappers:
        return None

    def compose(outer: Any, inner: Any) -> Any:
        def composed(request: Any, execute: Any) -> Any:
            return outer(request, lambda req: inner(req, execute))

        return composed

    result = wrappers[-1]
    for wrapper in reversed(wrappers[:-1]):
        result = compose(wrapper, result)
    return result


def _composed_async_tool_wrappers(wrappers: Sequence[Any]) -> Any:
    """Async :func:`_composed_tool_wrappers`."""
    if not wrappers:
        return None

    def compose(outer: Any, inner: Any) -> Any:
        async def composed(request: Any, execute: Any) -> Any:
            async def call_inner(req: Any) -> Any:
                return await inner(req, execute)

            return await outer(request, call_inner)

        return composed

    result = wrappers[-1]
    for wrapper in reversed(wrappers[:-1]):
        result = compose(wrapper, result)
    return result


def _response_format(response_format: Any) -> tuple[Any, ToolStrategy[Any] | None]:
    """The strategy asked for (a bare schema means :class:`AutoStrategy`), and the tool
    strategy whose tools the agent gets ready (the auto strategy may fall back to it)."""
    if response_format is None:
        return None, None
    if not isinstance(response_format, ToolStrategy | ProviderStrategy | AutoStrategy):
        response_format = AutoStrategy(response_format)
    if isinstance(response_format, AutoStrategy):
        return response_format, ToolStrategy(response_format.schema)
    if isinstance(response_format, ToolStrategy):
        return response_format, response_format
    return response_format, None


def _tool_node(middleware: Sequence[AgentMiddleware[Any, Any, Any]], tools: list[Any]) -> Any:
    """The agent's tool node: the middleware's tools and ``tools``, every ``wrap_tool_call``
    around each call, and LangChain's error handling (bad arguments answered, a tool's own
    exceptions propagated to the wrappers); None when there is nothing to run."""
    runnable = [t for m in middleware for t in getattr(m, "tools", ())] + tools
    wrapping = [m for m in middleware if implements(m, "wrap_tool_call")]
    if not runnable and not wrapping:
        return None
    return ToolNode(
        runnable,
        handle_tool_errors=LANGGRAPH_DEFAULT,
        wrap_tool_call=_composed_tool_wrappers([m.wrap_tool_call for m in wrapping]),
        awrap_tool_call=_composed_async_tool_wrappers([m.awrap_tool_call for m in wrapping]),
    )


def _schemas(
    middleware: Sequence[AgentMiddleware[Any, Any, Any]],
    state_schema: type[Any] | None,
    *,
    langchain: bool,
) -> tuple[type[Any], type[Any], type[Any]]:
    """The graph's state, input and output schemas: the middleware's state schemas merged,
    ``state_schema`` (or :class:`AgentState`) last; typed with LangChain's messages for a
    LangChain chat model."""
    schemas = [*(m.state_schema for m in middleware), state_schema or AgentState]
    merged = (
        _merged(schemas, "StateSchema", None),
        _merged(schemas, "InputSchema", "input"),
        _merged(schemas, "OutputSchema", "output"),
    )
    if not langchain:
        return merged
    state, input_schema, output_schema = (langchain_state_schema(s) for s in merged)
    return state, input_schema, output_schema


def _is_direct(tool: Any) -> bool:
    return bool(getattr(langchain_source(tool) or tool, "return_direct", False))


def create_agent(
    model: Any,
    tools: Sequence[Any] | None = None,
    *,
    system_prompt: Any = None,
    middleware: Sequence[AgentMiddleware[Any, Any, Any]] = (),
    response_format: Any = None,
    state_schema: type[Any] | None = None,
    context_schema: type[Any] | None = None,
    checkpointer: Checkpointer | None = None,
    store: Any = None,
    interrupt_before: list[str] | None = None,
    interrupt_after: list[str] | None = None,
    debug: bool = False,
    name: str | None = None,
    cache: Any = None,
    transformers: Sequence[Callable[[tuple[str, ...]], Any]] | None = None,
) -> CompiledGraph:
    """An agent graph as LangChain's ``create_agent`` builds it (see the module docs).

    Invoke it with ``{"messages": [...]}``; the result holds the conversation and, with a
    ``response_format``, ``structured_response``. Every model call goes to the model the
    run was given when it was given one (rollouts give the recording policy: see
    :func:`~hone.graph.use_model`), so an agent built for serving trains unchanged.

    Args:
        model: a LangChain chat model (called through its ``bind_tools``), a hone backend,
            or a model spec string (``"openai:gpt-4.1"``, ``"tiny:"``).
        tools: tools (hone tools, LangChain tools, functions); dicts are the provider's
            built-in tools, offered to the model and never run here.
        system_prompt: text or a system message (either family).
        middleware: :class:`~hone.agents.middleware.AgentMiddleware` instances, outermost
            first; their names must be unique.
        response_format: a schema (pydantic model, dataclass, TypedDict, JSON schema) or a
            :class:`~hone.agents.structured_output.ToolStrategy` / ``ProviderStrategy`` /
            ``AutoStrategy``.
        state_schema: a TypedDict extending :class:`~hone.agents.middleware.AgentState`.
        context_schema: the type of ``invoke(..., context=...)``.
        checkpointer: saves each step (threads, interrupts, resumes).
        store: the long-term store hooks and tools reach through the runtime.
        interrupt_before: nodes to pause before.
        interrupt_after: nodes to pause after.
        debug: print each step.
        name: the graph's name, also set on the model's replies.
        cache: the node cache.
        transformers: stream transformer factories for ``stream_events(version="v3")``
            runs of the agent, after ``ToolCallTransformer`` (``run.tool_calls``),
            ``SubagentTransformer`` (``run.subagents``: named agents it calls) and those
            its middleware declare (``transformers`` class attribute); each factory once
            (:mod:`hone.graph.streaming`).

    Raises:
        ConfigError: two middleware with one name; a state schema that is not a TypedDict.
        ValueError: a ``response_format`` schema of an unsupported kind.
    """
    names = [m.name for m in middleware]
    duplicated = sorted({n for n in names if names.count(n) > 1})
    if duplicated:
        raise ConfigError(
            f"Please remove duplicate middleware instances: {', '.join(duplicated)} "
            "appear more than once (a middleware's name must be unique in an agent)"
        )
    langchain = is_langchain_chat_model(model)
    if not langchain and model is not None:
        model = resolve_model(model)
    if isinstance(system_prompt, str):
        system_prompt = system_message_for(model, system_prompt)
    initial_format, setup = _response_format(response_format)
    output_tools = (
        {}
        if setup is None
        else {
            b.name: b for b in (OutputToolBinding.from_schema_spec(s) for s in setup.schema_specs)
        }
    )
    given = list(tools or ())
    if langchain:
        # As LangChain's agent does: plain functions become LangChain tools, so the model
        # binds (and middleware sees in ``request.tools``) exactly what LangChain's would.
        given = [_langchain_tool_of(t) for t in given]
    builtin = [t for t in given if isinstance(t, Mapping)]
    tool_node = _tool_node(middleware, [t for t in given if not isinstance(t, Mapping)])
    registered = {} if tool_node is None else tool_node.tools_by_name
    with_hook = {hook: [m for m in middleware if implements(m, hook)] for hook in HOOKS}
    wrapping = [m for m in middleware if implements(m, "wrap_model_call")]
    sync_wrappers: list[tuple[str, ModelWrapper]] = [(m.name, m.wrap_model_call) for m in wrapping]
    async_wrappers: list[tuple[str, AsyncModelWrapper]] = [
        (m.name, m.awrap_model_call) for m in wrapping
    ]

    state, input_schema, output_schema = _schemas(middleware, state_schema, langchain=langchain)
    graph = StateGraph(
        state,
        context_schema=context_schema,
        input_schema=input_schema,
        output_schema=output_schema,
    )
    graph.add_node(
        "model",
        ModelNode(
            model=model,
            tools=[*registered.values(), *builtin],
            system_message=system_prompt,
            response_format=initial_format,
            setup_strategy=setup,
            output_tools=output_tools,
            registered=registered,
            wraps_tools=any(implements(m, "wrap_tool_call") for m in middleware),
            wrappers=sync_wrappers,
            async_wrappers=async_wrappers,
            name=name,
        ),
    )
    if tool_node is not None:
        graph.add_node("tools", tool_node)
    for m in middleware:
        for hook in HOOKS:
            if implements(m, hook):
                node = f"{m.name}.{hook}"
                action = _HookNode(node, defined(m, hook), defined(m, f"a{hook}"))
                graph.add_node(node, action, input_schema=state, trace_policy=hook_trace_policy(m))
    _wire(graph, with_hook, tool_node, output_tools, initial_format, bool(wrapping))
    compiled = graph.compile(
        checkpointer,
        cache=cache,
        store=store,
        interrupt_before=interrupt_before,
        interrupt_after=interrupt_after,
        debug=debug,
        name=name,
        transformers=_unique(
            [
                ToolCallTransformer,
                SubagentTransformer,
                *(t for m in middleware for t in getattr(m, "transformers", ())),
                *(transformers or ()),
            ]
        ),
    )
    metadata: dict[str, Any] = {"ls_integration": "langchain_create_agent"}
    if name:
        metadata["lc_agent_name"] = name
    configured: CompiledGraph = compiled.with_config(
        {"recursion_limit": 9_999, "metadata": metadata}
    )
    return configured


def _wire(
    graph: StateGraph,
    with_hook: Mapping[str, list[AgentMiddleware[Any, Any, Any]]],
    tool_node: ToolNode | None,
    output_tools: Mapping[str, OutputToolBinding[Any]],
    response_format: Any,
    wraps_model: bool,
) -> None:
    """The edges of the agent's graph (see the module docs)."""
    before_agent, before_model = with_hook["before_agent"], with_hook["before_model"]
    after_model, after_agent = with_hook["after_model"], with_hook["after_agent"]
    loop_entry = f"{before_model[0].name}.before_model" if before_model else "model"
    entry = f"{before_agent[0].name}.before_agent" if before_agent else loop_entry
    loop_exit = f"{after_model[0].name}.after_model" if after_model else "model"
    exit_node = f"{after_agent[-1].name}.after_agent" if after_agent else END
    jumps = Jumps(model=loop_entry, end=exit_node)

    def hook_edge(m: AgentMiddleware[Any, Any, Any], hook: str, default: str) -> None:
        node = f"{m.name}.{hook}"
        jumps_to = can_jump_to(m, hook)
        if jumps_to:
            targets = jumps.targets(default, jumps_to, node)
            graph.add_conditional_edges(node, jumps.hook_route(default), targets)
        else:
            graph.add_edge(node, default)

    graph.add_edge(START, entry)
    if tool_node is not None:
        direct = {t.name: _is_direct(t) for t in tool_node.tools}
        after_tools = [loop_entry]
        if any(direct.values()) or output_tools:
            after_tools.append(exit_node)
        graph.add_conditional_edges(
            "tools", tools_route(jumps, direct, output_tools.keys()), after_tools
        )
        targets = ["tools", exit_node]
        if response_format is not None or loop_exit != "model" or wraps_model:
            targets.append(loop_entry)
        graph.add_conditional_edges(loop_exit, jumps.after_model(output_tools.keys()), targets)
    elif output_tools:
        graph.add_conditional_edges(loop_exit, jumps.model_to_model(), [loop_entry, exit_node])
    elif loop_exit == "model":
        graph.add_edge("model", exit_node)
    else:
        hook_edge(after_model[0], "after_model", exit_node)
    for first, second in itertools.pairwise(before_agent):
        hook_edge(first, "before_agent", f"{second.name}.before_agent")
    if before_agent:
        hook_edge(before_agent[-1], "before_agent", loop_entry)
    for first, second in itertools.pairwise(before_model):
        hook_edge(first, "before_model", f"{second.name}.before_model")
    if before_model:
        hook_edge(before_model[-1], "before_model", "model")
    if after_model:
        graph.add_edge("model", f"{after_model[-1].name}.after_model")
        for index in range(len(after_model) - 1, 0, -1):
            hook_edge(
                after_model[index], "after_model", f"{after_model[index - 1].name}.after_model"
            )
    for index in range(len(after_agent) - 1, 0, -1):
        hook_edge(after_agent[index], "after_agent", f"{after_agent[index - 1].name}.after_agent")
    if after_agent:
        hook_edge(after_agent[0], "after_agent", END)


def _unique(factories: list[Any]) -> list[Any]:
    """``factories`` in order, each once (by identity: factories need not be hashable)."""
    unique: dict[int, Any] = {}
    for factory in factories:
        unique.setdefault(id(factory), factory)
    return list(unique.values())


def _langchain_tool_of(item: Any) -> Any:
    """A plain function as LangChain's ``@tool`` makes it; tools and dicts as they are."""
    if isinstance(item, Mapping | Tool | type) or not callable(item) or is_langchain_tool(item):
        return item
    from langchain_core.tools import tool as langchain_tool

    return langchain_tool(item)
