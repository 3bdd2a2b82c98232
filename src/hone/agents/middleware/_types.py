"""What middleware reads and returns: the agent's state, the model request a
``wrap_model_call`` sees, and the model response it gives back (LangChain's ``create_agent``
types, over either message family)."""

from __future__ import annotations

import dataclasses
import warnings
from dataclasses import dataclass, field
from typing import (
    TYPE_CHECKING,
    Annotated,
    Any,
    Generic,
    Literal,
    NotRequired,
    Required,
)

from typing_extensions import TypedDict, TypeVar

from hone.graph._channels import EphemeralValue
from hone.graph._messages import add_messages
from hone.interop._model import is_langchain_chat_model

if TYPE_CHECKING:
    from hone.graph._types import Command

__all__ = [
    "AgentState",
    "ExtendedModelResponse",
    "InputAgentState",
    "JumpTo",
    "ModelCallResult",
    "ModelRequest",
    "ModelResponse",
    "OmitFromInput",
    "OmitFromOutput",
    "OmitFromSchema",
    "OutputAgentState",
    "PrivateStateAttr",
    "system_message_for",
]

#: Where a hook may send the run next: the tools, the model (the loop's entry: its first
#: ``before_model`` hook), or the end (the first ``after_agent`` hook, else the run's end).
JumpTo = Literal["tools", "model", "end"]

ResponseT = TypeVar("ResponseT", default=Any)
ContextT = TypeVar("ContextT", default=None)


@dataclass(frozen=True, slots=True)
class OmitFromSchema:
    """A state key's annotation: leave it out of the graph's input and/or output schema."""

    input: bool = True
    output: bool = True


#: The key is state the caller does not give (the agent's output has it).
OmitFromInput = OmitFromSchema(input=True, output=False)
#: The key is given by the caller but not part of the output.
OmitFromOutput = OmitFromSchema(input=False, output=True)
#: The key is a middleware's own: neither given nor returned.
PrivateStateAttr = OmitFromSchema(input=True, output=True)


class AgentState(TypedDict, Generic[ResponseT]):
    """The state of a :func:`~hone.agents.create_agent` graph: the conversation, the hop a
    hook asked for (``jump_to``, cleared after each step) and the structured answer.
    Middleware extend it with a subclass as their ``state_schema``."""

    messages: Required[Annotated[list[Any], add_messages]]
    jump_to: NotRequired[Annotated[JumpTo | None, EphemeralValue, PrivateStateAttr]]
    structured_response: NotRequired[Annotated[ResponseT, OmitFromInput]]


class InputAgentState(TypedDict):
    """What a :func:`~hone.agents.create_agent` graph takes: the conversation."""

    messages: Required[Annotated[list[Any], add_messages]]


class OutputAgentState(TypedDict, Generic[ResponseT]):
    """What a :func:`~hone.agents.create_agent` graph returns with the default state."""

    messages: Required[Annotated[list[Any], add_messages]]
    structured_response: NotRequired[ResponseT]


def system_message_for(model: Any, text: str) -> Any:
    """A system message with ``text`` in the model's family: LangChain's for a LangChain
    chat model, hone's otherwise."""
    if is_langchain_chat_model(model):
        from langchain_core.messages import SystemMessage as LangChainSystemMessage

        return LangChainSystemMessage(content=text)
    from hone.messages import SystemMessage

    return SystemMessage(content=text)


def _system_text(message: Any) -> str:
    text = getattr(message, "text", None)
    if isinstance(text, str):
        return text
    content = getattr(message, "content", "")
    return content if isinstance(content, str) else str(content)


_REQUEST_FIELDS = frozenset(
    {
        "model",
        "messages",
        "system_message",
        "tool_choice",
        "tools",
        "response_format",
        "state",
        "runtime",
        "model_settings",
    }
)


@dataclass(init=False)
class ModelRequest(Generic[ContextT]):
    """One model call as ``wrap_model_call`` sees it: the model, the conversation (without
    the system message), the system message, the tools offered, the tool choice, the
    structured-output format, extra model settings (bound to the model with the tools), and
    the state and runtime of the run. Change it with :meth:`override`.

    Raises:
        ValueError: both ``system_prompt`` and ``system_message``.
    """

    model: Any
    messages: list[Any]
    system_message: Any
    tool_choice: Any
    tools: list[Any]
    response_format: Any
    state: Any
    runtime: Any
    model_settings: dict[str, Any] = field(default_factory=dict)

    def __init__(
        self,
        *,
        model: Any,
        messages: list[Any],
        system_message: Any = None,
        system_prompt: str | None = None,
        tool_choice: Any = None,
        tools: list[Any] | None = None,
        response_format: Any = None,
        state: Any = None,
        runtime: Any = None,
        model_settings: dict[str, Any] | None = None,
    ) -> None:
        if system_prompt is not None and system_message is not None:
            raise ValueError("Cannot specify both system_prompt and system_message")
        if system_prompt is not None:
            system_message = system_message_for(model, system_prompt)
        values = {
            "model": model,
            "messages": messages,
            "system_message": system_message,
            "tool_choice": tool_choice,
            "tools": [] if tools is None else tools,
            "response_format": response_format,
            "state": {"messages": []} if state is None else state,
            "runtime": runtime,
            "model_settings": {} if model_settings is None else model_settings,
        }
        for key, value in values.items():
            object.__setattr__(self, key, value)

    @property
    def system_prompt(self) -> str | None:
        """The system message's text, or None."""
        return None if self.system_message is None else _system_text(self.system_message)

    def __setattr__(self, name: str, value: Any) -> None:
        """Setting a field is deprecated (a ``DeprecationWarning``): use :meth:`override`."""
        warnings.warn(
            f"Direct attribute assignment to ModelRequest.{name} is deprecated. "
            f"Use request.override({name}=...) instead to create a new request "
            "with the modified attribute.",
            DeprecationWarning,
            stacklevel=2,
        )
        if name == "system_prompt":
            value = None if value is None else system_message_for(self.model, value)
            name = "system_message"
        object.__setattr__(self, name, value)

    def override(self, **changes: Any) -> ModelRequest[ContextT]:
        """A copy with fields replaced (``system_prompt`` as text, or ``system_message``).

        Raises:
            ValueError: both ``system_prompt`` and ``system_message``.
            TypeError: a field the request does not have.
        """
        if "system_prompt" in changes:
            if "system_message" in changes:
                raise ValueError("Cannot specify both system_prompt and system_message")
            text = changes.pop("system_prompt")
            model = changes.get("model", self.model)
            changes["system_message"] = None if text is None else system_message_for(model, text)
        unknown = sorted(set(changes) - _REQUEST_FIELDS)
        if unknown:
            raise TypeError(f"ModelRequest has no field(s) {', '.join(unknown)}")
        return dataclasses.replace(self, **changes)


@dataclass
class ModelResponse(Generic[ResponseT]):
    """What a model call gave: its messages (the reply, and the tool message answering a
    structured-output call) and the structured answer, if any."""

    result: list[Any]
    structured_response: ResponseT | None = None


@dataclass
class ExtendedModelResponse(Generic[ResponseT]):
    """A model response with a :class:`~hone.graph.Command` whose update is applied after
    the model node's own (through the state's reducers; the outermost middleware's last)."""

    model_response: ModelResponse[ResponseT]
    command: Command[Any] | None = None


#: What a ``wrap_model_call`` handler may return: a response, the reply message alone, or
#: an extended response.
ModelCallResult = ModelResponse[Any] | ExtendedModelResponse[Any] | Any
