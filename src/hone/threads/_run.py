"""Running threads: :func:`arun_threads` (and its sync shell :func:`run_threads`).

One entry point for both runtimes. With a local ``TransformersModel`` every thread is one
decoding request (``_runtime``: tools inside decoding, pruning in the KV cache, batched);
with any other backend each tool call ends a call and the next one re-sends the pruned text
(``_per_call``). Tools run through hone's executor (validation, timeouts, retries, errors as
``Error: ...`` results the model reads in ``tool_result``).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from typing import Any, TypeAlias

from hone import _compute
from hone._sync import run_sync
from hone.errors import ConfigError
from hone.interop._model import ModelLike, resolve_model
from hone.messages import AnyMessage, MessageLike, SystemMessage, text_of, to_messages
from hone.models._protocol import ModelBackend
from hone.threads._events import ToolCallReady
from hone.threads._options import ThreadOptions, ThreadResult
from hone.threads._per_call import RunTool, arun_per_call
from hone.threads._schema import ThreadSchema
from hone.threads._teacher import Teacher
from hone.tools import ToolLike, ToolRegistry, aexecute_tool_call

__all__ = ["ThreadTask", "arun_threads", "run_threads", "thread_messages"]

#: A task: the user's request as text, or a conversation (message-likes).
ThreadTask: TypeAlias = str | Sequence[MessageLike]


def thread_messages(task: ThreadTask, schema: ThreadSchema) -> list[AnyMessage]:
    """The prompt of a thread: the protocol's instructions as the system message (a system
    message of the task's own goes after them), then the task."""
    messages: list[AnyMessage] = list(to_messages(task))
    instructions = schema.instructions()
    if messages and isinstance(messages[0], SystemMessage):
        instructions = f"{instructions}\n\n{text_of(messages.pop(0).content)}"
    return [SystemMessage(content=instructions), *messages]


async def arun_threads(
    model: ModelLike,
    tasks: Sequence[ThreadTask],
    tools: ToolRegistry | Sequence[ToolLike] = (),
    *,
    options: ThreadOptions | None = None,
    teacher: Teacher | None = None,
    deps: Any = None,
) -> list[ThreadResult]:
    """Solve every task as a thread (a task tree) and return the results in task order.

    Nothing the model does raises: a malformed tree is cut back and shown to the model
    (``options.max_corrections`` times), a tool failure becomes its ``tool_result``, a
    working memory that does not fit even after pruning ends the episode with stop reason
    "context_overflow".

    Args:
        model: a backend, a model spec (``"tiny:"``, ``"openai:..."``) or a LangChain chat
            model. A local ``TransformersModel`` runs the single-request runtime.
        tasks: the tasks, as text or conversations.
        tools: the tools a ``tooluse`` may call.
        options: depth, pruning rule, sampling and budgets (:class:`ThreadOptions`).
        teacher: writes the threads instead of the model (teacher forcing: the model encodes
            the teacher's tokens and its logprobs are recorded; decoding is unconstrained).
        deps: given to tools through their injected context.

    Raises:
        ConfigError: ``runtime="single_request"`` with a backend that is not local, or a
            teacher with a remote backend.
        CapabilityError: a constrained local run without llguidance, or a model whose
            layers cannot be pruned column by column.
    """
    opts = options or ThreadOptions()
    backend = resolve_model(model)
    registry = ToolRegistry.coerce(tools)
    schema = ThreadSchema.for_tools(registry, max_depth=opts.max_depth)
    prompts = [thread_messages(task, schema) for task in tasks]
    if not prompts:
        return []

    async def run_tool(_index: int, call: ToolCallReady) -> str:
        result = await aexecute_tool_call(
            {"name": call.tool_name, "args": call.parameters, "id": f"thread_{call.index}"},
            registry,
            deps=deps,
            execution=opts.execution,
        )
        content = result.content
        return content if isinstance(content, str) else text_of(content)

    if _single_request(backend, opts):
        return await _arun_single(backend, prompts, schema, opts, teacher, run_tool)
    return list(
        await asyncio.gather(
            *(
                arun_per_call(backend, i, p, schema, opts, run_tool, teacher=teacher)
                for i, p in enumerate(prompts)
            )
        )
    )


def run_threads(
    model: ModelLike,
    tasks: Sequence[ThreadTask],
    tools: ToolRegistry | Sequence[ToolLike] = (),
    *,
    options: ThreadOptions | None = None,
    teacher: Teacher | None = None,
    deps: Any = None,
) -> list[ThreadResult]:
    """Synchronous :func:`arun_threads`."""
    return run_sync(arun_threads(model, tasks, tools, options=options, teacher=teacher, deps=deps))


def _single_request(backend: ModelBackend, options: ThreadOptions) -> bool:
    # A backend can only be a TransformersModel if its (torch-importing) module is loaded.
    module = sys.modules.get("hone.models._transformers")
    local = module is not None and isinstance(backend, module.TransformersModel)
    if options.runtime == "single_request" and not local:
        raise ConfigError(
            "the single-request runtime needs a local TransformersModel (it writes tool "
            f"results into the KV cache); got {type(backend).__name__}; use runtime='per_call'"
        )
    return local and options.runtime != "per_call"


async def _arun_single(
    backend: Any,
    prompts: Sequence[Sequence[AnyMessage]],
    schema: ThreadSchema,
    options: ThreadOptions,
    teacher: Teacher | None,
    run_tool: RunTool,
) -> list[ThreadResult]:
    from hone.threads._runtime import ThreadBatch  # needs torch; the backend loaded it

    batch = await _compute.acall(ThreadBatch, backend, prompts, schema, options, teacher=teacher)
    running: dict[asyncio.Task[str], int] = {}
    try:
        while not batch.finished:
            requests = await _compute.acall(batch.advance)
            for index, call in requests:
                running[asyncio.ensure_future(run_tool(index, call))] = index
            if requests:
                await asyncio.sleep(0)  # a fast tool may finish right away
            done = [task for task in running if task.done()]
            if not done and not requests and running:
                # advance() returned without requests: every live row waits for a tool.
                finished, _ = await asyncio.wait(running, return_when=asyncio.FIRST_COMPLETED)
                done = list(finished)
            elif not done and not requests and not batch.finished:
                raise RuntimeError("thread runtime stalled: rows wait but no tool runs")
            for task in done:
                batch.deliver(running.pop(task), task.result())
    finally:
        for task in running:
            task.cancel()
    return batch.results()
