"""The functional API: an ``@entrypoint`` function is a graph of one node, and ``@task``
functions it calls run as tasks of the same super-step, with retries, caching and durable
results (a resumed workflow does not run a finished task again).

::

    @task
    def double(x: int) -> int:
        return 2 * x

    @entrypoint(checkpointer=InMemorySaver())
    def workflow(numbers: list[int]) -> list[int]:
        return [f.result() for f in [double(n) for n in numbers]]
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Generic, TypeVar, get_args, get_origin

from hone._async import is_async_callable
from hone.graph._algo import Call
from hone.graph._channels import EphemeralValue, LastValue
from hone.graph._channels_reduce import Topic
from hone.graph._constants import END, ERROR, PREVIOUS, RETURN, START, TASKS
from hone.graph._context import current_scope
from hone.graph._nodes import Callee
from hone.graph._types import (
    CachePolicy,
    RetryPolicy,
    Send,
    TimeoutPolicy,
    sync_timeout_error,
)

if TYPE_CHECKING:
    from hone.graph._compiled import CompiledGraph

__all__ = ["entrypoint", "task"]

T = TypeVar("T")
R = TypeVar("R")
S = TypeVar("S")


def _policies(policy: RetryPolicy | Sequence[RetryPolicy] | None) -> tuple[RetryPolicy, ...]:
    if policy is None:
        return ()
    if isinstance(policy, RetryPolicy):
        return (policy,)
    return tuple(policy)


def _timeout_for(fn: Any, timeout: Any, name: str, kind: str) -> TimeoutPolicy | None:
    policy = TimeoutPolicy.coerce(timeout)
    if policy is not None and not is_async_callable(fn):
        raise sync_timeout_error(name, kind)
    return policy


class TaskFunction(Generic[T]):
    """A function decorated with :func:`task`: calling it inside an entrypoint or a node
    starts a task and returns a future of its result."""

    def __init__(
        self,
        func: Callable[..., Any],
        *,
        retry_policy: tuple[RetryPolicy, ...],
        cache_policy: CachePolicy | None,
        timeout: TimeoutPolicy | None,
        name: str | None,
    ) -> None:
        if name is not None:
            if hasattr(func, "__func__"):
                method = functools.partial(func.__func__, func.__self__)  # type: ignore[attr-defined]
                method.__name__ = name  # type: ignore[attr-defined]
                func = method
            else:
                func.__name__ = name
        self.func = func
        self.retry_policy = retry_policy
        self.cache_policy = cache_policy
        self.timeout = timeout
        functools.update_wrapper(self, func)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return call(
            self.func,
            args,
            kwargs,
            retry_policy=self.retry_policy,
            cache_policy=self.cache_policy,
            timeout=self.timeout,
        )

    def clear_cache(self, cache: Any) -> None:
        """Drop this task's cached results from ``cache``."""
        from hone.graph._algo import cache_namespace

        if self.cache_policy is not None:
            cache.clear([cache_namespace(self.func, None)])

    async def aclear_cache(self, cache: Any) -> None:
        """Async :meth:`clear_cache`."""
        self.clear_cache(cache)


def task(
    func: Callable[..., Any] | None = None,
    *,
    name: str | None = None,
    retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
    cache_policy: CachePolicy | None = None,
    timeout: float | timedelta | TimeoutPolicy | None = None,
    **deprecated: Any,
) -> Any:
    """Make a function a task: called inside an :func:`entrypoint` (or a graph node) it runs
    as a task of the running super-step and returns a future (``.result()``, or ``await``
    in async code). Its result is saved, so a resumed workflow does not run it again.

    Raises:
        ValueError: a timeout on a sync function.
    """
    if "retry" in deprecated:
        import warnings

        warnings.warn("`retry` is deprecated; use `retry_policy`", DeprecationWarning, 2)
        retry_policy = retry_policy or deprecated.pop("retry")
    if deprecated:
        raise TypeError(f"task() got unexpected arguments: {sorted(deprecated)}")
    policies = _policies(retry_policy)

    def decorate(fn: Callable[..., Any]) -> TaskFunction[Any]:
        label = name or getattr(fn, "__name__", type(fn).__name__)
        policy = _timeout_for(fn, timeout, str(label), "Task")
        return TaskFunction(
            fn, retry_policy=policies, cache_policy=cache_policy, timeout=policy, name=name
        )

    return decorate(func) if func is not None else decorate


def call(
    func: Callable[..., Any],
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    *,
    retry_policy: Sequence[RetryPolicy] | None = None,
    cache_policy: CachePolicy | None = None,
    timeout: TimeoutPolicy | None = None,
) -> Any:
    """Run ``func(*args, **kwargs)`` as a task of the running super-step; a future of its
    result.

    Raises:
        RuntimeError: called outside a running node, or an async function from sync code.
    """
    scope = current_scope()
    if scope is None:
        raise RuntimeError("Called get_config outside of a runnable context")
    loop = scope.loop
    runner = loop.runner
    is_async_runner = runner is not None and hasattr(runner, "gate")
    in_loop = is_async_runner and runner.in_loop_thread()
    if not in_loop and is_async_callable(func):
        raise RuntimeError("In an sync context async tasks cannot be called")
    if timeout is not None and not is_async_callable(func):
        raise sync_timeout_error(getattr(func, "__name__", type(func).__name__), "Task")
    name = getattr(func, "__name__", None) or getattr(getattr(func, "func", None), "__name__", None)
    spec = Call(
        func,
        args,
        kwargs,
        retry_policy=tuple(retry_policy or ()),
        cache_policy=cache_policy,
        timeout=timeout,
        name=name or type(func).__name__,
    )
    child = loop.accept_push(scope.task, scope.scratchpad.call_counter(), spec)
    if child.writes:
        return _settled(child, in_loop)
    return runner.schedule(child)


