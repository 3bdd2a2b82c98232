"""LangChain callbacks on graph runs: ``config={"callbacks": [handler]}``.

A run given callbacks reports to them as LangGraph does, so tracers written for LangChain
(LangSmith's, Langfuse's, a custom ``BaseCallbackHandler``) and ``astream_events`` see the
same tree:

- a chain run for the graph, named after it (or ``run_name``), with ``run_id`` when the config
  gives one, ended with the output values or the exception the run raises;
- a child chain run per node attempt, tagged ``graph:step:N``, with the task's metadata
  (``langgraph_node``, ``langgraph_step``, ...), ended with the node's return value; handlers
  that tap streams (what ``astream_events`` uses) see that value as the node's stream;
- a chain run per router call under its node (tagged ``seq:step:3``, ``seq:step:4``, ... as
  LangGraph numbers them), ended with the route;
- while a node runs, its run is the ambient LangChain parent (its config's ``callbacks``,
  tagged ``seq:step:1``), so LangChain models, tools, ``dispatch_custom_event`` and a
  subgraph nest under it.

A node added with a ``trace_policy`` (:class:`~hone.graph.TracePolicy`) reports its input
and output to tracers (LangChain ``BaseTracer`` handlers: LangSmith's, ...) as the policy's
processors make them, and to other handlers (``astream_events``, plain callback handlers) as
they are; a processor that raises is logged and the value reported as it is. Hidden runtime
nodes report nothing. A run without callbacks pays one ``None`` check per
task; nothing here imports LangChain unless a run has callbacks.
"""

from __future__ import annotations

import copy
import functools
import importlib.util
import inspect
import logging
import os
import sys
from collections.abc import AsyncIterator, Callable, Coroutine
from typing import TYPE_CHECKING, Any

from hone.graph._constants import NS_SEP

if TYPE_CHECKING:
    from hone.graph._algo import Task
    from hone.graph._loop import Loop

__all__ = [
    "GraphRun",
    "ModelRun",
    "NodeRun",
    "ToolRun",
    "aend_graph_run",
    "aresume_graph_run",
    "astart_graph_run",
    "end_graph_run",
    "resume_graph_run",
    "start_graph_run",
]

logger = logging.getLogger(__name__)

#: The tag of a node's own calls (LangGraph runs a node as a sequence whose first step is
#: the node's function).
_NODE_CALL_TAG = "seq:step:1"
#: LangGraph's sequence position of a node's first router (after the function and writers).
_FIRST_ROUTER_STEP = 3


#: LangSmith's switches: any of them "true" makes LangChain add its tracer to every run.
_TRACING_ENV = ("LANGSMITH_TRACING", "LANGSMITH_TRACING_V2", "LANGCHAIN_TRACING_V2")


def _reports(config: dict[str, Any]) -> bool:
    """Whether a run reports to callbacks: its config has handlers, or LangSmith tracing is
    on (its environment variables, or LangChain's tracing context), for which LangChain adds
    its tracer, as it does for LangGraph's runs."""
    callbacks = config.get("callbacks")
    if callbacks is not None:
        handlers = callbacks if isinstance(callbacks, list) else getattr(callbacks, "handlers", ())
        if handlers:
            return True
    if "langchain_core" in sys.modules:  # what LangChain asks before adding its tracer
        context_var, enabled = _tracing_switches()
        return context_var.get() is not None or bool(enabled())
    if not any(os.environ.get(key, "").lower() == "true" for key in _TRACING_ENV):
        return False
    return importlib.util.find_spec("langchain_core") is not None


@functools.cache
def _tracing_switches() -> tuple[Any, Any]:
    """LangChain's tracing context variable and LangSmith's switch (imported once: every
    run without callbacks asks them)."""
    from langchain_core.tracers.context import tracing_v2_callback_var
    from langsmith.utils import tracing_is_enabled

    return tracing_v2_callback_var, tracing_is_enabled


def _manager_config(config: dict[str, Any]) -> dict[str, Any]:
    """What LangChain's callback managers read of a hone config; the runs are marked as
    LangGraph graph runs (``ls_integration``), as LangGraph marks them, so tracers that
    know LangGraph (LangSmith) show them as such."""
    return {
        "callbacks": config.get("callbacks"),
        "tags": list(config.get("tags") or ()),
        "metadata": {"ls_integration": "langgraph", **(config.get("metadata") or {})},
    }


