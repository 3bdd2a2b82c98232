"""``HumanInTheLoopMiddleware``: a person reviews the model's tool calls before they run
(LangChain's human-in-the-loop middleware), with the request and decision types it
exchanges through :func:`~hone.graph.interrupt` (defined in ``_hitl_types`` and re-exported
here).

Two ways to pause (``interrupt_mode``):

* ``"batched"`` (default): after the model's turn, one interrupt whose value is a
  :class:`HITLRequest` listing every gated call; resume with
  ``Command(resume={"decisions": [...]})``, one :data:`Decision` per listed call, in order.
* ``"per_call"``: as each gated call starts (inside the tool-call chain), one interrupt
  whose value is a :class:`ToolApprovalRequest`; resume with ``{interrupt_id: decision}``.

A rejection or a response answers the call in the tool's place; an edit keeps the
model's call in the conversation and runs the reviewer's instead, telling the model so in
the result (``edit_notice``). Works over either message family. The agent needs a
checkpointer to be resumed.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Annotated, Any, NotRequired, TypeVar, cast, get_args

from hone.agents.middleware._base import AgentMiddleware
from hone.agents.middleware._hitl_types import (
    Action,
    ActionRequest,
    ApproveDecision,
    Decision,
    DecisionType,
    EditDecision,
    HITLRequest,
    HITLResponse,
    InterruptMode,
    InterruptOnConfig,
    RejectDecision,
    RespondDecision,
    ReviewConfig,
    ToolApprovalRequest,
    decision_schema,
)
from hone.agents.middleware._types import AgentState, PrivateStateAttr
from hone.graph._context import get_runtime
from hone.graph._interrupt import interrupt
from hone.graph._types import Command
from hone.graph.prebuilt._injected import tool_runtime
from hone.graph.prebuilt._tool_request import ToolCallRequest, call_dict
from hone.interop._messages import is_langchain_message
from hone.messages import AssistantMessage, TextPart, ToolMessage

__all__ = [
    "Action",
    "ActionRequest",
    "ApproveDecision",
    "Decision",
    "DecisionType",
    "EditDecision",
    "HITLRequest",
    "HITLResponse",
    "HumanInTheLoopMiddleware",
    "InterruptMode",
    "InterruptOnConfig",
    "RejectDecision",
    "RespondDecision",
    "ReviewConfig",
    "ToolApprovalRequest",
]

#: The state key holding the reviewer's replacement for each edited call, by call id.
_EDITED_TOOL_CALLS_KEY = "hitl_edited_tool_calls"

#: What an edited call's result starts with, by default.
_EDIT_NOTICE = (
    "Note: a human reviewer replaced this tool call before it ran. The call recorded in "
    "your message is the one you produced, not the one that executed. This was "
    "intentional and authorized. Do not re-issue your original call."
)

ResponseT = TypeVar("ResponseT")


class _HumanInTheLoopState(AgentState[ResponseT]):
    """The agent's state with the edits of the turn under review (private)."""

    hitl_edited_tool_calls: NotRequired[Annotated[dict[str, Action], PrivateStateAttr]]


# -- messages of either family ------------------------------------------------------------


def _is_model_turn(message: Any) -> bool:
    """Whether ``message`` is a model turn (an assistant message of either family)."""
    if is_langchain_message(message):
        return getattr(message, "type", None) == "ai"
    return isinstance(message, AssistantMessage)


def _is_tool_answer(message: Any) -> bool:
    """Whether ``message`` is a tool result (of either family)."""
    if is_langchain_message(message):
        return getattr(message, "type", None) == "tool"
    return isinstance(message, ToolMessage)


def _calls(turn: Any) -> list[dict[str, Any]]:
    """A model turn's calls as LangChain's tool-call dicts."""
    if is_langchain_message(turn):
        return list(turn.tool_calls)
    return [call_dict(c) for c in turn.tool_calls]


def _langchain_state(state: Any) -> bool:
    """Whether the state's conversation is in LangChain's message family."""
    messages = state.get("messages") if isinstance(state, Mapping) else None
    return messages is not None and bool(messages) and is_langchain_message(messages[-1])


