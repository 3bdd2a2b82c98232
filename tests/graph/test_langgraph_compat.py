"""The same program text runs on LangGraph and on hone (only the imports change)."""

import pytest

pytest.importorskip("langgraph")

PROGRAM = """
import operator
from typing import Annotated, Literal, TypedDict
{imports}

class State(TypedDict):
    n: int
    items: list[int]
    log: Annotated[list[str], operator.add]

def plan(state: State):
    return {{"log": ["plan"], "n": state["n"] + 1}}

def square(x: int):
    return {{"log": [f"sq{{x * x}}"]}}

def fan_out(state: State):
    return [Send("square", i) for i in state["items"]]

def review(state: State) -> Command[Literal["plan", "finish"]]:
    if state["n"] < 3:
        return Command(goto="plan", update={{"log": ["again"]}})
    return Command(goto="finish")

def finish(state: State):
    answer = interrupt({{"n": state["n"]}})
    return {{"log": [f"human:{{answer}}"]}}

builder = StateGraph(State)
builder.add_node("plan", plan)
builder.add_node("square", square)
builder.add_node("review", review)
builder.add_node("finish", finish)
builder.add_edge(START, "plan")
builder.add_conditional_edges("plan", fan_out, ["square"])
builder.add_edge("square", "review")
builder.add_edge("finish", END)
graph = builder.compile(checkpointer=Saver())
config = {{"configurable": {{"thread_id": "1"}}}}
first = graph.invoke({{"n": 0, "items": [1, 2], "log": []}}, config)
pending = [i.value for i in first.pop("__interrupt__")]
updates = list(graph.stream(Command(resume="yes"), config, stream_mode="updates"))
result = (first, pending, updates, graph.get_state(config).values)
"""

LANGGRAPH = """
from langgraph.graph import StateGraph, START, END
from langgraph.types import Command, Send, interrupt
from langgraph.checkpoint.memory import InMemorySaver as Saver
"""

HONE = """
from hone.graph import StateGraph, START, END, Command, Send, interrupt
from hone.checkpoint import InMemorySaver as Saver
"""


def _run(imports: str) -> object:
    scope: dict[str, object] = {}
    exec(PROGRAM.format(imports=imports), scope)
    return scope["result"]


def test_same_program_same_outputs() -> None:
    assert _run(HONE) == _run(LANGGRAPH)
