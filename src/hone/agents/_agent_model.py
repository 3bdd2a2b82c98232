"""The model node of :func:`~hone.agents.create_agent`: the request it builds, how each
request is sent (tools, tool choice, settings, the structured-output strategy), and the call
itself (a LangChain chat model through ``bind_tools``, a hone backend through a
:class:`~hone.models.ChatRequest`), run inside the ``wrap_model_call`` chain
(:mod:`hone.agents._agent_chain`)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from hone.agent._scope import StopReason, given_model, report_stop
from hone.agents._agent_chain import AsyncModelWrapper, ModelWrapper, achain, chain
from hone.agents._agent_structured import native_structured, openai_compatible, structured_result
from hone.agents.middleware._types import ModelRequest, ModelResponse
from hone.agents.structured_output import (
    AutoStrategy,
    OutputToolBinding,
    ProviderStrategy,
    ToolStrategy,
)
from hone.errors import ConfigError
from hone.graph._context import get_runtime
from hone.graph._messages import REMOVE_ALL_MESSAGES, RemoveMessage
from hone.graph._model_stream import astream_model, stream_model
from hone.graph._types import Command
from hone.graph.prebuilt._react_prompt import as_hone
from hone.interop._messages import is_langchain_message
from hone.interop._model import is_langchain_chat_model
from hone.models import ChatRequest, SamplingOptions
from hone.models._chat_reply import langchain_reply
from hone.models._protocol import Completion, ModelBackend
from hone.tools import Tool, ToolRegistry
from hone.tools._convert import langchain_source

__all__ = ["DYNAMIC_TOOL_ERROR_TEMPLATE", "ModelNode"]

DYNAMIC_TOOL_ERROR_TEMPLATE = """
Middleware added tools that the agent doesn't know how to execute.

Unknown tools: {unknown_tool_names}
Registered tools: {available_tool_names}

This happens when middleware modifies `request.tools` in `wrap_model_call` to include
tools that weren't passed to `create_agent()`.

How to fix this:

Option 1: Register tools at agent creation (recommended for most cases)
    Pass the tools to `create_agent(tools=[...])` or set them on `middleware.tools`.

Option 2: Handle dynamic tools in middleware
    Implement `wrap_tool_call` to execute tools that are added dynamically.
