"""The ``wrap_model_call`` chain of :func:`~hone.agents.create_agent`: the middleware's
wrappers around the model call, the first outermost, each handler returning a plain
:class:`~hone.agents.middleware.ModelResponse` and the commands of extended responses
collected, the innermost first."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeAlias

from hone.agents.middleware._types import ExtendedModelResponse, ModelRequest, ModelResponse
from hone.graph._types import Command

__all__ = ["AsyncModelWrapper", "ModelWrapper", "Outcome", "achain", "chain"]

#: A ``wrap_model_call`` method: ``(request, handler) -> result``.
ModelWrapper: TypeAlias = Callable[[ModelRequest[Any], Callable[..., Any]], Any]
AsyncModelWrapper: TypeAlias = Callable[[ModelRequest[Any], Callable[..., Any]], Awaitable[Any]]


def _normalized(result: Any, where: str) -> tuple[ModelResponse[Any], list[Command[Any]]]:
    """A ``wrap_model_call`` result as a response and the commands it carries.

    Raises:
        TypeError: a result that is none of a response, an extended response, a reply.
    """
    if isinstance(result, ExtendedModelResponse):
        commands = [] if result.command is None else [result.command]
        return result.model_response, commands
    if isinstance(result, ModelResponse):
        return result, []
    if getattr(result, "type", None) == "ai":
        return ModelResponse([result]), []
    raise TypeError(
        f"{where} returned {type(result).__name__}; return a ModelResponse, an "
        "ExtendedModelResponse or the model's reply message"
    )


Outcome: TypeAlias = "tuple[ModelResponse[Any], list[Command[Any]]]"


def chain(
    wrappers: Sequence[tuple[str, ModelWrapper]],
    base: Callable[[ModelRequest[Any]], ModelResponse[Any]],
) -> Callable[[ModelRequest[Any]], Outcome]:
    """The wrappers around ``base``, the first outermost. Each wrapper's handler returns a
    plain response; the commands of the innermost layers come first (from the last call
    a wrapper made to its handler)."""

    def layer(index: int) -> Callable[[ModelRequest[Any]], Outcome]:
        if index == len(wrappers):
            return lambda request: (base(request), [])
        name, wrapper = wrappers[index]
        inner = layer(index + 1)

        def call(request: ModelRequest[Any]) -> Outcome:
            inner_commands: list[Command[Any]] = []

            def handler(req: ModelRequest[Any]) -> ModelResponse[Any]:
                response, commands = inner(req)
                inner_commands[:] = commands
                return response

            response, own = _normalized(wrapper(request, handler), f"{name}.wrap_model_call")
            return response, [*inner_commands, *own]

        return call

    return layer(0)


def achain(
    wrappers: Sequence[tuple[str, AsyncModelWrapper]],
    base: Callable[[ModelRequest[Any]], Awaitable[ModelResponse[Any]]],
) -> Callable[[ModelRequest[Any]], Awaitable[Outcome]]:
    """Async :func:`chain`."""

    def layer(index: int) -> Callable[[ModelRequest[Any]], Awaitable[Outcome]]:
        if index == len(wrappers):

            async def innermost(request: ModelRequest[Any]) -> Outcome:
                return await base(request), []

            return innermost
        name, wrapper = wrappers[index]
        inner = layer(index + 1)

        async def call(request: ModelRequest[Any]) -> Outcome:
            inner_commands: list[Command[Any]] = []

            async def handler(req: ModelRequest[Any]) -> ModelResponse[Any]:
                response, commands = await inner(req)
                inner_commands[:] = commands
                return response

            result = await wrapper(request, handler)
            response, own = _normalized(result, f"{name}.awrap_model_call")
            return response, [*inner_commands, *own]

        return call

    return layer(0)
