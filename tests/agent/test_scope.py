"""``use_model`` / ``get_model``: the model a run was given, per role, across threads and
graph nodes; and ``watch_stops`` across them."""

from __future__ import annotations

import asyncio
from typing import Any, TypedDict

import pytest

from hone.agent import report_stop, watch_stops
from hone.errors import ConfigError
from hone.graph import END, START, StateGraph, get_model, use_model
from hone.models import ScriptedModel


def test_without_a_model_the_error_says_how_to_give_one() -> None:
    with pytest.raises(ConfigError, match="use_model"):
        get_model()
    fallback = ScriptedModel(["x"])
    assert get_model(default=fallback) is fallback


def test_one_model_serves_every_role_and_overrides_the_default() -> None:
    model = ScriptedModel(["x"])
    with use_model(model):
        assert get_model() is model
        assert get_model("planner") is model
        assert get_model(default=ScriptedModel(["y"])) is model
    with pytest.raises(ConfigError):
        get_model()  # the block ended


def test_a_model_per_role() -> None:
    planner, solver = ScriptedModel(["p"]), ScriptedModel(["s"])
    with use_model({"planner": planner, "solver": solver}):
        assert get_model("planner") is planner and get_model("solver") is solver
        with pytest.raises(ConfigError, match="planner, solver"):
            get_model()
        with pytest.raises(ConfigError, match="'critic'"):
            get_model("critic")
        # A role the run has no model for is an error even with a default: silently using
        # the default would leave that agent out of training.
        with pytest.raises(ConfigError, match="'critic'"):
            get_model("critic", default=planner)
    only = ScriptedModel(["o"])
    with use_model({"agent": only}):
        assert get_model() is only


def test_bad_values_are_refused() -> None:
    with pytest.raises(ConfigError, match="empty"), use_model({}):
        pass
    with pytest.raises(ConfigError, match="not a model"), use_model(42):
        pass


def test_nested_blocks_restore_the_outer_model() -> None:
    outer, inner = ScriptedModel(["o"]), ScriptedModel(["i"])
    with use_model(outer):
        with use_model(inner):
            assert get_model() is inner
        assert get_model() is outer


async def test_threads_and_tasks_see_the_model_and_report_stops() -> None:
    model = ScriptedModel(["x"])

    def in_thread() -> Any:
        report_stop("answered", model)
        return get_model()

    with use_model(model), watch_stops() as stops:
        assert await asyncio.to_thread(in_thread) is model
        assert await asyncio.create_task(asyncio.to_thread(in_thread)) is model
    assert [s.reason for s in stops] == ["answered", "answered"]


async def test_concurrent_runs_keep_their_own_models() -> None:
    async def run(model: ScriptedModel) -> Any:
        with use_model(model):
            await asyncio.sleep(0)
            return get_model()

    a, b = ScriptedModel(["a"]), ScriptedModel(["b"])
    assert list(await asyncio.gather(run(a), run(b))) == [a, b]


class State(TypedDict):
    name: str


def test_sync_graph_nodes_see_the_model() -> None:
    def node(state: State) -> dict[str, Any]:
        return {"name": get_model().name}

    graph = StateGraph(State)
    graph.add_node("node", node)
    graph.add_edge(START, "node")
    graph.add_edge("node", END)
    app = graph.compile()
    with use_model(ScriptedModel(["x"], name="given")):
        assert app.invoke({"name": ""}) == {"name": "given"}
