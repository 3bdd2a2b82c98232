"""Helpers of the RLM tests: code replies, test backends, and a sandbox that keeps its
sessions (so a test can check they were closed)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Sequence

from hone.errors import ContextOverflowError
from hone.messages import AssistantMessage
from hone.models import ChatRequest, Completion, ScriptedModel, StreamEvent, Usage
from hone.sandbox import HostFunction, Limits, ProcessSandbox, ProcessSession, SandboxConfig


def code(text: str) -> str:
    """A reply holding one python block."""
    return f"```python\n{text}\n```"


def finish(content: object = "done") -> str:
    """A reply that sets the answer and marks it ready."""
    return code(f"answer['content'] = {content!r}\nanswer['ready'] = True")


class KeepingSandbox(ProcessSandbox):
    """A process sandbox with quick limits that keeps the sessions it started."""

    def __init__(self, limits: Limits | None = None) -> None:
        super().__init__(SandboxConfig(limits=limits or Limits(timeout=5.0, interrupt_grace=0.3)))
        self.sessions: list[ProcessSession] = []

    async def astart(self, functions: Sequence[HostFunction] = ()) -> ProcessSession:  # type: ignore[override]
        session = await super().astart(functions)
        self.sessions.append(session)
        return session


class Base:
    """What the test backends share: a name, batches and streams through ``complete``."""

    name = "test"

    async def complete(self, request: ChatRequest) -> Completion:
        raise NotImplementedError

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        return [await self.complete(r) for r in requests]

    async def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        yield StreamEvent(kind="done", completion=await self.complete(request))


class HonoursStop(Base):
    """A scripted model whose replies end at the first stop sequence the request names (the
    stop string itself removed), as real backends return them."""

    def __init__(self, replies: Sequence[str]) -> None:
        self.inner = ScriptedModel(list(replies))

    @property
    def requests(self) -> list[ChatRequest]:
        return self.inner.requests

    async def complete(self, request: ChatRequest) -> Completion:
        completion = await self.inner.complete(request)
        text = completion.text
        for stop in request.options.stop:
            cut = text.find(stop)
            if cut >= 0:
                text = text[:cut]
        return dataclasses.replace(
            completion, text=text, message=AssistantMessage(content=text), finish_reason="stop"
        )


class CutOff(Base):
    """A scripted model whose replies all end at the token limit (``finish_reason="length"``)."""

    def __init__(self, replies: Sequence[str]) -> None:
        self.inner = ScriptedModel(list(replies))

    async def complete(self, request: ChatRequest) -> Completion:
        completion = await self.inner.complete(request)
        return dataclasses.replace(completion, finish_reason="length")


class Gauge(Base):
    """A sub-model that answers with its prompt's length after a short wait and records
    how many of its calls ran at once."""

    def __init__(self, wait: float = 0.02) -> None:
        self.wait = wait
        self.running = 0
        self.most = 0
        self.prompts: list[str] = []

    async def complete(self, request: ChatRequest) -> Completion:
        self.running += 1
        self.most = max(self.most, self.running)
        try:
            await asyncio.sleep(self.wait)
        finally:
            self.running -= 1
        prompt = request.messages[-1].text
        self.prompts.append(prompt)
        reply = str(len(prompt))
        return Completion(
            message=AssistantMessage(content=reply),
            text=reply,
            usage=Usage(prompt_tokens=len(prompt), completion_tokens=1),
            model=self.name,
        )


class Overflowing(Base):
    """A model whose prompt never fits its window."""

    async def complete(self, request: ChatRequest) -> Completion:
        raise ContextOverflowError("the prompt is 9999 tokens but the context is 2048")


def user_texts(requests: Sequence[ChatRequest]) -> list[str]:
    """Every message text of every request."""
    return [m.text for r in requests for m in r.messages]


__all__ = [
    "Base",
    "CutOff",
    "Gauge",
    "HonoursStop",
    "KeepingSandbox",
    "Overflowing",
    "code",
    "finish",
    "user_texts",
]
