"""A small looping graph for the viewer's thread tests (loaded as ``graph_app.py:graph``)."""

from __future__ import annotations

from typing import Annotated, TypedDict

from hone.graph import END, START, StateGraph


class State(TypedDict):
    count: int
    log: Annotated[list[str], lambda a, b: a + b]


def plan(state: State) -> dict[str, object]:
    return {"log": [f"plan {state['count']}"]}


def act(state: State) -> dict[str, object]:
    return {"count": state["count"] + 1, "log": [f"act {state['count']}"]}


def route(state: State) -> str:
    return "plan" if state["count"] < 2 else END


builder = StateGraph(State)
builder.add_node("plan", plan)
builder.add_node("act", act)
builder.add_edge(START, "plan")
builder.add_edge("plan", "act")
builder.add_conditional_edges("act", route, {"plan": "plan", END: END})
graph = builder.compile(name="planner")
