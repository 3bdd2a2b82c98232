"""Human in the loop, pattern 2: review and edit the graph's state, then go on.

The graph drafts an email and stops before ``send`` (a static breakpoint). The human reads the
draft with ``get_state``, fixes it with ``update_state`` (a new checkpoint, as if the
``draft`` node had written it), and resumes with ``invoke(None, config)``.
"""

from __future__ import annotations

from typing import TypedDict

from hone.checkpoint import InMemorySaver
from hone.graph import END, START, CompiledGraph, StateGraph


class State(TypedDict, total=False):
    to: str
    draft: str
    sent: str


def draft(state: State) -> State:
    return {"draft": f"Dear {state['to']}, the meeting moves to Tuesdya."}


def send(state: State) -> State:
    return {"sent": f"sent to {state['to']}: {state['draft']}"}


def build_graph() -> CompiledGraph:
    """draft -> (pause) -> send."""
    graph = StateGraph(State)
    graph.add_node("draft", draft)
    graph.add_node("send", send)
    graph.add_edge(START, "draft")
    graph.add_edge("draft", "send")
    graph.add_edge("send", END)
    return graph.compile(checkpointer=InMemorySaver(), interrupt_before=["send"])


def main() -> None:
    graph = build_graph()
    config = {"configurable": {"thread_id": "email"}}
    graph.invoke({"to": "Ada"}, config)
    snapshot = graph.get_state(config)
    print(f"paused before: {list(snapshot.next)}")
    print(f"draft to review: {snapshot.values['draft']}")
    fixed = snapshot.values["draft"].replace("Tuesdya", "Tuesday")
    graph.update_state(config, {"draft": fixed}, as_node="draft")
    print(f"the human fixed the draft: {graph.get_state(config).values['draft']}")
    final = graph.invoke(None, config)
    print(final["sent"])
    if "Tuesdya" in final["sent"]:
        raise SystemExit("the edit was lost")


if __name__ == "__main__":
    main()
