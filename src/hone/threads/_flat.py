"""The baseline: the same tasks and tools as a flat ReAct agent, with no pruning.

:func:`arun_flat` runs ``hone.agent.arun_agent`` once per task (concurrently; calls to one
model are batched) and reports what each run cost in the terms threads use
(:class:`~hone.threads.ThreadStats`): a flat agent sends its whole conversation at every
call, so ``processed_tokens`` is the sum of every call's prompt and completion, the cost of
re-sending. Run the same task list through :func:`~hone.threads.arun_threads` and this to
compare the two.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from hone._sync import run_sync
from hone.agent import AgentOptions, arun_agent
from hone.interop._model import ModelLike, resolve_model
from hone.messages import AnyMessage, AssistantMessage, ToolMessage, text_of
from hone.models._batching import BatchingModel
from hone.models._chat import ChatSurface
from hone.models._protocol import (
    ChatRequest,
    Completion,
    ModelBackend,
    SamplingOptions,
    StreamEvent,
)
from hone.threads._options import ThreadStats
from hone.tools import ToolLike, ToolRegistry

__all__ = ["FLAT_SYSTEM_PROMPT", "FlatResult", "arun_flat", "run_flat"]

#: The flat agent's system prompt.
FLAT_SYSTEM_PROMPT = (
    "Solve the task with the tools. Call one tool at a time and read its result before the "
    "next step; when you know the answer, reply with it and call no tool."
)


@dataclass(frozen=True, slots=True)
class FlatResult:
    """One flat run."""

    #: The whole conversation.
    messages: tuple[AnyMessage, ...]
    #: The last assistant message's text.
    answer: str | None
    tool_calls: int
    stats: ThreadStats
    #: Each model call's completion.
    completions: tuple[Completion, ...]


async def arun_flat(
    model: ModelLike,
    tasks: Sequence[str],
    tools: ToolRegistry | Sequence[ToolLike] = (),
    *,
    max_steps: int = 64,
    sampling: SamplingOptions | None = None,
    system: str = FLAT_SYSTEM_PROMPT,
    deps: Any = None,
) -> list[FlatResult]:
    """Run every task with a flat ReAct agent over ``tools``; results in task order.

    Args:
        model: a backend, a model spec or a LangChain chat model; concurrent calls are
            batched (:class:`~hone.models.BatchingModel`).
        tasks: the tasks, as user messages.
        tools: the tools.
        max_steps: model calls before the agent is asked for its final answer.
        sampling: sampling options of every call.
        system: the system prompt.
        deps: given to tools through their injected context.
    """
    backend = resolve_model(model)
    shared = BatchingModel(backend) if len(tasks) > 1 else backend
    registry = ToolRegistry.coerce(tools)
    options = AgentOptions(max_steps=max_steps, sampling=sampling or SamplingOptions())

    async def one(task: str) -> FlatResult:
        recorder = _Recorder(shared)
        messages = await arun_agent(
            recorder, registry, task, system=system, options=options, deps=deps
        )
        return _result(messages, recorder.completions)

    return list(await asyncio.gather(*(one(t) for t in tasks)))


def run_flat(
    model: ModelLike,
    tasks: Sequence[str],
    tools: ToolRegistry | Sequence[ToolLike] = (),
    *,
    max_steps: int = 64,
    sampling: SamplingOptions | None = None,
    system: str = FLAT_SYSTEM_PROMPT,
    deps: Any = None,
) -> list[FlatResult]:
    """Synchronous :func:`arun_flat`."""
    return run_sync(
        arun_flat(
            model, tasks, tools, max_steps=max_steps, sampling=sampling, system=system, deps=deps
        )
    )


def _result(messages: Sequence[AnyMessage], completions: Sequence[Completion]) -> FlatResult:
    replies = [m for m in messages if isinstance(m, AssistantMessage)]
    usage = [c.usage for c in completions]
    return FlatResult(
        messages=tuple(messages),
        answer=text_of(replies[-1].content) if replies else None,
        tool_calls=sum(1 for m in messages if isinstance(m, ToolMessage)),
        stats=ThreadStats(
            model_tokens=sum(u.completion_tokens for u in usage),
            processed_tokens=sum(u.total_tokens for u in usage),
            kv_entries=usage[-1].total_tokens if usage else 0,
            peak_kv_entries=max((u.total_tokens for u in usage), default=0),
            calls=len(usage),
        ),
        completions=tuple(completions),
    )


class _Recorder(ChatSurface):
    """Passes calls through and keeps their completions (one per task)."""

    def __init__(self, backend: ModelBackend) -> None:
        self.backend, self.completions = backend, list[Completion]()

    @property
    def name(self) -> str:
        return self.backend.name

    async def complete(self, request: ChatRequest) -> Completion:
        completion = await self.backend.complete(request)
        self.completions.append(completion)
        return completion

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        completions = await self.backend.complete_batch(requests)
        self.completions.extend(completions)
        return completions

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        yield StreamEvent(kind="done", completion=await self.complete(request))