def _name(loop: Loop) -> str:
    return str(loop.config.get("run_name") or getattr(loop.graph, "name", None) or "LangGraph")


def _own_handlers(manager: Any) -> Any:
    """A nested graph's manager without the parent task's ``messages``-mode handler (each
    graph streams its own tasks' tokens; inherited, the parent's would send them twice)."""
    from hone.graph._lc_stream import is_messages_handler

    for handler in [*manager.handlers]:
        if is_messages_handler(handler):
            manager.remove_handler(handler)
    return manager


def _streaming(handlers: list[Any]) -> list[Any]:
    """The handlers that tap a run's output stream (``astream_events`` does)."""
    return [h for h in handlers if hasattr(h, "tap_output_iter") and hasattr(h, "tap_output_aiter")]


async def _one(value: Any) -> AsyncIterator[Any]:
    yield value


class GraphRun:
    """The chain run of one graph run (sync or async managers, by how the graph runs)."""

    __slots__ = ("manager",)

    def __init__(self, manager: Any) -> None:
        self.manager = manager

    def end(self, output: Any) -> Any:
        """Report the run's output (a coroutine for an async run)."""
        return self.manager.on_chain_end(output)

    def fail(self, error: BaseException) -> Any:
        """Report the exception the run raises (a coroutine for an async run)."""
        return self.manager.on_chain_error(error)

    def step(self, step: int) -> Any:
        """The parent of the step's node runs."""
        return self.manager.get_child(f"graph:step:{step}")


def start_graph_run(loop: Loop) -> GraphRun | None:
    """Start the chain run of a sync run; None when its config has no callbacks."""
    if not _reports(loop.config):
        return None
    from langchain_core.runnables.config import get_callback_manager_for_config

    manager = _own_handlers(get_callback_manager_for_config(_manager_config(loop.config)))  # type: ignore[arg-type]
    run = manager.on_chain_start(
        None, loop.input, run_id=loop.config.get("run_id"), name=_name(loop)
    )
    return GraphRun(run)


async def astart_graph_run(loop: Loop) -> GraphRun | None:
    """Start the chain run of an async run; None when its config has no callbacks."""
    if not _reports(loop.config):
        return None
    from langchain_core.runnables.config import get_async_callback_manager_for_config

    manager = _own_handlers(get_async_callback_manager_for_config(_manager_config(loop.config)))  # type: ignore[arg-type]
    run = await manager.on_chain_start(
        None, loop.input, run_id=loop.config.get("run_id"), name=_name(loop)
    )
    return GraphRun(run)


def end_graph_run(loop: Loop, failure: BaseException | None) -> None:
    """End a sync run's chain run (once): its output values, or the exception it raises; a
    run that paused tells its graph handlers first."""
    run: GraphRun | None = loop.callbacks
    if run is None:
        return
    loop.callbacks = None
    if failure is None and (told := _lifecycle(run, loop, "on_interrupt")) is not None:
        from langchain_core.callbacks.manager import handle_event

        try:
            handle_event(*told)
        except BaseException as exc:  # a handler with raise_error: the run raises it
            run.fail(exc)
            raise
    if failure is None:
        run.end(_output(loop))
    else:
        run.fail(failure)


async def aend_graph_run(loop: Loop, failure: BaseException | None) -> None:
    """Async :func:`end_graph_run`."""
    run: GraphRun | None = loop.callbacks
    if run is None:
        return
    loop.callbacks = None
    if failure is None and (told := _lifecycle(run, loop, "on_interrupt")) is not None:
        from langchain_core.callbacks.manager import ahandle_event

        try:
            await ahandle_event(*told)
        except BaseException as exc:
            await run.fail(exc)
            raise
    await (run.end(_output(loop)) if failure is None else run.fail(failure))


def resume_graph_run(loop: Loop) -> None:
    """Tell a sync run's graph handlers that it resumed from a checkpoint (if it did)."""
    run: GraphRun | None = loop.callbacks
    if run is not None and (told := _lifecycle(run, loop, "on_resume")) is not None:
        from langchain_core.callbacks.manager import handle_event

        handle_event(*told)


async def aresume_graph_run(loop: Loop) -> None:
    """Async :func:`resume_graph_run`."""
    run: GraphRun | None = loop.callbacks
    if run is not None and (told := _lifecycle(run, loop, "on_resume")) is not None:
        from langchain_core.callbacks.manager import ahandle_event

        await ahandle_event(*told)