def _settled(child: Any, is_async: bool) -> Any:
    fut: Any = (
        asyncio.get_running_loop().create_future() if is_async else concurrent.futures.Future()
    )
    ret = next((v for c, v in child.writes if c == RETURN), _NONE)
    error = next((v for c, v in child.writes if c == ERROR), None)
    if ret is not _NONE:
        fut.set_result(ret)
    elif error is not None:
        fut.set_exception(error if isinstance(error, BaseException) else Exception(error))
    else:
        fut.set_result(None)
    return fut


_NONE: Any = object()


@dataclass(frozen=True, slots=True)
class _Final(Generic[R, S]):
    value: R
    save: S


class entrypoint:
    """Make a function a workflow: a graph of one node that runs the function (which calls
    :func:`task` functions), with checkpoints, interrupts, streaming and ``previous`` (the
    return value of the last run on the thread).

    Raises:
        ValueError: a function without parameters, or a timeout on a sync function.
        NotImplementedError: a generator function.
    """

    final = _Final

    def __init__(
        self,
        checkpointer: Any = None,
        store: Any = None,
        cache: Any = None,
        context_schema: Any = None,
        cache_policy: CachePolicy | None = None,
        retry_policy: RetryPolicy | Sequence[RetryPolicy] | None = None,
        timeout: float | timedelta | TimeoutPolicy | None = None,
        **deprecated: Any,
    ) -> None:
        if "config_schema" in deprecated:
            import warnings

            warnings.warn(
                "`config_schema` is deprecated; use `context_schema`", DeprecationWarning, 2
            )
            context_schema = context_schema or deprecated.pop("config_schema")
        if "retry" in deprecated:
            import warnings

            warnings.warn("`retry` is deprecated; use `retry_policy`", DeprecationWarning, 2)
            retry_policy = retry_policy or deprecated.pop("retry")
        if deprecated:
            raise TypeError(f"entrypoint() got unexpected arguments: {sorted(deprecated)}")
        self.checkpointer = checkpointer
        self.store = store
        self.cache = cache
        self.context_schema = context_schema
        self.cache_policy = cache_policy
        self.retry_policy = _policies(retry_policy)
        self.timeout = timeout

    def __call__(self, func: Callable[..., Any]) -> CompiledGraph:
        from hone.graph._compile import Node
        from hone.graph._compiled import CompiledGraph, check_checkpointer

        if inspect.isgeneratorfunction(func) or inspect.isasyncgenfunction(func):
            raise NotImplementedError("Generators are not supported in the Functional API.")
        check_checkpointer(self.checkpointer)
        params = list(inspect.signature(func).parameters.values())
        if not params:
            raise ValueError("Entrypoint function must have at least one parameter")
        input_type = (
            params[0].annotation if params[0].annotation is not inspect.Signature.empty else Any
        )
        output_type = save_type = Any
        ret = inspect.signature(func).return_annotation
        if ret is not inspect.Signature.empty and ret is not _Final:
            if get_origin(ret) is _Final:
                args = get_args(ret)
                if len(args) != 2:
                    raise TypeError(
                        "Please an annotation for both the return_ and the save values. For "
                        "example, `-> entrypoint.final[int, str]`"
                    )
                output_type, save_type = args
            else:
                output_type = save_type = ret
        name = func.__name__
        timeout = _timeout_for(func, self.timeout, name, "Entrypoint")

        def writes(output: Any) -> list[tuple[str, Any]]:
            if isinstance(output, _Final):
                return [(END, output.value), (PREVIOUS, output.save)]
            return [(END, output), (PREVIOUS, output)]

        node = Node(
            name=name,
            triggers=[START],
            reads=START,
            mapper=None,
            callee=Callee.of(func, name),
            subgraph=None,
            keys=[],
            root=False,
            timeout=timeout,
            writer=writes,
        )
        channels = {
            START: EphemeralValue(input_type, key=START),
            END: LastValue(output_type, key=END),
            PREVIOUS: LastValue(save_type, key=PREVIOUS),
            TASKS: Topic(Send, accumulate=False, key=TASKS),
        }
        graph = CompiledGraph(
            builder=None,
            channels=channels,
            managed={},
            nodes={name: node},
            output_keys=END,
            stream_keys=END,
            checkpointer=self.checkpointer,
            store=self.store,
            cache=self.cache,
            interrupt_before=[],
            interrupt_after=[],
            debug=False,
            name="LangGraph",  # LangGraph's name for every entrypoint (its node is the function)
            context_schema=self.context_schema,
            input_schema=input_type,
            output_schema=output_type,
            retry_policy=self.retry_policy,
            cache_policy=self.cache_policy,
            stream_mode="updates",
            stream_eager=True,
        )
        return graph
