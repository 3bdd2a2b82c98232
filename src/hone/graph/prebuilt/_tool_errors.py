"""How a ``ToolNode`` answers a failed call: LangGraph's ``handle_tool_errors`` policies and
texts, applied to what hone's executor reports.

The policy is the flag LangGraph takes (``True``, ``False``, a message, exception types, or
a handler function whose annotation names the exceptions it handles), made into one
function ``exception -> text`` that raises what it does not handle.
"""

from __future__ import annotations

import inspect
import types
from collections.abc import Callable
from typing import Any, Final, TypeAlias, Union, cast, get_args, get_origin, get_type_hints

from hone.errors import ConfigError, ToolArgumentsError, ToolInvocationError

__all__ = [
    "ERRORS_AS_VALUES",
    "LANGGRAPH_DEFAULT",
    "ErrorHandler",
    "HandleToolErrors",
    "error_handler",
    "invalid_tool_text",
    "invocation_error",
]


class _ErrorsAsValues:
    """The type of :data:`ERRORS_AS_VALUES`."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ERRORS_AS_VALUES"


#: hone's policy, whatever the conversation's family: every failure is a message the model
#: reads, in hone's words (the answers ``run_agent`` gives). hone's own patterns use it.
ERRORS_AS_VALUES: Final = _ErrorsAsValues()

#: LangGraph's ``handle_tool_errors``: True (every exception, LangGraph's text), False
#: (none), a message for every exception, exception types (those, LangGraph's text), or a
#: function from the exception to the text (the exceptions its first parameter's annotation
#: names; every exception when unannotated); or hone's :data:`ERRORS_AS_VALUES`.
HandleToolErrors: TypeAlias = (
    bool
    | str
    | type[Exception]
    | tuple[type[Exception], ...]
    | Callable[..., str]
    | _ErrorsAsValues
)

#: The text the model reads for an exception; raises the exception when it is not handled.
ErrorHandler: TypeAlias = Callable[[BaseException], str]

#: LangGraph's texts, word for word: programs and prompts written for them keep working.
_CALL_ERROR = "Error: {error}\n Please fix your mistakes."
_INVALID_TOOL = "Error: {name} is not a valid tool, try one of [{available}]."


def invalid_tool_text(name: str, available: list[str]) -> str:
    """LangGraph's answer to a call naming a tool the node does not have."""
    return _INVALID_TOOL.format(name=name, available=", ".join(available))


def invocation_error(error: ToolArgumentsError, arguments: dict[str, Any]) -> ToolInvocationError:
    """The :class:`~hone.errors.ToolInvocationError` for arguments the schema rejected."""
    if isinstance(error, ToolInvocationError):
        return error
    return ToolInvocationError(error.tool_name, error.problems, arguments)


def _raise(error: BaseException) -> str:
    raise error


def _default(error: BaseException) -> str:
    """LangGraph's default: the model's bad arguments become a message; the tool's own
    exceptions propagate."""
    if isinstance(error, ToolInvocationError):
        return error.message
    raise error


def _exception_types(annotation: Any, name: str) -> tuple[type[Exception], ...]:
    members = (
        get_args(annotation)
        if get_origin(annotation) in (Union, types.UnionType)
        else (annotation,)
    )
    if not all(isinstance(m, type) and issubclass(m, Exception) for m in members):
        raise ConfigError(
            f"handle_tool_errors={name} annotates its error as {annotation!r}; annotate it "
            "with an exception type or a union of them (def handler(e: ValueError) -> str)"
        )
    return tuple(members)


def _handled_types(handler: Callable[..., str]) -> tuple[type[Exception], ...]:
    """The exceptions a handler's first parameter is annotated with (all when none)."""
    try:
        params = list(inspect.signature(handler).parameters.values())
        hints = get_type_hints(handler)
    except (TypeError, ValueError, NameError):
        return (Exception,)
    if params and params[0].name in ("self", "cls") and len(params) == 2:
        params = params[1:]
    if not params or params[0].name not in hints:
        return (Exception,)
    name = getattr(handler, "__name__", repr(handler))
    return _exception_types(hints[params[0].name], name)


def _for_types(
    types_: tuple[type[Exception], ...], text: Callable[[BaseException], str]
) -> ErrorHandler:
    def handle(error: BaseException) -> str:
        if isinstance(error, types_):
            return text(error)
        raise error

    return handle


def _template(error: BaseException) -> str:
    return _CALL_ERROR.format(error=repr(error))


def error_handler(flag: HandleToolErrors | None) -> ErrorHandler | None:
    """The handler ``flag`` describes; None stays None (the caller's own default).

    Raises:
        ConfigError: a flag of another type, or a handler annotated with a non-exception.
    """
    if flag is None or flag is ERRORS_AS_VALUES:
        return None
    if flag is _default:  # LANGGRAPH_DEFAULT, whatever the conversation's family
        return _default
    if flag is True:
        return _template
    if flag is False:
        return _raise
    if isinstance(flag, str):
        text = flag
        return lambda _error: text
    if isinstance(flag, type) and issubclass(flag, Exception):
        return _for_types((flag,), _template)
    if isinstance(flag, tuple) and all(
        isinstance(t, type) and issubclass(t, Exception) for t in flag
    ):
        return _for_types(flag, _template)
    if callable(flag):
        handler = cast("Callable[[BaseException], str]", flag)
        return _for_types(_handled_types(handler), handler)
    raise ConfigError(
        "handle_tool_errors must be a bool, a message, exception types or a function of the "
        f"exception returning the message, got {flag!r}"
    )


#: LangGraph's default policy, for conversations in LangChain messages.
LANGGRAPH_DEFAULT: ErrorHandler = _default