"""


@dataclass(frozen=True, slots=True)
class _Plan:
    """How one request is sent: the tools (structured-output tools as their
    :class:`OutputToolBinding`), the tool choice, the keyword settings bound with them, and
    the structured-output strategy in effect."""

    tools: list[Any]
    tool_choice: Any
    settings: dict[str, Any]
    response_format: Any
    bind_tools: bool


_SAMPLING = frozenset(f.name for f in dataclasses.fields(SamplingOptions))


def _sampling(settings: Mapping[str, Any]) -> SamplingOptions:
    """A hone model's sampling options from ``model_settings``.

    Raises:
        ConfigError: a setting that is not a sampling option.
    """
    unknown = sorted(set(settings) - _SAMPLING)
    if unknown:
        raise ConfigError(
            f"model_settings {', '.join(unknown)} are not sampling options of a hone model "
            f"(it takes {', '.join(sorted(_SAMPLING))})"
        )
    changes = {k: tuple(v) if k == "stop" else v for k, v in settings.items()}
    return SamplingOptions().with_(**changes)


def _hone_tool_choice(choice: Any) -> Any:
    if choice is None:
        return "auto"
    if choice == "any":
        return "required"
    if isinstance(choice, str) and choice not in ("auto", "none", "required"):
        return {"type": "function", "function": {"name": choice}}
    return choice


class ModelNode:
    """Node ``model``: one model call through the ``wrap_model_call`` chain. It has
    ``invoke`` and ``ainvoke``, so a sync run calls the sync hooks and an async run the
    async ones."""

    def __init__(
        self,
        *,
        model: Any,
        tools: list[Any],
        system_message: Any,
        response_format: Any,
        setup_strategy: ToolStrategy[Any] | None,
        output_tools: Mapping[str, OutputToolBinding[Any]],
        registered: Mapping[str, Any],
        wraps_tools: bool,
        wrappers: Sequence[tuple[str, ModelWrapper]],
        async_wrappers: Sequence[tuple[str, AsyncModelWrapper]],
        name: str | None,
    ) -> None:
        self.model = model
        self.tools = tools
        self.system_message = system_message
        self.response_format = response_format
        self.setup_strategy = setup_strategy
        self.output_tools = dict(output_tools)
        self.registered = dict(registered)
        self.wraps_tools = wraps_tools
        self.name = name
        self._sync = chain(wrappers, self._execute) if wrappers else None
        self._async = achain(async_wrappers, self._aexecute) if async_wrappers else None

    # -- the request ---------------------------------------------------------------

    def _request(self, state: Any) -> ModelRequest[Any]:
        """The request for ``state``: its conversation with malformed tool calls answered
        (see :func:`_repaired`), as a list of its own."""
        messages = _repaired(list(state["messages"]))
        request: ModelRequest[Any] = ModelRequest(
            model=self.model,
            messages=messages,
            system_message=self.system_message,
            tools=list(self.tools),
            response_format=self.response_format,
            tool_choice=None,
            state=state,
            runtime=get_runtime(),
        )
        return request

    def _plan(self, request: ModelRequest[Any]) -> _Plan:
        """How ``request`` is sent (see :class:`_Plan`).

        Raises:
            ValueError: tools the agent cannot run (and no ``wrap_tool_call`` to run them),
                or a ``ToolStrategy`` naming a schema the agent was not built with.
        """
        if not self.wraps_tools:
            unknown = [
                getattr(t, "name", None)
                for t in request.tools
                if not isinstance(t, Mapping) and getattr(t, "name", None) not in self.registered
            ]
            if unknown:
                raise ValueError(
                    DYNAMIC_TOOL_ERROR_TEMPLATE.format(
                        unknown_tool_names=unknown, available_tool_names=sorted(self.registered)
                    )
                )
        response_format = request.response_format
        if response_format is not None and not isinstance(
            response_format, AutoStrategy | ToolStrategy | ProviderStrategy
        ):
            response_format = AutoStrategy(response_format)
        if isinstance(response_format, AutoStrategy):
            if native_structured(request.model, request.tools):
                response_format = ProviderStrategy(response_format.schema)
            elif response_format is self.response_format and self.setup_strategy is not None:
                response_format = self.setup_strategy
            else:
                response_format = ToolStrategy(response_format.schema)
        tools = list(request.tools)
        settings = dict(request.model_settings)
        if isinstance(response_format, ProviderStrategy):
            settings = {**response_format.to_model_kwargs(), **settings}
            if openai_compatible(request.model) and not getattr(
                request.model, "use_responses_api", False
            ):
                settings["strict"] = True
            return _Plan(tools, None, settings, response_format, bind_tools=True)
        if isinstance(response_format, ToolStrategy):
            for spec in response_format.schema_specs:
                if spec.name not in self.output_tools:
                    raise ValueError(
                        f"ToolStrategy specifies tool '{spec.name}' which wasn't declared in "
                        "the original response format when creating the agent."
                    )
            names = {spec.name for spec in response_format.schema_specs}
            tools.extend(b for n, b in self.output_tools.items() if n in names)
            choice = "any" if self.output_tools else request.tool_choice
            return _Plan(tools, choice, settings, response_format, bind_tools=True)
        return _Plan(tools, request.tool_choice, settings, None, bind_tools=bool(tools))

    def _messages(self, request: ModelRequest[Any]) -> list[Any]:
        if request.system_message is None:
            return list(request.messages)
        return [request.system_message, *request.messages]

    # -- the call ------------------------------------------------------------------

    def _backend(self, request: ModelRequest[Any]) -> ModelBackend | None:
        """The hone backend to call (the run's model first), or None: call the LangChain
        chat model itself."""
        given = given_model(None)
        if given is not None:
            return given
        if is_langchain_chat_model(request.model):
            return None
        from hone.interop import resolve_model

        return resolve_model(request.model)

    def _langchain_bound(self, request: ModelRequest[Any], plan: _Plan) -> Any:
        """The LangChain chat model with the plan's tools bound: LangChain tools and dicts
        as they are, hone tools as their function specs."""
        model = request.model
        if not plan.bind_tools:
            return model.bind(**plan.settings) if plan.settings else model
        tools = [_bindable(t) for t in plan.tools]
        if plan.tool_choice is not None:
            return model.bind_tools(tools, tool_choice=plan.tool_choice, **plan.settings)
        return model.bind_tools(tools, **plan.settings)

    def _chat_request(self, request: ModelRequest[Any], plan: _Plan) -> ChatRequest:
        settings = dict(plan.settings)
        settings.pop("strict", None)
        response_format = settings.pop("response_format", None)
        specs: list[Mapping[str, Any]] = []
        callables = [t for t in plan.tools if not isinstance(t, Mapping | OutputToolBinding)]
        if callables:
            specs.extend(ToolRegistry.coerce(callables).specs())
        specs.extend(t for t in plan.tools if isinstance(t, Mapping))
        specs.extend(t.tool for t in plan.tools if isinstance(t, OutputToolBinding))
        return ChatRequest(
            messages=tuple(as_hone(self._messages(request))),
            tools=tuple(specs),
            options=_sampling(settings),
            tool_choice=_hone_tool_choice(plan.tool_choice) if specs else "auto",
            response_format=response_format,
        )

    def _reply(
        self, request: ModelRequest[Any], completion: Completion, backend: ModelBackend
    ) -> Any:
        """The reply in the conversation's family; a reply without tool calls is the agent's
        answer, and rollouts record why it stopped (``Episode.stop_reason``)."""
        if not completion.message.tool_calls:
            stop: StopReason = "truncated" if completion.finish_reason == "length" else "answered"
            report_stop(stop, backend)
        langchain = is_langchain_chat_model(request.model) or (
            bool(request.messages) and is_langchain_message(request.messages[-1])
        )
        if langchain:
            return langchain_reply(completion)
        return completion.message

    def _finish(self, output: Any, plan: _Plan) -> ModelResponse[Any]:
        if self.name:
            if is_langchain_message(output):
                output.name = self.name
            else:
                output = output.model_copy(update={"name": self.name})
        return structured_result(output, plan.response_format, self.output_tools)

    def _execute(self, request: ModelRequest[Any]) -> ModelResponse[Any]:
        plan = self._plan(request)
        backend = self._backend(request)
        if backend is None:
            output = self._langchain_bound(request, plan).invoke(self._messages(request))
        else:
            output = self._reply(
                request, stream_model(backend, self._chat_request(request, plan)), backend
            )
        return self._finish(output, plan)

    async def _aexecute(self, request: ModelRequest[Any]) -> ModelResponse[Any]:
        plan = self._plan(request)
        backend = self._backend(request)
        if backend is None:
            bound = self._langchain_bound(request, plan)
            output = await bound.ainvoke(self._messages(request))
        else:
            completion = await astream_model(backend, self._chat_request(request, plan))
            output = self._reply(request, completion, backend)
        return self._finish(output, plan)

    # -- the node ------------------------------------------------------------------

    def invoke(self, state: Any, config: Any = None) -> list[Command[Any]]:
        """The node, in a sync run."""
        request = self._request(state)
        commands: list[Command[Any]] = []
        if self._sync is None:
            response = self._execute(request)
        else:
            response, commands = self._sync(request)
        return self._commands(response, commands, request.messages, state)

    async def ainvoke(self, state: Any, config: Any = None) -> list[Command[Any]]:
        """The node, in an async run."""
        request = self._request(state)
        commands: list[Command[Any]] = []
        if self._async is None:
            response = await self._aexecute(request)
        else:
            response, commands = await self._async(request)
        return self._commands(response, commands, request.messages, state)

    def _commands(
        self,
        response: ModelResponse[Any],
        commands: list[Command[Any]],
        sent: list[Any],
        state: Any,
    ) -> list[Command[Any]]:
        """The node's update, then the middleware's commands. When the conversation the
        request started with no longer equals the state's (malformed calls answered, or a
        middleware changed the request's list in place), the state takes it whole, as in
        LangChain.

        Raises:
            NotImplementedError: a middleware command with ``goto``, ``resume`` or ``graph``.
        """
        messages: list[Any] = list(response.result)
        if sent != list(state["messages"]):
            messages = [RemoveMessage(id=REMOVE_ALL_MESSAGES), *sent, *messages]
        update: dict[str, Any] = {"messages": messages}
        if response.structured_response is not None or self.response_format is not None:
            update["structured_response"] = response.structured_response
        for command in commands:
            if command.goto:
                raise NotImplementedError(
                    "Command goto is not yet supported in wrap_model_call middleware. Use the "
                    "jump_to state field with before_model/after_model hooks instead."
                )
            if command.resume is not None:
                raise NotImplementedError(
                    "Command resume is not yet supported in wrap_model_call middleware."
                )
            if command.graph is not None:
                raise NotImplementedError(
                    "Command graph is not yet supported in wrap_model_call middleware."
                )
        return [Command(update=update), *commands]


def _bindable(tool: Any) -> Any:
    """A tool as a LangChain chat model's ``bind_tools`` takes it: a hone tool as the
    LangChain tool it was made from, else as its function spec; anything else as it is."""
    if isinstance(tool, Tool):
        return langchain_source(tool) or tool.spec()
    if isinstance(tool, OutputToolBinding):
        return tool.langchain_tool()
    return tool


def _repaired(messages: list[Any]) -> list[Any]:
    """The conversation with an error answer after each malformed (LangChain "invalid")
    tool call that has none (a new list either way: middleware may change it in place)."""
    broken = {
        i
        for i, m in enumerate(messages)
        if getattr(m, "type", None) == "ai"
        and is_langchain_message(m)
        and getattr(m, "invalid_tool_calls", None)
    }
    if not broken:
        return list(messages)
    answered = {m.tool_call_id for m in messages if getattr(m, "type", None) == "tool"}
    out: list[Any] = []
    for index, message in enumerate(messages):
        out.append(message)
        if index in broken:
            out.extend(_error_answers(message, answered))
    return out


def _error_answers(message: Any, answered: set[Any]) -> list[Any]:
    """Error tool messages for the malformed calls of ``message`` that nothing answers yet
    (``answered`` gains their ids)."""
    from langchain_core.messages import ToolMessage as LangChainToolMessage

    out: list[Any] = []
    for call in message.invalid_tool_calls:
        call_id = call.get("id")
        if call_id is None or call_id in answered:
            continue
        name = call.get("name") or "unknown"
        out.append(
            LangChainToolMessage(
                content=f"Tool call {name} with id {call_id} could not be executed - "
                "arguments were malformed or truncated.",
                name=name,
                tool_call_id=call_id,
                status="error",
            )
        )
        answered.add(call_id)
    return out
