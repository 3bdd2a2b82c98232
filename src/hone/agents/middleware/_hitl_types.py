"""The values :class:`~hone.agents.middleware.HumanInTheLoopMiddleware` exchanges with a
reviewer through :func:`~hone.graph.interrupt`: the request TypedDicts (a batched
:class:`HITLRequest`, a per-call :class:`ToolApprovalRequest`), the decisions a reviewer may
give, the per-tool :class:`InterruptOnConfig`, and the pydantic schema a per-call answer is
validated against before it is saved.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Annotated, Any, Literal, NotRequired, Protocol, Union

from pydantic import (
    BaseModel,
    Discriminator,
    ValidatorFunctionWrapHandler,
    WithJsonSchema,
    WrapValidator,
    create_model,
)
from typing_extensions import TypedDict

from hone.graph.prebuilt._tool_request import ToolCallRequest
from hone.tools import Tool

__all__ = [
    "Action",
    "ActionRequest",
    "ApproveDecision",
    "Decision",
    "DecisionType",
    "EditDecision",
    "HITLRequest",
    "HITLResponse",
    "InterruptMode",
    "InterruptOnConfig",
    "RejectDecision",
    "RespondDecision",
    "ReviewConfig",
    "ToolApprovalRequest",
    "decision_schema",
]

#: What a reviewer may decide about a call.
DecisionType = Literal["approve", "edit", "reject", "respond"]
#: How the agent pauses: once per model turn, or once per gated call.
InterruptMode = Literal["batched", "per_call"]


class Action(TypedDict):
    """A tool call to make: the tool's name and its arguments."""

    name: str
    args: dict[str, Any]


class ActionRequest(TypedDict):
    """A call the reviewer is asked about, with the text they are shown."""

    name: str
    args: dict[str, Any]
    description: NotRequired[str]


class ReviewConfig(TypedDict):
    """The decisions the reviewer may give about one call (``args_schema`` is not set)."""

    action_name: str
    allowed_decisions: list[DecisionType]
    args_schema: NotRequired[dict[str, Any]]


class HITLRequest(TypedDict):
    """A batched interrupt's value: the calls to review and what may be decided on each."""

    action_requests: list[ActionRequest]
    review_configs: list[ReviewConfig]


class ApproveDecision(TypedDict):
    """Run the call as the model made it."""

    type: Literal["approve"]


class EditDecision(TypedDict):
    """Run ``edited_action`` in the call's place (another tool of the agent's, even)."""

    type: Literal["edit"]
    edited_action: Action


class RejectDecision(TypedDict):
    """Do not run the call; the model is told so, with ``message`` as the reason."""

    type: Literal["reject"]
    message: NotRequired[str]


class RespondDecision(TypedDict):
    """Do not run the call; ``message`` answers it in the tool's place (a success)."""

    type: Literal["respond"]
    message: str


#: One reviewer decision.
Decision = ApproveDecision | EditDecision | RejectDecision | RespondDecision


class HITLResponse(TypedDict):
    """The answer to a :class:`HITLRequest`: one decision per listed call, in order."""

    decisions: list[Decision]


class ToolApprovalRequest(TypedDict):
    """A per-call interrupt's value: the one call waiting for a decision."""

    type: Literal["tool_approval"]
    tool_call_id: str
    name: str
    args: dict[str, Any]
    description: str


class _DescriptionFactory(Protocol):
    """Makes the text shown to the reviewer from the call, the state and the runtime."""

    def __call__(self, tool_call: Any, state: Any, runtime: Any) -> str:
        """The description."""
        ...


class InterruptOnConfig(TypedDict):
    """How one tool is reviewed: the decisions allowed, the text shown (a string, or a
    function of the call, the state and the runtime), and ``when`` (a predicate of the
    :class:`~hone.graph.prebuilt.ToolCallRequest`: False lets the call run unreviewed; it
    runs again on resume, so it must answer the same). ``args_schema`` is not used."""

    allowed_decisions: list[DecisionType]
    description: NotRequired[str | _DescriptionFactory]
    args_schema: NotRequired[dict[str, Any]]
    when: NotRequired[Callable[[ToolCallRequest], bool]]


# -- the decision schema of a per-call interrupt ---------------------------------------------


def _edit_args(tool: Any) -> Any:
    """What an edit's ``args`` must be: the tool's model-facing argument model (checked),
    a hone tool's JSON schema (checked by the tool's validator), or any object."""
    if isinstance(tool, Tool):
        hone_tool = tool

        def check(args: dict[str, Any]) -> dict[str, Any]:
            try:
                hone_tool.validate(args)
            except Exception as exc:
                raise ValueError(str(exc)) from exc
            return args

        return Annotated[
            dict[str, Any], WithJsonSchema(dict(tool.parameters)), WrapValidator(_checked(check))
        ]
    schema = getattr(tool, "tool_call_schema", None) if tool is not None else None
    if isinstance(schema, type) and issubclass(schema, BaseModel):
        return schema
    shown = schema if isinstance(schema, dict) else {"type": "object"}
    return Annotated[dict[str, Any], WithJsonSchema(shown)]


def _checked(check: Callable[[dict[str, Any]], Any]) -> Any:
    """A pydantic wrap validator running ``check`` on the value pydantic validated."""

    def validator(value: Any, handler: ValidatorFunctionWrapHandler) -> Any:
        return check(handler(value))

    return validator


def _as_sent(answer: Any, check: ValidatorFunctionWrapHandler) -> Any:
    """Check ``answer`` but keep it as sent: the tool validates its arguments itself."""
    check(answer)
    return answer


def _edit_decision(name: str, tool: Any) -> Any:
    """The model of an edit answer: ``type`` ``"edit"`` and an ``edited_action`` naming
    the tool ``name`` with arguments per :func:`_edit_args`, kept as sent."""
    literal: Any = Literal
    fields: dict[str, Any] = {"name": (literal[name], ...), "args": (_edit_args(tool), ...)}
    edited_action = create_model("EditedAction", **fields)
    fields = {"type": (literal["edit"], ...), "edited_action": (edited_action, ...)}
    decision = create_model("EditDecision", **fields)
    annotated: Any = Annotated
    return annotated[decision, WrapValidator(_as_sent)]


def decision_schema(allowed: Sequence[DecisionType], name: str, tool: Any = None) -> Any:
    """The type a per-call answer must have: the allowed decisions, told apart by ``type``;
    an edit must name the same tool and follow its argument schema."""
    by_type: dict[str, Any] = {
        "approve": ApproveDecision,
        "reject": RejectDecision,
        "respond": RespondDecision,
    }
    if "edit" in allowed:
        by_type["edit"] = _edit_decision(name, tool)
    members = tuple(by_type[d] for d in dict.fromkeys(allowed))
    if len(members) == 1:
        return members[0]
    return Annotated[Union[members], Discriminator("type")]  # noqa: UP007
