"""The minimal agent loop: model → parse → tools → observations → model.

The loop never raises on a model mistake. Malformed tool calls, unknown tools, invalid
arguments and tool exceptions all come back to the model as messages it can react to. When the
step budget runs out, one last call asks the model for its answer (:class:`FinalAnswer`), so
every run ends with an assistant message that carries no tool calls. Each step is an
:class:`AgentStep`, the same one the graph's ``create_react_agent`` takes.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from hone._sync import run_sync
from hone.agent._scope import report_stop
from hone.agent._step import AgentStep, FinalAnswer, with_system
from hone.errors import ConfigError
from hone.interop._messages import from_langchain, is_langchain_message, to_langchain
from hone.interop._model import ModelLike, resolve_model
from hone.memory import ContextPolicy
from hone.messages import AnyMessage, MessageLike, to_message
from hone.models._protocol import SamplingOptions
from hone.tools import Tool, ToolRegistry, aexecute_tool_calls

__all__ = ["AgentOptions", "arun_agent", "run_agent"]

logger = logging.getLogger(__name__)

ToolsLike = ToolRegistry | Iterable[Tool | Callable[..., Any]]


@dataclass(frozen=True, slots=True)
class AgentOptions:
    """How the loop runs.

    Attributes:
        max_steps: model calls allowed before the final-answer call.
        sampling: sampling options for every model call.
        stop_tools: names of tools that end the run once called (e.g. ``submit``).
        final_answer: what is sent when the budget is spent (:class:`FinalAnswer`: its prompt,
            tools withheld); None ends the run without that extra call.
        context: what each model call sees of the history
            (:class:`~hone.memory.TrimPolicy`, :class:`~hone.memory.SummaryPolicy`); the
            returned history stays whole. None: all of it.
    """

    max_steps: int = 10
    sampling: SamplingOptions = field(default_factory=SamplingOptions)
    stop_tools: Collection[str] = ()
    final_answer: FinalAnswer | None = field(default_factory=FinalAnswer)
    context: ContextPolicy | None = None


def _registry(tools: ToolsLike) -> ToolRegistry:
    return tools if isinstance(tools, ToolRegistry) else ToolRegistry(list(tools))


class _History:
    """The run's messages as hone messages, remembering which LangChain message each input
    came from, so a run given LangChain messages answers with LangChain messages (the given
    ones unchanged)."""

    def __init__(self, messages: Sequence[Any] | Any) -> None:
        single = isinstance(messages, str | tuple | Mapping | BaseModel)
        given: list[Any] = (
            [messages] if single or is_langchain_message(messages) else list(messages)
        )
        self.langchain = any(is_langchain_message(m) for m in given)
        self.messages: list[AnyMessage] = []
        self._origin: dict[int, Any] = {}
        for value in given:
            msg = from_langchain(value) if is_langchain_message(value) else to_message(value)
            if is_langchain_message(value):
                self._origin[id(msg)] = value
            self.messages.append(msg)

    def result(self) -> list[Any]:
        if not self.langchain:
            return self.messages
        return [self._origin.get(id(m)) or to_langchain(m) for m in self.messages]


async def arun_agent(
    model: ModelLike,
    tools: ToolsLike = (),
    messages: Sequence[MessageLike] | MessageLike = (),
    *,
    max_steps: int | None = None,
    system: str | None = None,
    options: AgentOptions | None = None,
    deps: Any = None,
) -> list[Any]:
    """Run a tool-using agent until it answers; return the full message history.

    The history holds hone messages, or LangChain messages when ``messages`` has any (the
    given ones are returned as they were given).

    Args:
        model: a model backend, a model spec string such as ``"tiny:"`` or
            ``"anthropic:claude-sonnet-4-5"`` (through LangChain), or a LangChain chat model.
        tools: tools, LangChain tools, plain typed functions, or a
            :class:`~hone.tools.ToolRegistry`.
        messages: the conversation so far (anything message-like, of either family).
        max_steps: shorthand for ``options.max_steps``.
        system: a system prompt, put first unless the messages already start with one.
        options: loop options (:class:`AgentOptions`).
        deps: user dependencies handed to tools through their injected context.
    """
    opts = options or AgentOptions()
    steps = opts.max_steps if max_steps is None else max_steps
    if steps < 1:
        raise ConfigError(f"max_steps must be at least 1, got {steps}")
    backend = resolve_model(model)
    registry = _registry(tools)
    step = AgentStep(
        tools=tuple(registry.specs()), sampling=opts.sampling, final_answer=opts.final_answer
    )
    run = _History(messages)
    run.messages[:] = with_system(system, run.messages)
    history = run.messages
    memory: dict[str, Any] = {}  # the context policy's state for this run

    async def view() -> list[AnyMessage]:
        if opts.context is None:
            return history
        return await opts.context.aview(history, model=backend, tools=step.tools, memory=memory)

    for index in range(steps):
        turn = await step.arun(backend, await view())
        history.extend(turn.messages)
        if turn.stop is not None:
            return run.result()
        calls = turn.reply.tool_calls
        if not calls:  # the parse errors were shown to the model: it tries again
            logger.debug("step %d: parse errors %s", index, turn.completion.parse_errors)
            continue
        history.extend(await aexecute_tool_calls(calls, registry, deps=deps))
        if any(call.name in opts.stop_tools for call in calls):
            report_stop("stop_tool", backend)
            return run.result()

    if opts.final_answer is None:
        report_stop("step_budget", backend)
        return run.result()
    history.extend((await step.arun(backend, await view(), final=True)).messages)
    return run.result()


def run_agent(
    model: ModelLike,
    tools: ToolsLike = (),
    messages: Sequence[MessageLike] | MessageLike = (),
    *,
    max_steps: int | None = None,
    system: str | None = None,
    options: AgentOptions | None = None,
    deps: Any = None,
) -> list[Any]:
    """Synchronous :func:`arun_agent`."""
    return run_sync(
        arun_agent(
            model, tools, messages, max_steps=max_steps, system=system, options=options, deps=deps
        )
    )
