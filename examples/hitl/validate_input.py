"""Human in the loop, pattern 4: validate what the human answers, and ask again until valid.

The node loops: ``interrupt()`` asks, the answer is checked, and a bad answer leads to another
``interrupt()`` with a hint. On each resume the node runs again from the top; earlier answers
replay in order, so only the newest one is checked anew.
"""

from __future__ import annotations

from typing import TypedDict

from hone.checkpoint import InMemorySaver
from hone.graph import END, START, Command, CompiledGraph, StateGraph, interrupt


class State(TypedDict, total=False):
    age: int


def ask_age(state: State) -> State:
    question = "How old are you?"
    while True:
        answer = interrupt(question)
        if isinstance(answer, str) and answer.strip().isdigit() and 0 < int(answer) < 130:
            return {"age": int(answer)}
        question = f"{answer!r} is not an age between 1 and 129. How old are you?"


def build_graph() -> CompiledGraph:
    """One node that asks until the answer is valid."""
    graph = StateGraph(State)
    graph.add_node("ask_age", ask_age)
    graph.add_edge(START, "ask_age")
    graph.add_edge("ask_age", END)
    return graph.compile(checkpointer=InMemorySaver())


def main() -> None:
    graph = build_graph()
    config = {"configurable": {"thread_id": "form"}}
    result = graph.invoke({}, config)
    for answer in ("forty-two", "-3", "42"):
        print(f"asked: {result['__interrupt__'][0].value}")
        print(f"answered: {answer}")
        result = graph.invoke(Command(resume=answer), config)
    if "__interrupt__" in result:
        raise SystemExit("the graph should have accepted 42")
    print(f"accepted age: {result['age']}")


if __name__ == "__main__":
    main()
