"""Human in the loop, pattern 6: several interrupts at once, answered with one id map.

Part 1: two nodes run in parallel and each asks a question; the run pauses with both
interrupts, and ``Command(resume={interrupt_id: answer, ...})`` routes each answer to its node.

Part 2: a model turn makes two reviewed tool calls; ``ToolNode`` asks about both at once (one
interrupt per call) and runs neither until both are answered, then runs each exactly once.
"""

from __future__ import annotations

import operator
from collections import Counter
from collections.abc import Callable
from typing import Annotated, TypedDict

from hone.checkpoint import InMemorySaver
from hone.graph import END, START, Command, CompiledGraph, StateGraph, interrupt
from hone.graph.prebuilt import create_react_agent, with_review
from hone.models import ScriptedModel
from hone.tools import tool


class Review(TypedDict):
    verdicts: Annotated[list[str], operator.add]


def reviewer(team: str) -> Callable[[Review], Review]:
    def review(state: Review) -> Review:
        verdict = interrupt(f"{team}: sign off on the contract?")
        return {"verdicts": [f"{team}={verdict}"]}

    return review


def build_graph() -> CompiledGraph:
    """START -> legal and finance in parallel -> END."""
    graph = StateGraph(Review)
    for team in ("legal", "finance"):
        graph.add_node(team, reviewer(team))
        graph.add_edge(START, team)
        graph.add_edge(team, END)
    return graph.compile(checkpointer=InMemorySaver())


def parallel_nodes() -> None:
    graph = build_graph()
    config = {"configurable": {"thread_id": "contract"}}
    paused = graph.invoke({"verdicts": []}, config)
    answers = {}
    for item in paused["__interrupt__"]:
        team = item.value.split(":")[0]
        answers[item.id] = "approved" if team == "legal" else "needs changes"
        print(f"interrupt {item.id[:8]}: {item.value} -> {answers[item.id]}")
    final = graph.invoke(Command(resume=answers), config)
    print(f"verdicts: {sorted(final['verdicts'])}")


RUNS: Counter[str] = Counter()


@tool
def delete_file(path: str) -> str:
    """Delete a file.

    Args:
        path: The file to delete.
    """
    RUNS[path] += 1
    return f"deleted {path}"


TWO_CALLS = (
    '<tool_call>{"name": "delete_file", "arguments": {"path": "a.txt"}}</tool_call>'
    '<tool_call>{"name": "delete_file", "arguments": {"path": "b.txt"}}</tool_call>'
)


def parallel_tool_calls() -> None:
    model = ScriptedModel([TWO_CALLS, "Done."])
    agent = create_react_agent(model, [with_review(delete_file)], checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "cleanup"}}
    paused = agent.invoke({"messages": [("user", "Delete a.txt and b.txt")]}, config)
    answers = {}
    for item in paused["__interrupt__"]:
        path = item.value["action_request"]["args"]["path"]
        answers[item.id] = {"type": "accept"} if path == "a.txt" else {"type": "reject"}
        print(f"interrupt {item.id[:8]}: delete {path}? -> {answers[item.id]['type']}")
    final = agent.invoke(Command(resume=answers), config)
    for message in final["messages"][2:4]:
        print(f"tool result: {message.text}")
    print(f"runs per file: {dict(RUNS)}")
    if dict(RUNS) != {"a.txt": 1}:
        raise SystemExit("each accepted call must run exactly once")


def main() -> None:
    parallel_nodes()
    parallel_tool_calls()


if __name__ == "__main__":
    main()
