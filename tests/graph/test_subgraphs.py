import operator
from typing import Annotated, Any, TypedDict

from hone.checkpoint import InMemorySaver
from hone.graph import END, START, Command, StateGraph, interrupt


class S(TypedDict):
    n: int
    log: Annotated[list[str], operator.add]


def _cfg() -> dict[str, Any]:
    return {"configurable": {"thread_id": "t"}}


def test_subgraph_shares_keys() -> None:
    inner = (
        StateGraph(S)
        .add_node("double", lambda s: {"n": s["n"] * 2})
        .add_edge(START, "double")
        .compile()
    )
    outer = StateGraph(S).add_node("sub", inner).add_node("inc", lambda s: {"n": s["n"] + 1})
    outer.add_edge(START, "sub").add_edge("sub", "inc")
    assert outer.compile().invoke({"n": 3})["n"] == 7


def test_interrupt_in_subgraph_resumes_once() -> None:
    calls: list[str] = []

    def first(state: S) -> dict[str, Any]:
        calls.append("first")
        return {"log": ["first"]}

    def ask(state: S) -> dict[str, Any]:
        calls.append("ask")
        return {"log": [f"answer={interrupt('ok?')}"]}

    inner = StateGraph(S).add_node("first", first).add_node("ask", ask)
    inner.add_edge(START, "first").add_edge("first", "ask")
    outer = (
        StateGraph(S).add_node("sub", inner.compile()).add_edge(START, "sub").add_edge("sub", END)
    )
    graph = outer.compile(checkpointer=InMemorySaver())
    out = graph.invoke({"n": 0}, _cfg())
    [pending] = out["__interrupt__"]
    assert pending.value == "ok?"
    snap = graph.get_state(_cfg())
    assert snap.tasks[0].state is not None and snap.interrupts == (pending,)
    out = graph.invoke(Command(resume="yes"), _cfg())
    assert out["log"] == ["first", "answer=yes"]
    assert calls == ["first", "ask", "ask"]


def test_command_to_parent() -> None:
    def inner_node(state: S) -> Command[Any]:
        return Command(graph=Command.PARENT, goto="done", update={"log": ["from-child"]})

    inner = StateGraph(S).add_node("x", inner_node).add_edge(START, "x").compile()
    outer = StateGraph(S).add_node("sub", inner).add_node("done", lambda s: {"log": ["done"]})
    outer.add_edge(START, "sub")
    assert outer.compile().invoke({"n": 0})["log"] == ["from-child", "done"]