def _answer_message(
    tool_call: Mapping[str, Any], decision: Mapping[str, Any], langchain: bool
) -> Any:
    """What the model gets instead of the tool's result after a reject or a respond."""
    kind = decision["type"]
    name, call_id = tool_call["name"], tool_call["id"]
    if kind == "respond":
        content = decision["message"]
    elif reason := decision.get("message"):
        content = f"User rejected the tool call for `{name}` with reason: {reason}"
    else:
        content = (
            f"User rejected the tool call for `{name}` with id {call_id}. The tool was not "
            "executed. Do not retry this tool call unless the user explicitly requests it."
        )
    marks = {"lc_source": "hitl_interrupt_decision", "lc_data": {"decision": kind}}
    if langchain:
        from langchain_core.messages import ToolMessage as LangChainToolMessage

        return LangChainToolMessage(
            content=content,
            name=name,
            tool_call_id=call_id,
            status="success" if kind == "respond" else "error",
            additional_kwargs=marks,
        )
    return ToolMessage(
        content=content,
        name=name,
        tool_call_id=call_id or "",
        is_error=kind != "respond",
        extra={"additional_kwargs": marks},
    )


def _with_notice(message: Any, notice: str) -> Any:
    """``message`` (a tool result) with ``notice`` before its content, once."""
    content = message.content
    if isinstance(content, str):
        if notice in content:
            return message
        text = f"{notice}\n{content}" if content else notice
        return message.model_copy(update={"content": text})
    if any(notice in str(block) for block in content):
        return message
    if not is_langchain_message(message):
        return message.model_copy(update={"content": [TextPart(text=notice), *content]})
    plain = bool(content) and all(isinstance(block, str) for block in content)
    first: Any = notice if plain else {"type": "text", "text": notice}
    return message.model_copy(update={"content": [first, *content]})


# -- the middleware ------------------------------------------------------------------------


