"""Graphs the server tests register (``tests/server/agents.py:<name>``)."""

from __future__ import annotations

import asyncio
import operator
from typing import Annotated, TypedDict

from hone.graph import END, START, StateGraph, get_stream_writer, interrupt
from hone.graph.prebuilt import create_react_agent
from hone.models import ScriptedModel
from hone.tools import tool


class Log(TypedDict, total=False):
    log: Annotated[list[str], operator.add]
    delay: float
    answer: str


def step_a(state: Log) -> Log:
    return {"log": ["a"]}


def step_b(state: Log) -> Log:
    get_stream_writer()({"progress": "b"})
    return {"log": ["b"]}


def _two_steps() -> StateGraph:
    builder = StateGraph(Log)
    builder.add_node("step_a", step_a)
    builder.add_node("step_b", step_b)
    builder.add_edge(START, "step_a")
    builder.add_edge("step_a", "step_b")
    builder.add_edge("step_b", END)
    return builder


#: a → b, with a custom event from b.
counter = _two_steps().compile()


def ask(state: Log) -> Log:
    answer = interrupt({"question": "what is your name?"})
    return {"answer": str(answer), "log": [f"hello {answer}"]}


_asker = StateGraph(Log)
_asker.add_node("step_a", step_a)
_asker.add_node("ask", ask)
_asker.add_edge(START, "step_a")
_asker.add_edge("step_a", "ask")
_asker.add_edge("ask", END)
#: a → ask (interrupts for a name) → end.
asker = _asker.compile()


async def wait(state: Log) -> Log:
    await asyncio.sleep(state.get("delay", 0.5))
    return {"log": ["waited"]}


_slow = StateGraph(Log)
_slow.add_node("wait", wait)
_slow.add_node("step_b", step_b)
_slow.add_edge(START, "wait")
_slow.add_edge("wait", "step_b")
_slow.add_edge("step_b", END)
#: sleeps for ``delay`` seconds, then b.
slow = _slow.compile()


def explode(state: Log) -> Log:
    raise ValueError("the node exploded")


_failing = StateGraph(Log)
_failing.add_node("step_a", step_a)
_failing.add_node("explode", explode)
_failing.add_edge(START, "step_a")
_failing.add_edge("step_a", "explode")
_failing.add_edge("explode", END)
#: a, then a node that raises.
failing = _failing.compile()


@tool
def add(a: int, b: int) -> int:
    """Add two integers."""
    return a + b


def chat_factory() -> object:
    """A ReAct agent that calls ``add`` once, then answers (a fresh model per run)."""
    model = ScriptedModel(
        [
            '<tool_call>{"name": "add", "arguments": {"a": 2, "b": 3}}</tool_call>',
            "The sum is 5.",
        ]
    )
    return create_react_agent(model, [add])


def bearer_user(headers: dict[str, str]) -> str | None:
    """An ``auth.authenticate`` function: the user of a known bearer token."""
    scheme, _, token = headers.get("authorization", "").partition(" ")
    known = {"token-of-erin": "erin"}
    return known.get(token) if scheme.lower() == "bearer" else None


def _nest(state: Log) -> Log:
    value: list[object] = []
    for _ in range(450):  # deeper than the server can turn into JSON with Python's stack
        value = [value]
    return {"log": [value]}  # type: ignore[list-item]  # a list, not a str: on purpose


_deep = StateGraph(Log)
_deep.add_node("nest", _nest)
_deep.add_edge(START, "nest")
_deep.add_edge("nest", END)
#: writes a value nested 450 levels deep.
deep = _deep.compile()


_inner = StateGraph(Log)
_inner.add_node("step_b", step_b)
_inner.add_edge(START, "step_b")
_inner.add_edge("step_b", END)
_nested = StateGraph(Log)
_nested.add_node("step_a", step_a)
_nested.add_node("inner", _inner.compile(name="inner"))
_nested.add_edge(START, "step_a")
_nested.add_edge("step_a", "inner")
_nested.add_edge("inner", END)
#: a, then a subgraph ``inner`` that runs b.
nested = _nested.compile()


def picky_factory(config: dict[str, object]) -> object:
    """``counter``, unless the run's config asks for a refusal: then building it fails."""
    configurable = config.get("configurable") or {}
    if isinstance(configurable, dict) and configurable.get("refuse"):
        raise ValueError("this factory refuses to build the graph")
    return counter
