"""The functions an RLM's code calls, served on the host: ``llm_query``,
``llm_query_batched`` (concurrent, under the run's cap) and ``rlm_query`` (a sub-RLM).

Each admits its calls against the run's budget first; a refused call raises
:class:`SubCallRefused` in the handler, which the code sees as
``HostError("SubCallRefused: <why>")``, and the refusal is recorded.
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from hone.messages import UserMessage
from hone.models._protocol import ChatRequest, ModelBackend
from hone.rlm._config import RLMConfig
from hone.rlm._result import Refusal
from hone.rlm._roles import SUB_ROLE, role_at
from hone.rlm._spend import Spend
from hone.sandbox import HostFunction, Sandbox

__all__ = ["Shared", "Spawn", "SubCallFailed", "SubCallRefused", "sub_call_functions"]

#: Starts a sub-RLM on ``(prompt, context)`` and returns its answer.
Spawn = Callable[[str, Any], Awaitable[Any]]


class SubCallRefused(Exception):
    """A budget refused a sub-call; the message says which and what to do."""


class SubCallFailed(Exception):
    """A sub-call ran but gave no answer (a sub-RLM that stopped on a budget)."""


@dataclass(eq=False, slots=True)
class Shared:
    """What every level of one run shares: settings, the model of each role, the spend
    counters, the cap on concurrent sub-calls, and where code runs."""

    config: RLMConfig
    models: Mapping[str, ModelBackend]
    spend: Spend
    gate: asyncio.Semaphore
    sandbox: Sandbox


def _refuse(refusal: Refusal | None) -> None:
    if refusal is not None:
        raise SubCallRefused(refusal.message)


def _text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise TypeError(f"{what} must be a str, got {type(value).__name__}")
    return value


def sub_call_functions(shared: Shared, depth: int, spawn: Spawn) -> list[HostFunction]:
    """The host functions of the RLM at ``depth``; its sub-calls record under
    ``llm_query`` (``llm_query@depth`` below the root)."""
    role = role_at(SUB_ROLE, depth)
    spend = shared.spend

    async def ask(prompt: str, function: str) -> str:
        request = ChatRequest(
            messages=(UserMessage(content=prompt),), options=shared.config.sub_options
        )
        async with shared.gate:
            remaining = spend.remaining_seconds()
            try:
                async with asyncio.timeout(None if remaining is None else max(remaining, 0)):
                    completion = await shared.models[role].complete(request)
            except TimeoutError:
                if spend.exhausted() != "time":
                    raise
                message = f"{function} stopped: the run's time budget ran out during the call"
                raise SubCallRefused(
                    spend.refuse("time", function, depth, message).message
                ) from None
        spend.charge(role, completion.usage)
        return completion.message.text

    async def llm_query(prompt: str) -> str:
        """Ask a sub-model one question (its prompt holds everything it needs, such as a
        piece of the context) and return its reply as text."""
        _refuse(spend.admit("llm_query", [_text(prompt, "prompt")], depth))
        return await ask(prompt, "llm_query")

    async def llm_query_batched(prompts: list[str]) -> list[str]:
        """Ask a sub-model each of several prompts, concurrently; returns the replies in the
        prompts' order. Much faster than llm_query in a loop."""
        if not isinstance(prompts, list):
            raise TypeError(f"prompts must be a list of str, got {type(prompts).__name__}")
        checked = [_text(p, f"prompts[{i}]") for i, p in enumerate(prompts)]
        _refuse(spend.admit("llm_query_batched", checked, depth))
        try:
            async with asyncio.TaskGroup() as group:
                tasks = [group.create_task(ask(p, "llm_query_batched")) for p in checked]
        except ExceptionGroup as failed:  # the first failure, as the code should see it
            raise failed.exceptions[0] from None
        return [task.result() for task in tasks]

    async def rlm_query(prompt: str, context: Any) -> Any:
        """Answer prompt about context (a str, list or dict) with a fresh RLM: it gets its
        own session where `context` is this value, and the same functions. Returns its
        answer['content']. For big sub-problems; use llm_query for small ones."""
        if depth >= shared.config.max_depth:
            message = (
                f"rlm_query refused: the recursion depth limit ({shared.config.max_depth}) is "
                "reached here; use llm_query"
            )
            raise SubCallRefused(spend.refuse("depth", "rlm_query", depth, message).message)
        _refuse(spend.admit("rlm_query", [_text(prompt, "prompt")], depth))
        return await spawn(prompt, context)

    return [
        HostFunction(
            name="llm_query",
            handler=llm_query,
            doc=inspect.getdoc(llm_query) or "",
            signature="(prompt: str) -> str",
        ),
        HostFunction(
            name="llm_query_batched",
            handler=llm_query_batched,
            doc=inspect.getdoc(llm_query_batched) or "",
            signature="(prompts: list[str]) -> list[str]",
        ),
        HostFunction(
            name="rlm_query",
            handler=rlm_query,
            doc=inspect.getdoc(rlm_query) or "",
            signature="(prompt: str, context: str | list | dict) -> Any",
        ),
    ]