def _lifecycle(run: GraphRun, loop: Loop, kind: str) -> tuple[Any, ...] | None:
    """``handle_event``'s arguments for a lifecycle event, or None when there is no such
    event or no graph handler to hear it (``hone.graph.callbacks``)."""
    module = sys.modules.get("hone.graph.callbacks")
    if module is None:  # no graph handler exists unless the module is imported
        return None
    handlers = [h for h in run.manager.handlers if isinstance(h, module.GraphCallbackHandler)]
    if not handlers:
        return None
    if kind == "on_resume":  # every graph that resumes (a subgraph too), as in LangGraph
        if not loop.resuming:
            return None
        namespace = tuple(loop.ns.split(NS_SEP)) if loop.ns else ()
        event: Any = module.GraphResumeEvent(
            run.manager.run_id, loop.status, loop.checkpoint["id"], namespace
        )
    else:  # the root graph's pause only (a subgraph's pause is its parent's)
        if loop.is_nested:
            return None
        interrupts = tuple(loop.interrupts_seen)
        if not interrupts and loop.status not in ("interrupt_before", "interrupt_after"):
            return None
        event = module.GraphInterruptEvent(
            run.manager.run_id, loop.status, loop.checkpoint["id"], (), interrupts
        )
    return handlers, kind, None, event


def _output(loop: Loop) -> Any:
    """A run's output as its chain run reports it: the output values (LangGraph's)."""
    return loop.output if loop.values_seen else None


def _parent(graph_run: GraphRun, loop: Loop, task: Task) -> Any:
    """The manager a task's run starts under: a functional-API call's is the run of the
    task that called it (its calls' parent, in the context the call was started from);
    otherwise the graph's run, tagged with the step."""
    if task.call is not None:
        from langchain_core.callbacks import BaseCallbackManager
        from langchain_core.runnables.config import var_child_runnable_config

        ambient = var_child_runnable_config.get()
        caller = ambient.get("callbacks") if ambient else None
        if isinstance(caller, BaseCallbackManager):
            return caller
    return graph_run.step(loop.step)


def _configured(manager_class: Any, graph_run: GraphRun, loop: Loop, task: Task) -> Any:
    """The callback manager a task's run starts from (sync or async, by ``manager_class``):
    its parent's, with the task's tags and metadata."""
    config = task.config
    return manager_class.configure(
        inheritable_callbacks=_parent(graph_run, loop, task),
        inheritable_tags=list(config.get("tags") or ()),
        inheritable_metadata=dict(config.get("metadata") or {}),
    )


def _input(task: Task) -> Any:
    """What a task's run reports as its input: a functional-API call's arguments by name."""
    call = task.call
    if call is None:
        return task.input
    try:
        return dict(inspect.signature(call.func).bind(*call.args, **call.kwargs).arguments)
    except (TypeError, ValueError):  # no signature to bind to: the arguments as given
        return task.input


def _recorded(task: Task, value: Any, *, output: bool) -> Any:
    """What tracers record of a task's input (or, with ``output``, its output): the value as
    its node's :class:`~hone.graph.TracePolicy` processes it, else the value itself."""
    policy = None if task.node is None else task.node.trace_policy
    process = (
        None if policy is None else (policy.process_outputs if output else policy.process_inputs)
    )
    if process is None:
        return value
    try:
        return process(value)
    except Exception:
        logger.exception(
            "trace_policy of node %r raised; its run records the value unprocessed", task.name
        )
        return value


def _split(manager: Any) -> tuple[Any, Any]:
    """``manager`` twice: for the handlers that get a node's real values, and for the tracers
    that record what its trace policy makes of them (a handler that taps streams, as
    ``astream_events``'s does, feeds the caller's own stream: it gets the real values)."""
    from langchain_core.tracers import BaseTracer

    taps = _streaming(manager.handlers)
    real, tracers = copy.copy(manager), copy.copy(manager)
    tracers.handlers = [h for h in manager.handlers if isinstance(h, BaseTracer) and h not in taps]
    real.handlers = [h for h in manager.handlers if h not in tracers.handlers]
    return real, tracers


