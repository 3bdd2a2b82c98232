"""The ``StreamPart`` types describe what ``stream(version="v2")`` yields, key for key, and
match LangGraph's."""

from __future__ import annotations

import operator
import typing
from typing import Annotated, Any

import pytest
from typing_extensions import TypedDict

import hone.graph as hg
from hone.checkpoint import InMemorySaver

lg_types = pytest.importorskip("langgraph.types")

PARTS = {
    "values": hg.ValuesStreamPart,
    "updates": hg.UpdatesStreamPart,
    "messages": hg.MessagesStreamPart,
    "custom": hg.CustomStreamPart,
    "checkpoints": hg.CheckpointStreamPart,
    "tasks": hg.TasksStreamPart,
    "debug": hg.DebugStreamPart,
    "tools": hg.ToolsStreamPart,
}


class State(TypedDict):
    log: Annotated[list[str], operator.add]


def _keys(kind: Any) -> tuple[frozenset[str], frozenset[str]]:
    return kind.__required_keys__, kind.__optional_keys__


def _fits(value: dict[str, Any], kind: Any) -> None:
    required, optional = _keys(kind)
    assert required <= set(value) <= required | optional, (kind.__name__, sorted(value))


def _names(kind: Any, data: dict[str, Any]) -> bool:
    """Whether ``kind`` is the debug event type named by ``data["type"]``."""
    return repr(data["type"]) in str(typing.get_type_hints(kind)["type"])


def _graph() -> Any:
    def step(state: State) -> dict[str, Any]:
        hg.get_stream_writer()({"progress": 1})
        return {"log": ["step"]}

    builder = hg.StateGraph(State).add_node("step", step).add_edge(hg.START, "step")
    return builder.compile(checkpointer=InMemorySaver())


def test_each_part_of_a_v2_stream_has_its_types_keys() -> None:
    modes = ["values", "updates", "custom", "checkpoints", "tasks", "debug"]
    config = {"configurable": {"thread_id": "1"}}
    seen = set()
    for part in _graph().stream({"log": []}, config, stream_mode=modes, version="v2"):
        seen.add(part["type"])
        _fits(part, PARTS[part["type"]])
        data = part["data"]
        if part["type"] == "tasks":
            _fits(data, hg.TaskResultPayload if "result" in data else hg.TaskPayload)
        elif part["type"] == "checkpoints":
            _fits(data, hg.CheckpointPayload)
            for task in data["tasks"]:
                _fits(task, hg.CheckpointTask)
        elif part["type"] == "debug":
            kinds = [typing.get_origin(k) or k for k in typing.get_args(hg.DebugPayload)]
            assert len(kinds) == 3  # checkpoint, task, task_result
            _fits(data, next(k for k in kinds if _names(k, data)))
    assert seen == set(modes)
    assert set(typing.get_args(hg.StreamPart)) >= {hg.UpdatesStreamPart, hg.ToolsStreamPart}


@pytest.mark.parametrize(
    "name",
    [
        "ValuesStreamPart",
        "UpdatesStreamPart",
        "MessagesStreamPart",
        "CustomStreamPart",
        "CheckpointStreamPart",
        "TasksStreamPart",
        "DebugStreamPart",
        "TaskPayload",
        "TaskResultPayload",
        "CheckpointTask",
        "CheckpointPayload",
    ],
)
def test_the_types_have_langgraphs_keys(name: str) -> None:
    # Which keys are optional is not compared: LangGraph's module defers its annotations, so
    # its TypedDicts count NotRequired keys as required.
    ours, theirs = getattr(hg, name), getattr(lg_types, name)
    assert set().union(*_keys(ours)) == set().union(*_keys(theirs))


def test_langgraphs_names_for_the_compiled_graph_and_v2_output() -> None:
    graph = _graph()
    assert isinstance(graph, hg.CompiledStateGraph)
    out = graph.invoke({"log": []}, {"configurable": {"thread_id": "2"}}, version="v2")
    assert isinstance(out, hg.GraphOutput) and out.value == {"log": ["step"]}
