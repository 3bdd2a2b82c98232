"""Run a compiled graph (hone's or LangGraph's) as a rollout program."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from hone.agent._scope import use_model
from hone.errors import ConfigError
from hone.messages import new_id

__all__ = ["AsyncInvokable", "graph_program"]


@runtime_checkable
class AsyncInvokable(Protocol):
    """Anything with LangGraph's ``ainvoke(input, config)``: a compiled graph."""

    async def ainvoke(self, input: Any, config: Any = None) -> Any:
        """Run to the end and return the output state."""
        ...


def default_input(task: Any) -> Any:
    """A string task becomes ``{"messages": [{"role": "user", "content": task}]}``; a mapping is
    passed as the graph's input unchanged."""
    if isinstance(task, str):
        return {"messages": [{"role": "user", "content": task}]}
    if isinstance(task, Mapping):
        return dict(task)
    raise ConfigError(
        f"graph_program cannot make a graph input from a {type(task).__name__} task; "
        "pass make_input=... to build one"
    )


def graph_program(
    graph: AsyncInvokable | Callable[[Any], AsyncInvokable],
    *,
    make_input: Callable[[Any], Any] = default_input,
    get_output: Callable[[Any], Any] | None = None,
    config: Mapping[str, Any] | None = None,
) -> Callable[[Any, Any], Any]:
    """A rollout program that runs a compiled graph on each task.

    The graph's nodes reach the model the program is given (the recording policy, with any
    wrapper a training loop puts around it) with :func:`hone.graph.get_model` (a multi-role
    rollout: ``get_model(role)``); a ``create_react_agent`` agent uses it in place of the
    model it was built with, so a graph built for serving trains unchanged. (The model
    is also in ``config["configurable"]["model"]``, for nodes written against that; or pass a
    factory ``graph(model) -> compiled graph`` that closes over the model.) Every rollout gets
    a fresh ``thread_id``, so checkpointed graphs do not share state between rollouts.

    Args:
        graph: a compiled graph (anything with ``ainvoke(input, config)``), or a factory
            taking the model and returning one.
        make_input: the graph input for a task (default :func:`default_input`).
        get_output: picks the program result from the output state (default: the whole
            state; a ``"messages"`` key becomes the episode's final messages).
        config: extra run config (LangGraph dict shape); its ``configurable`` keys are kept.
    """
    base = dict(config or {})

    async def program(task: Any, model: Any) -> Any:
        compiled = graph if isinstance(graph, AsyncInvokable) else graph(model)
        configurable = {
            **dict(base.get("configurable") or {}),
            "model": model,
            "thread_id": new_id("rollout-"),
        }
        with use_model(model):
            state = await compiled.ainvoke(make_input(task), {**base, "configurable": configurable})
        return state if get_output is None else get_output(state)

    return program