class HumanInTheLoopMiddleware(AgentMiddleware[Any, Any, Any]):
    """Pause the agent so a person approves, edits, rejects or answers tool calls (see the
    module docs).

    Args:
        interrupt_on: per tool name, ``True`` (every decision allowed), ``False`` (not
            reviewed) or an :class:`InterruptOnConfig`; tools not named are not reviewed.
        description_prefix: the first line of the text shown for a call whose config has
            no ``description``.
        edit_notice: what an edited call's result starts with (None: nothing).
        interrupt_mode: ``"batched"`` or ``"per_call"``.

    Raises:
        ValueError: a config without a non-empty ``allowed_decisions``; an unknown mode.
    """

    state_schema = _HumanInTheLoopState

    def __init__(
        self,
        interrupt_on: Mapping[str, bool | InterruptOnConfig],
        *,
        description_prefix: str = "Tool execution requires approval",
        edit_notice: str | None = _EDIT_NOTICE,
        interrupt_mode: InterruptMode = "batched",
    ) -> None:
        modes = get_args(InterruptMode)
        if interrupt_mode not in modes:
            allowed = " or ".join(repr(mode) for mode in modes)
            raise ValueError(f"`interrupt_mode` must be {allowed}, got {interrupt_mode!r}.")
        resolved: dict[str, InterruptOnConfig] = {}
        for tool_name, config in interrupt_on.items():
            if config is True:
                resolved[tool_name] = {
                    "allowed_decisions": ["approve", "edit", "reject", "respond"]
                }
            elif config is False:
                continue
            elif isinstance(config, Mapping) and config.get("allowed_decisions"):
                resolved[tool_name] = config
            else:
                keys = sorted(config) if isinstance(config, Mapping) else []
                decisions = config.get("allowed_decisions") if isinstance(config, Mapping) else None
                raise ValueError(
                    f"Invalid `interrupt_on` config for tool '{tool_name}': `allowed_decisions` "
                    "must be a non-empty list of decision types (e.g. ['approve', 'reject']). "
                    f"Got config with keys {keys} and allowed_decisions={decisions!r}."
                )
        self.interrupt_on = resolved
        self.description_prefix = description_prefix
        self.edit_notice = edit_notice
        self.interrupt_mode: InterruptMode = interrupt_mode

    # -- what the reviewer sees -------------------------------------------------------

    def _action_request(
        self, tool_call: Mapping[str, Any], config: InterruptOnConfig, state: Any, runtime: Any
    ) -> ActionRequest:
        """What the reviewer is shown for ``tool_call``: the config's description (text or
        function), else the prefix with the call's name and arguments."""
        described = config.get("description")
        if callable(described):
            description = described(tool_call, state, runtime)
        elif described is not None:
            description = described
        else:
            description = (
                f"{self.description_prefix}\n\nTool: {tool_call['name']}\nArgs: {tool_call['args']}"
            )
        return {"name": tool_call["name"], "args": tool_call["args"], "description": description}

    def _should_interrupt(
        self, tool_call: Mapping[str, Any], config: InterruptOnConfig, state: Any, runtime: Any
    ) -> bool:
        """What the config's ``when`` says of the call (True without one)."""
        when = config.get("when")
        if when is None:
            return True
        call_runtime = tool_runtime(state=state, call_id=tool_call.get("id"), tools=[])
        if runtime is not None:
            call_runtime = dataclasses.replace(
                call_runtime,
                context=getattr(runtime, "context", None),
                store=getattr(runtime, "store", None),
            )
        request = ToolCallRequest(
            tool_call=dict(tool_call), tool=None, state=state, runtime=call_runtime
        )
        return bool(when(request))

    # -- batched mode -----------------------------------------------------------------

    def after_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Ask about the gated calls of the last model turn and apply the decisions.

        Raises:
            ValueError: as many decisions as gated calls were not given, or a decision the
                call's config does not allow.
        """
        if self.interrupt_mode == "per_call":
            return None
        turn = next((m for m in reversed(state["messages"]) if _is_model_turn(m)), None)
        calls = _calls(turn) if turn is not None else []
        gated: list[tuple[int, InterruptOnConfig]] = []
        requests: list[ActionRequest] = []
        reviews: list[ReviewConfig] = []
        for index, call in enumerate(calls):
            config = self.interrupt_on.get(call["name"])
            if config is None or not self._should_interrupt(call, config, state, runtime):
                continue
            gated.append((index, config))
            requests.append(self._action_request(call, config, state, runtime))
            reviews.append(
                {"action_name": call["name"], "allowed_decisions": config["allowed_decisions"]}
            )
        if not gated:
            # A turn with nothing to review drops the previous turn's edits: call ids may
            # repeat across turns, and an old edit must not apply to a new call.
            return {_EDITED_TOOL_CALLS_KEY: {}} if state.get(_EDITED_TOOL_CALLS_KEY) else None
        decisions = interrupt(HITLRequest(action_requests=requests, review_configs=reviews))[
            "decisions"
        ]
        if len(decisions) != len(gated):
            raise ValueError(
                f"Number of human decisions ({len(decisions)}) does not match number of "
                f"hanging tool calls ({len(gated)})."
            )
        langchain = is_langchain_message(turn)
        answers: list[Any] = []
        edits: dict[str, Action] = {}
        for (index, config), decision in zip(gated, decisions, strict=True):
            call = calls[index]
            kind = _checked_decision(decision, call, config)
            if kind == "edit" and call.get("id"):
                edits[call["id"]] = decision["edited_action"]
            elif kind in ("reject", "respond"):
                answers.append(_answer_message(call, decision, langchain))
        return {"messages": [turn, *answers], _EDITED_TOOL_CALLS_KEY: edits}

    async def aafter_model(self, state: Any, runtime: Any) -> dict[str, Any] | None:
        """Async :meth:`after_model`."""
        return self.after_model(state, runtime)

    # -- running the calls ------------------------------------------------------------

    def _recorded_edit(self, request: ToolCallRequest) -> Action | None:
        """The reviewer's replacement for the request's call saved by the batched review,
        if any."""
        call_id = request.tool_call.get("id")
        state = request.state if isinstance(request.state, Mapping) else {}
        edits = state.get(_EDITED_TOOL_CALLS_KEY) or {}
        return edits.get(call_id) if call_id else None

    def _apply_edit(self, request: ToolCallRequest, executed: Action) -> ToolCallRequest:
        """The request pointed at the reviewer's call (and its tool, if another).

        Raises:
            ValueError: the reviewer named a tool the agent does not have.
        """
        tool_call = {**request.tool_call, "name": executed["name"], "args": executed["args"]}
        if executed["name"] == request.tool_call["name"]:
            return request.override(tool_call=tool_call)
        available = list(getattr(request.runtime, "tools", None) or ())
        tool = next((t for t in available if t.name == executed["name"]), None)
        if tool is None:
            names = ", ".join(sorted(t.name for t in available))
            raise ValueError(
                f"Reviewer edited tool call {request.tool_call.get('id')!r} to "
                f"{executed['name']!r}, which is not an available tool. "
                f"Available tools: {names}."
            )
        return request.override(tool_call=tool_call, tool=tool)

    def _notice(self, lead: str, executed: Action, *, has_content: bool) -> str:
        """The notice put before an edited call's result, naming the call that ran."""
        notice = (
            f"{lead} Executed instead: {executed['name']} with arguments "
            f"{json.dumps(executed['args'], default=str)}."
        )
        return f"{notice}\n\nTool response:" if has_content else notice

    def _annotated(self, result: Any, request: ToolCallRequest, executed: Action | None) -> Any:
        """The result of an edited call, with the notice naming what ran."""
        lead = self.edit_notice
        if not lead or executed is None:
            return result
        if _is_tool_answer(result):
            notice = self._notice(lead, executed, has_content=bool(result.content))
            return _with_notice(result, notice)
        if not isinstance(result, Command) or not isinstance(result.update, dict):
            return result
        messages = result.update.get("messages")
        if not isinstance(messages, list):
            return result
        call_id = request.tool_call.get("id")
        annotated = [
            _with_notice(m, self._notice(lead, executed, has_content=bool(m.content)))
            if _is_tool_answer(m) and m.tool_call_id == call_id
            else m
            for m in messages
        ]
        return dataclasses.replace(result, update={**result.update, "messages": annotated})

    def _per_call(self, request: ToolCallRequest) -> tuple[ToolCallRequest, Action | None] | Any:
        """Ask about one gated call: the request to run (and the edit, if any), or the
        message that answers the call instead.

        Raises:
            ValueError: a gated call without an id.
            pydantic.ValidationError: an answer the call's decision schema rejects.
        """
        tool_call = request.tool_call
        config = self.interrupt_on.get(tool_call["name"])
        if config is None:
            return request, None
        when = config.get("when")
        if when is not None and not when(request):
            return request, None
        if tool_call.get("id") is None:
            raise ValueError(
                f"Tool call `{tool_call['name']}` has no ID, so its result can't be matched "
                "to it. Make sure the chat model returns tool call IDs."
            )
        described = self._action_request(tool_call, config, request.state, get_runtime())
        value = ToolApprovalRequest(
            type="tool_approval",
            tool_call_id=tool_call["id"],
            name=tool_call["name"],
            args=tool_call["args"],
            description=described.get("description", ""),
        )
        schema = decision_schema(config["allowed_decisions"], tool_call["name"], request.tool)
        # The answer is validated before it is saved: a bad one can be given again.
        decision = interrupt(value, response_schema=schema)
        if decision["type"] == "approve":
            return request, None
        if decision["type"] == "edit":
            executed: Action = decision["edited_action"]
            return self._apply_edit(request, executed), executed
        return _answer_message(tool_call, decision, _langchain_state(request.state))

    def wrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Any]
    ) -> Any:
        """Run the call as decided: the reviewer's edit in its place (with the notice in
        the result); in per-call mode, ask about it first."""
        if self.interrupt_mode == "per_call":
            resolved = self._per_call(request)
            if not isinstance(resolved, tuple):
                return resolved
            to_run, executed = resolved
            return self._annotated(handler(to_run), to_run, executed)
        executed = self._recorded_edit(request)
        if executed is not None:
            request = self._apply_edit(request, executed)
        return self._annotated(handler(request), request, executed)

    async def awrap_tool_call(
        self, request: ToolCallRequest, handler: Callable[[ToolCallRequest], Awaitable[Any]]
    ) -> Any:
        """Async :meth:`wrap_tool_call`."""
        if self.interrupt_mode == "per_call":
            resolved = self._per_call(request)
            if not isinstance(resolved, tuple):
                return resolved
            to_run, executed = resolved
            return self._annotated(await handler(to_run), to_run, executed)
        executed = self._recorded_edit(request)
        if executed is not None:
            request = self._apply_edit(request, executed)
        return self._annotated(await handler(request), request, executed)


def _checked_decision(
    decision: Mapping[str, Any], call: Mapping[str, Any], config: InterruptOnConfig
) -> str:
    """The decision's type, when the call's config allows it.

    Raises:
        ValueError: a decision of a type the config does not allow (or no known type).
    """
    allowed = config["allowed_decisions"]
    kind = decision.get("type")
    if kind in allowed and kind in get_args(DecisionType):
        return cast("str", kind)
    raise ValueError(
        f"Unexpected human decision: {dict(decision)}. Decision type '{kind}' is not allowed "
        f"for tool '{call['name']}'. Expected one of {allowed} based on the tool's "
        "configuration."
    )