class NodeRun:
    """The chain run of one node attempt: its child manager is what the node's calls get as
    ``callbacks``; routers run as its children."""

    __slots__ = ("child", "manager", "output", "routers", "task")

    def __init__(self, manager: Any, task: Task) -> None:
        self.manager = manager
        self.task = task
        self.child = manager.get_child(_NODE_CALL_TAG)
        self.output: Any = None
        self.routers = 0

    @classmethod
    def begin(cls, graph_run: GraphRun, loop: Loop, task: Task) -> NodeRun:
        """Start a sync node run."""
        from langchain_core.callbacks import CallbackManager

        manager = _configured(CallbackManager, graph_run, loop, task)
        payload = _input(task)
        recorded = _recorded(task, payload, output=False)
        if recorded is payload:
            run = cls(manager.on_chain_start(None, payload, name=task.name), task)
        else:
            real, tracers = _split(manager)
            started = real.on_chain_start(None, payload, name=task.name)
            tracers.on_chain_start(None, recorded, name=task.name, run_id=started.run_id)
            started.handlers = manager.handlers
            run = cls(started, task)
        run._attach(task.config)
        return run

    @classmethod
    async def abegin(cls, graph_run: GraphRun, loop: Loop, task: Task) -> NodeRun:
        """Start an async node run."""
        from langchain_core.callbacks import AsyncCallbackManager

        manager = _configured(AsyncCallbackManager, graph_run, loop, task)
        payload = _input(task)
        recorded = _recorded(task, payload, output=False)
        if recorded is payload:
            run = cls(await manager.on_chain_start(None, payload, name=task.name), task)
        else:
            real, tracers = _split(manager)
            started = await real.on_chain_start(None, payload, name=task.name)
            # tracers start last: a cancellation before them leaves no tracer run open
            await tracers.on_chain_start(None, recorded, name=task.name, run_id=started.run_id)
            started.handlers = manager.handlers
            run = cls(started, task)
        run._attach(task.config)
        return run

    def _attach(self, config: dict[str, Any]) -> None:
        # The node's config hands its calls this run as their parent (LangGraph drops the
        # run's ``run_id`` and the node's ``run_name`` there: they name the runs above).
        config["callbacks"] = self.child
        config.pop("run_id", None)
        config.pop("run_name", None)

    def _router_parent(self) -> Any:
        """The manager of the node's next router run (tagged with its sequence position)."""
        self.routers += 1
        return self.manager.get_child(f"seq:step:{_FIRST_ROUTER_STEP + self.routers - 1}")

    # ------------------------------------------------------------------ sync

    def perform(self, router: str | None, value: Any, call: Callable[[], Any]) -> Any:
        """Make one call of the node's flow: the node itself (its output is kept) or a
        router reading ``value`` (in a child run of its own)."""
        if router is None:
            self.output = call()
            return self.output
        run = self._router_parent().on_chain_start(None, value, name=router or None)
        try:
            route = call()
        except BaseException as exc:
            run.on_chain_error(exc)
            raise
        run.on_chain_end(route)
        return route

    def end(self) -> None:
        """Report the node's output: as its stream to tapping handlers, then as its end."""
        run_id = self.manager.run_id
        for handler in _streaming(self.manager.handlers):
            for _ in handler.tap_output_iter(run_id, iter((self.output,))):
                pass
        recorded = _recorded(self.task, self.output, output=True)
        if recorded is self.output:
            self.manager.on_chain_end(self.output)
        else:
            real, tracers = _split(self.manager)
            tracers.on_chain_end(recorded)
            real.on_chain_end(self.output)

    def fail(self, error: BaseException) -> None:
        """Report the attempt's exception (an interrupt too, as LangGraph reports it)."""
        self.manager.on_chain_error(error)

    # ------------------------------------------------------------------ async

    async def aperform(
        self, router: str | None, value: Any, call: Callable[[], Coroutine[Any, Any, Any]]
    ) -> Any:
        """Async :meth:`perform`."""
        if router is None:
            self.output = await call()
            return self.output
        run = await self._router_parent().on_chain_start(None, value, name=router or None)
        try:
            route = await call()
        except BaseException as exc:
            await run.on_chain_error(exc)
            raise
        await run.on_chain_end(route)
        return route

    async def aend(self) -> None:
        """Async :meth:`end`."""
        run_id = self.manager.run_id
        for handler in _streaming(self.manager.handlers):
            async for _ in handler.tap_output_aiter(run_id, _one(self.output)):
                pass
        recorded = _recorded(self.task, self.output, output=True)
        if recorded is self.output:
            await self.manager.on_chain_end(self.output)
        else:
            real, tracers = _split(self.manager)
            # tracers end first: a cancellation can skip the other handlers, never leave a
            # tracer run open
            await tracers.on_chain_end(recorded)
            await real.on_chain_end(self.output)

    async def afail(self, error: BaseException) -> None:
        """Async :meth:`fail`."""
        await self.manager.on_chain_error(error)


