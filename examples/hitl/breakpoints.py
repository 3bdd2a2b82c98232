"""Human in the loop, pattern 5: static breakpoints.

``compile(interrupt_before=[...], interrupt_after=[...])`` pauses the run around nodes without
any ``interrupt()`` call in them. Inspect the state, then resume with ``invoke(None, config)``.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Annotated, TypedDict

from hone.checkpoint import InMemorySaver
from hone.graph import END, START, CompiledGraph, StateGraph


class State(TypedDict):
    log: Annotated[list[str], operator.add]


def step(name: str) -> Callable[[State], State]:
    def run(state: State) -> State:
        return {"log": [name]}

    return run


def build_graph() -> CompiledGraph:
    """plan -> act -> report, pausing before act and again after it."""
    graph = StateGraph(State)
    for name in ("plan", "act", "report"):
        graph.add_node(name, step(name))
    graph.add_edge(START, "plan")
    graph.add_edge("plan", "act")
    graph.add_edge("act", "report")
    graph.add_edge("report", END)
    return graph.compile(
        checkpointer=InMemorySaver(), interrupt_before=["act"], interrupt_after=["act"]
    )


def main() -> None:
    graph = build_graph()
    config = {"configurable": {"thread_id": "bp"}}
    result = graph.invoke({"log": []}, config)
    stops = 0
    while graph.get_state(config).next:
        stops += 1
        snapshot = graph.get_state(config)
        print(f"paused: log={result['log']} next={list(snapshot.next)}")
        result = graph.invoke(None, config)
    print(f"finished: log={result['log']} after {stops} pause(s)")
    if result["log"] != ["plan", "act", "report"] or stops != 2:
        raise SystemExit("unexpected run")


if __name__ == "__main__":
    main()
