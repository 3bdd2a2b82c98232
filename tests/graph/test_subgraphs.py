import operator
import warnings
from typing import Annotated, Any, TypedDict

import pytest

from hone.checkpoint import InMemorySaver
from hone.errors import GraphWarning
from hone.graph import (
    END,
    START,
    Command,
    StateGraph,
    StateSnapshot,
    get_config,
    interrupt,
)


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


class Narrow(TypedDict):
    n: int


def test_subgraph_gets_only_the_keys_of_its_input_schema(driver: Any) -> None:
    seen: list[Any] = []

    def double(state: Narrow) -> dict[str, Any]:
        seen.append(dict(state))
        return {"n": state["n"] * 2}

    inner = StateGraph(Narrow).add_node("double", double).add_edge(START, "double").compile()
    outer = StateGraph(S).add_node("sub", inner).add_node("after", lambda s: {"log": ["after"]})
    outer.add_edge(START, "sub").add_edge("sub", "after")
    with warnings.catch_warnings():
        # The parent's other keys are not a mistake of the program: no GraphWarning.
        warnings.simplefilter("error", GraphWarning)
        out = driver.invoke(outer.compile(), {"n": 3, "log": ["x"]})
    assert out == {"n": 6, "log": ["x", "after"]}
    assert seen == [{"n": 3}]


def _goto_then_ask(own_saver: bool) -> Any:
    def first(state: S) -> Command[Any]:
        return Command(goto="second", update={"log": ["first"]})

    def second(state: S) -> dict[str, Any]:
        CONFIGS.append(get_config())
        return {"log": [f"second={interrupt('ok?')}"]}

    inner = StateGraph(S).add_node("first", first, destinations=["second"])
    inner.add_node("second", second).add_edge(START, "first")
    sub = inner.compile(checkpointer=InMemorySaver() if own_saver else None)
    outer = StateGraph(S).add_node("sub", sub).add_edge(START, "sub").add_edge("sub", END)
    return outer.compile(checkpointer=InMemorySaver())


CONFIGS: list[Any] = []


@pytest.mark.parametrize("own_saver", [False, True])
def test_subgraph_snapshot_shows_the_node_reached_by_goto(driver: Any, own_saver: bool) -> None:
    graph = _goto_then_ask(own_saver)
    driver.invoke(graph, {"n": 0}, _cfg())
    parent = graph.get_state(_cfg())
    assert parent.next == ("sub",)
    sub_config = parent.tasks[0].state
    assert sub_config == {
        "configurable": {"thread_id": "t", "checkpoint_ns": f"sub:{parent.tasks[0].id}"}
    }
    snap = graph.get_state(sub_config)
    assert snap.next == ("second",) and snap.values["log"] == ["first"]
    assert snap.interrupts == parent.interrupts and len(snap.interrupts) == 1
    nested = graph.get_state(_cfg(), subgraphs=True).tasks[0].state
    assert isinstance(nested, StateSnapshot) and nested.next == ("second",)
    assert [s.next for s in graph.get_state_history(sub_config)] == [
        ("second",),
        ("first",),
        (START,),
    ]
    # The config a node sees names its own task's namespace under the graph running it
    # (as in LangGraph); its parent part reads that graph's state.
    ns = CONFIGS[-1]["configurable"]["checkpoint_ns"]
    graph_ns, _, task_ns = ns.rpartition("|")
    assert graph_ns == sub_config["configurable"]["checkpoint_ns"]
    assert task_ns == f"second:{nested.tasks[0].id}"
    assert (
        CONFIGS[-1]["configurable"]["checkpoint_map"][""]
        == (parent.config["configurable"]["checkpoint_id"])
    )
    assert graph.get_state(
        {"configurable": {"thread_id": "t", "checkpoint_ns": graph_ns}}
    ).next == ("second",)
    out = driver.invoke(graph, Command(resume="yes"), _cfg())
    assert out["log"] == ["first", "second=yes"]


def test_update_state_on_a_subgraph_namespace_is_saved() -> None:
    graph = _goto_then_ask(own_saver=False)
    graph.invoke({"n": 0}, _cfg())
    sub_config = graph.get_state(_cfg()).tasks[0].state
    graph.update_state(sub_config, {"log": ["edited"]}, as_node="first")
    assert graph.get_state(sub_config).values["log"] == ["first", "edited"]


def test_a_node_passing_its_own_config_to_a_graph_makes_a_subgraph() -> None:
    """A tool or node that hands the config it got to a graph it calls (``graph.invoke(x,
    config)``) still runs that graph as its subgraph (namespaced under the node, streamed
    with ``subgraphs=True``), as in LangGraph; a config naming another thread does not."""
    import operator as _op
    from typing import Annotated as _Ann

    from typing_extensions import TypedDict as _TD

    import hone.graph as _hg

    class St(_TD):
        log: _Ann[list[str], _op.add]

    inner = _hg.StateGraph(St)
    inner.add_node("leaf", lambda s: {"log": ["leaf"]})
    inner.add_edge(_hg.START, "leaf")
    app = inner.compile()

    def caller(state: St, config: _hg.RunConfig) -> dict[str, Any]:
        # What a LangChain tool receives: the node's config without the runtime's own keys.
        public = {k: v for k, v in config["configurable"].items() if not k.startswith("__")}
        return {"log": app.invoke({"log": []}, {**config, "configurable": public})["log"]}

    outer = _hg.StateGraph(St)
    outer.add_node("caller", caller)
    outer.add_edge(_hg.START, "caller")
    namespaces = {
        ns[0].split(":")[0] if ns else ""
        for ns, _ in outer.compile().stream({"log": []}, stream_mode="updates", subgraphs=True)
    }
    assert namespaces == {"", "caller"}

    def other_thread(state: St) -> dict[str, Any]:
        return {"log": app.invoke({"log": []}, {"configurable": {"thread_id": "elsewhere"}})["log"]}

    apart = _hg.StateGraph(St)
    apart.add_node("caller", other_thread)
    apart.add_edge(_hg.START, "caller")
    seen = {
        ns for ns, _ in apart.compile().stream({"log": []}, stream_mode="updates", subgraphs=True)
    }
    assert seen == {()}