def _node_manager(loop: Loop, task: Task) -> Any:
    """The callback manager of the running node's calls; None when the run reports to no
    callbacks (or the task is a hidden one)."""
    if loop.callbacks is None:
        return None
    from langchain_core.callbacks import BaseCallbackManager

    manager = task.config.get("callbacks")
    return manager if isinstance(manager, BaseCallbackManager) else None


async def _settle(value: Any) -> Any:
    """``value``, awaited when a manager is async (a sync run's managers are sync)."""
    return await value if inspect.isawaitable(value) else value


class ModelRun:
    """A hone model's call inside a node, reported as a LangChain chat-model run (a
    LangChain model reports its own calls): start, tokens, the reply or the error."""

    __slots__ = ("message_id", "run", "streams")

    def __init__(self, run: Any, message_id: str) -> None:
        self.run = run
        self.message_id = message_id
        #: Whether a handler taps streams (``astream_events``): then the model streams.
        self.streams = bool(_streaming(run.handlers))

    @classmethod
    async def start(
        cls, loop: Loop, task: Task, model: Any, request: Any, message_id: str
    ) -> ModelRun | None:
        """Report the start of ``model``'s call of ``request``; None when the run reports
        to no callbacks."""
        parent = _node_manager(loop, task)
        if parent is None:
            return None
        from hone.interop._messages import to_langchain

        manager = type(parent).configure(
            inheritable_callbacks=parent,
            local_metadata={"ls_model_name": model.name, "ls_model_type": "chat"},
        )
        runs = await _settle(
            manager.on_chat_model_start(
                {"name": model.name},
                [[to_langchain(m) for m in request.messages]],
                name=model.name,
                invocation_params={"model": model.name},
            )
        )
        return cls(runs[0], message_id)

    async def token(self, kind: str, delta: str) -> None:
        """Report one text or reasoning delta."""
        from langchain_core.messages import AIMessageChunk
        from langchain_core.outputs import ChatGenerationChunk

        message = (
            AIMessageChunk(content=delta, id=self.message_id)
            if kind == "text"
            else AIMessageChunk(
                content="", additional_kwargs={"reasoning_content": delta}, id=self.message_id
            )
        )
        text = delta if kind == "text" else ""
        await _settle(self.run.on_llm_new_token(text, chunk=ChatGenerationChunk(message=message)))

    async def end(self, message: Any) -> None:
        """Report the reply (a hone or LangChain message)."""
        from langchain_core.outputs import ChatGeneration, LLMResult

        from hone.interop._messages import to_langchain

        reply = to_langchain(message)
        await _settle(self.run.on_llm_end(LLMResult(generations=[[ChatGeneration(message=reply)]])))

    async def fail(self, error: BaseException) -> None:
        """Report the call's exception."""
        await _settle(self.run.on_llm_error(error))


class ToolRun:
    """A hone tool's call inside a node, reported as a LangChain tool run (a LangChain tool
    reports its own calls)."""

    __slots__ = ("run",)

    def __init__(self, run: Any) -> None:
        self.run = run

    @classmethod
    async def start(
        cls, name: str, description: str, call_id: str, arguments: Any
    ) -> ToolRun | None:
        """Report the start of a call of the tool ``name``; None outside a node of a run
        that reports to callbacks."""
        from hone.graph._context import current_scope

        scope = current_scope()
        parent = None if scope is None else _node_manager(scope.loop, scope.task)
        if parent is None:
            return None
        run = await _settle(
            parent.on_tool_start(
                {"name": name, "description": description},
                str(arguments),
                name=name,
                inputs=dict(arguments) if isinstance(arguments, dict) else None,
                tool_call_id=call_id,
            )
        )
        return cls(run)

    async def end(self, output: Any) -> None:
        """Report the tool's answer."""
        await _settle(self.run.on_tool_end(output))

    async def fail(self, error: BaseException) -> None:
        """Report the tool's exception."""
        await _settle(self.run.on_tool_error(error))
