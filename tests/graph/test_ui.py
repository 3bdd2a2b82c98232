"""Generative UI messages (``hone.graph.ui``), side by side with LangGraph's
``langgraph.graph.ui``."""

from __future__ import annotations

import operator
from typing import Annotated, Any

import pytest
from langchain_core.messages import AIMessage
from typing_extensions import TypedDict

import hone.graph as hg
from hone.errors import GraphError
from hone.graph import ui

lg_graph = pytest.importorskip("langgraph.graph")
lg_ui = pytest.importorskip("langgraph.graph.ui")


class State(TypedDict):
    log: Annotated[list[str], operator.add]
    ui: Annotated[list[Any], ui.ui_message_reducer]


class LGState(TypedDict):
    log: Annotated[list[str], operator.add]
    ui: Annotated[list[Any], lg_ui.ui_message_reducer]


def _program(graph_mod: Any, ui_mod: Any, state: Any) -> Any:
    def show(s: Any) -> dict[str, Any]:
        reply = AIMessage("Here is the forecast.", id="m1")
        ui_mod.push_ui_message("forecast", {"city": "Lisbon"}, id="card", message=reply)
        ui_mod.push_ui_message("chart", {"points": 3}, id="chart")
        return {"log": ["show"]}

    def update(s: Any) -> dict[str, Any]:
        ui_mod.push_ui_message("forecast", {"high": 24}, id="card", merge=True)
        ui_mod.delete_ui_message("chart")
        ui_mod.push_ui_message("note", {"text": "no state"}, id="n", state_key=None)
        return {"log": ["update"]}

    builder = graph_mod.StateGraph(state).add_node("show", show).add_node("update", update)
    builder.add_edge(graph_mod.START, "show").add_edge("show", "update")
    return builder.compile()


def _run(graph: Any) -> tuple[Any, list[Any]]:
    custom, values = [], None
    for mode, chunk in graph.stream(
        {"log": [], "ui": []}, {"tags": ["t"]}, stream_mode=["custom", "values"]
    ):
        if mode == "custom":
            custom.append(chunk)
        else:
            values = chunk
    return values, custom


def _comparable(items: list[Any]) -> list[Any]:
    # run ids differ between runs; everything else must match
    return [
        {**m, "metadata": {k: v for k, v in m.get("metadata", {}).items() if k != "run_id"}}
        if m["type"] == "ui"
        else m
        for m in items
    ]


def test_pushes_stream_and_reduce_as_langgraphs() -> None:
    ours, our_stream = _run(_program(hg, ui, State))
    theirs, their_stream = _run(_program(lg_graph, lg_ui, LGState))
    assert _comparable(our_stream) == _comparable(their_stream)
    assert _comparable(ours["ui"]) == _comparable(theirs["ui"])
    [card] = ours["ui"]  # the chart was deleted, the note never written to state
    assert card["props"] == {"city": "Lisbon", "high": 24}  # merged
    assert card["metadata"]["merge"] is True  # the merging push replaced the first one


def test_the_reducer_appends_replaces_merges_and_removes() -> None:
    first: ui.UIMessage = {
        "type": "ui",
        "id": "a",
        "name": "x",
        "props": {"p": 1, "q": 1},
        "metadata": {},
    }
    merged: ui.UIMessage = {
        "type": "ui",
        "id": "a",
        "name": "x",
        "props": {"q": 2},
        "metadata": {"merge": True},
    }
    other: ui.UIMessage = {"type": "ui", "id": "b", "name": "y", "props": {}, "metadata": {}}
    for reducer in (ui.ui_message_reducer, lg_ui.ui_message_reducer):
        out = reducer([first], [merged, other])
        assert [m["props"] for m in out] == [{"p": 1, "q": 2}, {}]
        assert reducer(out, {"type": "remove-ui", "id": "a"}) == [other]
        with pytest.raises(ValueError, match="doesn't exist \\('zzz'\\)"):
            reducer(out, {"type": "remove-ui", "id": "zzz"})


def test_outside_a_node_it_says_where_it_must_run() -> None:
    with pytest.raises(GraphError, match="push_ui_message"):
        ui.push_ui_message("x", {})
    with pytest.raises(GraphError, match="delete_ui_message"):
        ui.delete_ui_message("x")
