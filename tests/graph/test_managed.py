"""Managed values: ``RemainingSteps`` and ``IsLastStep`` in a state schema are filled in for
each task from the recursion limit; they are never stored and nodes cannot write them."""

from __future__ import annotations

from typing import Any, TypedDict

import pytest

from hone.checkpoint import InMemorySaver
from hone.errors import GraphRecursionError, GraphWarning
from hone.graph import END, START, IsLastStep, RemainingSteps, StateGraph


class S(TypedDict):
    n: int
    left: RemainingSteps
    last: IsLastStep


def _loop(seen: list[tuple[int, bool]], *, stop_at: int | None) -> Any:
    def step(state: S) -> dict[str, Any]:
        seen.append((state["left"], state["last"]))
        return {"n": state["n"] + 1}

    g = StateGraph(S).add_node("step", step).add_edge(START, "step")
    if stop_at is None:
        g.add_edge("step", "step")
    else:
        g.add_conditional_edges("step", lambda s: END if s["left"] <= stop_at else "step")
    return g.compile(checkpointer=InMemorySaver())


def test_remaining_steps_lets_a_loop_stop_before_the_limit(driver: Any) -> None:
    seen: list[tuple[int, bool]] = []
    cfg = {"configurable": {"thread_id": "t"}, "recursion_limit": 6}
    assert driver.invoke(_loop(seen, stop_at=2), {"n": 0}, cfg) == {"n": 4}
    assert seen == [(5, False), (4, False), (3, False), (2, False)]


def test_is_last_step_is_true_in_the_last_allowed_step() -> None:
    seen: list[tuple[int, bool]] = []
    graph = _loop(seen, stop_at=None)
    with pytest.raises(GraphRecursionError, match="Recursion limit of 4 reached"):
        graph.invoke({"n": 0}, {"configurable": {"thread_id": "t"}, "recursion_limit": 4})
    # START's step counts: the node runs in steps 1..4 (LangGraph's numbering).
    assert seen == [(3, False), (2, False), (1, True), (0, False)]


def test_managed_values_are_not_stored_or_output() -> None:
    graph = _loop([], stop_at=3)
    cfg = {"configurable": {"thread_id": "t"}, "recursion_limit": 5}
    assert graph.invoke({"n": 0}, cfg) == {"n": 2}
    for snapshot in graph.get_state_history(cfg):
        assert "left" not in snapshot.values and "last" not in snapshot.values


def test_a_node_writing_a_managed_value_is_warned_and_ignored() -> None:
    g = StateGraph(S).add_node("w", lambda s: {"left": 99, "n": 1}).add_edge(START, "w")
    with pytest.warns(GraphWarning, match="'left'"):
        assert g.compile().invoke({"n": 0}) == {"n": 1}
