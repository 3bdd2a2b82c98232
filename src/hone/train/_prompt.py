"""Prompt control for training: how requests reach the policy, the same in every phase.

Two things a run may change about every request its program makes:

* **sampling** — ``temperature`` and ``max_tokens`` as the run's config says (greedy for
  evaluation, ``rl.temperature`` for rollouts), whatever the program asked for;
* **tool schemas** (:class:`ToolSchemas`) — ``full`` (the chat template's tool section with every
  JSON schema), ``compact`` (one line per tool in the system prompt) or ``none`` (no schemas: the
  model learns its tools from the system prompt and the demonstrations). A small model pays for
  every prompt token in every forward pass: the schema section is often most of the prompt.

Both wrap the *program's* model, before the recording model sees the request, so the episodes
record the prompt the policy actually saw: SFT renders its samples from those records, RL trains
on their token ids, and evaluation runs the same wrapper. Serve a model trained this way through
the same wrapper (``ToolSchemas(backend, "none")``) so it sees the prompts it was trained on.
"""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Literal, TypeAlias

from hone._async import is_async_callable
from hone.agent._scope import use_model
from hone.errors import TrainingConfigError
from hone.messages import SystemMessage
from hone.models._protocol import ChatRequest, Completion, ModelBackend, StreamEvent
from hone.trajectory import Program

__all__ = [
    "RequestOverride",
    "ToolSchemaMode",
    "ToolSchemas",
    "check_tool_schemas",
    "compact_tools",
    "with_requests",
]

#: ``full``: the tool schemas as given. ``compact``: one line per tool appended to the system
#: prompt, no schemas. ``none``: no schemas at all.
ToolSchemaMode: TypeAlias = Literal["full", "compact", "none"]
_MODES: tuple[ToolSchemaMode, ...] = ("full", "compact", "none")

_COMPACT_HEADER = 'Tools (call one as <tool_call>{"name": ..., "arguments": {...}}</tool_call>):'


def check_tool_schemas(mode: str) -> ToolSchemaMode:
    """``mode`` as a :data:`ToolSchemaMode`.

    Raises:
        TrainingConfigError: it is not one.
    """
    for known in _MODES:
        if mode == known:
            return known
    raise TrainingConfigError(f"unknown tool_schemas {mode!r}; use 'full', 'compact' or 'none'.")


def _signature(tool: Mapping[str, Any]) -> str:
    function = tool.get("function", tool)
    params = function.get("parameters") or {}
    properties = params.get("properties") or {}
    args = ", ".join(f"{name}: {spec.get('type', 'any')}" for name, spec in properties.items())
    description = str(function.get("description") or "").strip().splitlines()
    line = f"- {function.get('name')}({args})"
    return f"{line}: {description[0]}" if description else line


def compact_tools(tools: Sequence[Mapping[str, Any]]) -> str:
    """The ``compact`` rendering of tool schemas: a header and one signature line per tool."""
    return "\n".join([_COMPACT_HEADER, *(_signature(t) for t in tools)])


def _apply_tools(request: ChatRequest, mode: ToolSchemaMode) -> ChatRequest:
    if mode == "full" or not request.tools:
        return request
    if mode == "none":
        return dataclasses.replace(request, tools=())
    listing = compact_tools(request.tools)
    messages = list(request.messages)
    if messages and isinstance(messages[0], SystemMessage):
        messages[0] = SystemMessage(content=f"{messages[0].text}\n\n{listing}")
    else:
        messages.insert(0, SystemMessage(content=listing))
    return dataclasses.replace(request, messages=tuple(messages), tools=())


class RequestOverride:
    """A backend wrapper that changes every request the same way: its ``temperature`` and
    ``max_tokens`` (when set) and how its tool schemas are rendered.

    Args:
        backend: the model to wrap.
        temperature: the temperature of every call; None keeps the request's.
        max_tokens: the most new tokens of every call; None keeps the request's.
        tool_schemas: ``full`` keeps the schemas, ``compact`` or ``none`` replaces them
            (see :class:`ToolSchemas`).
    """

    def __init__(
        self,
        backend: ModelBackend,
        *,
        temperature: float | None = None,
        max_tokens: int | None = None,
        tool_schemas: ToolSchemaMode = "full",
    ) -> None:
        self.backend = backend
        self.temperature = temperature
        self.max_tokens = max_tokens
        self.tool_schemas = check_tool_schemas(tool_schemas)

    @property
    def name(self) -> str:
        """The wrapped backend's name."""
        return self.backend.name

    def apply(self, request: ChatRequest) -> ChatRequest:
        """``request`` as this wrapper sends it."""
        changes: dict[str, Any] = {}
        if self.temperature is not None:
            changes["temperature"] = self.temperature
        if self.max_tokens is not None:
            changes["max_tokens"] = self.max_tokens
        if changes:
            request = dataclasses.replace(request, options=request.options.with_(**changes))
        return _apply_tools(request, self.tool_schemas)

    async def complete(self, request: ChatRequest) -> Completion:
        """Complete one conversation, changed as configured."""
        return await self.backend.complete(self.apply(request))

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        """Complete many conversations, each changed as configured."""
        return await self.backend.complete_batch([self.apply(r) for r in requests])

    def stream(self, request: ChatRequest) -> AsyncIterator[StreamEvent]:
        """Stream one conversation, changed as configured."""
        return self.backend.stream(self.apply(request))


class ToolSchemas(RequestOverride):
    """A backend wrapper that renders tool schemas as ``mode`` says (``none``: leave them out;
    ``compact``: one line per tool in the system prompt; ``full``: as given).

    The program still passes its tools to the agent loop, which validates and runs every call
    as before; only the prompt changes. Use it wherever the model is called — the training
    config's ``tool_schemas`` applies it to teacher rollouts, SFT data, RL rollouts and
    evaluation; wrap the served backend with it too::

        served = ToolSchemas(load_model("hf:runs/my-agent/model"), "none")

    ``compact`` and ``none`` are for models trained on hone's ``<tool_call>`` format (local
    models); a remote API needs the schemas to call tools natively.
    """

    def __init__(self, backend: ModelBackend, mode: ToolSchemaMode = "none") -> None:
        super().__init__(backend, tool_schemas=mode)


def _wrap(models: Any, override: dict[str, Any]) -> Any:
    if isinstance(models, Mapping):
        return {role: _wrap(m, override) for role, m in models.items()}
    return RequestOverride(models, **override)


def with_requests(
    program: Program,
    *,
    temperature: float | None = None,
    max_tokens: int | None = None,
    tool_schemas: ToolSchemaMode = "full",
) -> Program:
    """``program`` with every model it is given wrapped in a :class:`RequestOverride`.

    The wrapper sits *inside* the rollout's recording, so episodes record the requests actually
    sent. A sync program stays sync (rollouts run it in a worker thread).
    """
    override: dict[str, Any] = {
        "temperature": temperature,
        "max_tokens": max_tokens,
        "tool_schemas": check_tool_schemas(tool_schemas),
    }
    if temperature is None and max_tokens is None and tool_schemas == "full":
        return program
    # The wrapped models are also given to code that asks for its model with ``get_model()``
    # (graph nodes), so every way a program reaches its model sees the override.
    if is_async_callable(program):

        async def run_async(task: Any, models: Any) -> Any:
            wrapped = _wrap(models, override)
            with use_model(wrapped):
                return await program(task, wrapped)

        return run_async

    def run_sync(task: Any, models: Any) -> Any:
        wrapped = _wrap(models, override)
        with use_model(wrapped):
            return program(task, wrapped)

    return run_sync
