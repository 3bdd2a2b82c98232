"""Human in the loop, pattern 1: approve or reject an action before it runs.

A node proposes an action; ``human_approval`` pauses the graph with ``interrupt()`` and the
human's answer decides where the graph goes next (``Command(goto=...)``). Two threads: one
approved, one rejected.
"""

from __future__ import annotations

from typing import Literal, TypedDict

from hone.checkpoint import InMemorySaver
from hone.graph import END, START, Command, CompiledGraph, StateGraph, interrupt


class State(TypedDict, total=False):
    action: str
    outcome: str


def propose(state: State) -> State:
    return {"action": "transfer 100 EUR to ACME Corp"}


def human_approval(state: State) -> Command[Literal["execute", "cancel"]]:
    answer = interrupt({"question": "Approve this action?", "action": state["action"]})
    return Command(goto="execute" if answer == "yes" else "cancel")


def execute(state: State) -> State:
    return {"outcome": f"done: {state['action']}"}


def cancel(state: State) -> State:
    return {"outcome": "cancelled by the reviewer"}


def build_graph() -> CompiledGraph:
    """propose -> human_approval -> execute | cancel."""
    graph = StateGraph(State)
    graph.add_node("propose", propose)
    graph.add_node("human_approval", human_approval)
    graph.add_node("execute", execute)
    graph.add_node("cancel", cancel)
    graph.add_edge(START, "propose")
    graph.add_edge("propose", "human_approval")
    graph.add_edge("execute", END)
    graph.add_edge("cancel", END)
    return graph.compile(checkpointer=InMemorySaver())


def main() -> None:
    graph = build_graph()
    for thread, answer in (("approved", "yes"), ("rejected", "no")):
        config = {"configurable": {"thread_id": thread}}
        paused = graph.invoke({}, config)
        question = paused["__interrupt__"][0].value
        print(f"[{thread}] the graph asks: {question['question']} ({question['action']})")
        print(f"[{thread}] the human answers: {answer}")
        final = graph.invoke(Command(resume=answer), config)
        print(f"[{thread}] outcome: {final['outcome']}")


if __name__ == "__main__":
    main()
