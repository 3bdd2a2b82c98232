"""A graph's input, output and context JSON schemas, compared with LangGraph's for the same
programs (``get_input_jsonschema`` and friends)."""

import operator
import typing
from dataclasses import dataclass, field
from typing import Annotated, Any, NotRequired

import pytest
from pydantic import BaseModel
from typing_extensions import TypedDict

import hone.graph as hg

lg_graph = pytest.importorskip("langgraph.graph")
lg_func = pytest.importorskip("langgraph.func")


class Plain(TypedDict):
    question: str
    notes: Annotated[list[str], operator.add]
    hint: NotRequired[str]


class Model(BaseModel):
    question: str
    tries: int = 0


@dataclass
class Data:
    question: str
    answer: str | None
    score: Annotated[float | None, "graded later"]
    tags: list[str] = field(default_factory=list)
    required: str = field(default=...)  # type: ignore[assignment]


class Out(TypedDict):
    answer: str


class Ctx(TypedDict):
    user: str


@dataclass
class DataCtx:
    user: str
    depth: int = 1


def build(mod: Any, state: Any, **kwargs: Any) -> Any:
    g = mod.StateGraph(state, **kwargs)
    g.add_node("n", lambda s: {})
    g.add_edge(mod.START, "n")
    return g.compile()


@pytest.mark.parametrize(
    ("state", "kwargs"),
    [
        (Plain, {}),
        (Model, {}),
        (Data, {}),
        (Annotated[list[str], operator.add], {}),
        (Plain, {"output_schema": Out}),
        (Plain, {"context_schema": Ctx}),
        (Model, {"context_schema": DataCtx}),
        (Data, {"context_schema": Model}),
    ],
    ids=[
        "typeddict",
        "pydantic",
        "dataclass",
        "root",
        "output",
        "ctx",
        "dataclass-ctx",
        "model-ctx",
    ],
)
def test_state_graph_schemas_match_langgraphs(state: Any, kwargs: dict[str, Any]) -> None:
    theirs, ours = build(lg_graph, state, **kwargs), build(hg, state, **kwargs)
    assert ours.get_input_jsonschema() == theirs.get_input_jsonschema()
    assert ours.get_output_jsonschema() == theirs.get_output_jsonschema()
    assert ours.get_context_jsonschema() == theirs.get_context_jsonschema()


def test_a_dataclass_states_required_fields_follow_langgraphs_rules() -> None:
    schema = build(hg, Data).get_input_jsonschema()
    assert set(schema["required"]) == {"question", "required"}
    assert schema["title"] == "LangGraphInput"


def test_entrypoint_schemas_match_langgraphs() -> None:
    def program(func: Any) -> Any:
        @func.entrypoint(context_schema=Ctx)
        def double(numbers: list[int]) -> list[str]:
            return [str(2 * n) for n in numbers]

        return double

    theirs, ours = program(lg_func), program(hg)
    assert ours.get_input_jsonschema() == theirs.get_input_jsonschema()
    assert ours.get_output_jsonschema() == theirs.get_output_jsonschema()
    assert ours.get_context_jsonschema() == theirs.get_context_jsonschema()
    assert ours.get_input_jsonschema()["title"] == "LangGraphInput"


def test_a_context_schema_that_is_not_a_record_is_refused() -> None:
    graph = build(hg, Plain, context_schema=int)
    with pytest.raises(ValueError, match="Invalid context schema type"):
        graph.get_context_jsonschema()
    assert build(hg, Plain).get_context_jsonschema() is None


def test_a_typing_typeddict_state_has_a_schema_on_every_python() -> None:
    """pydantic reads ``typing.TypedDict`` only from Python 3.12; hone builds the same model
    from its fields on older versions (LangGraph raises there)."""

    class State(typing.TypedDict):
        question: str
        n: int

    schema = build(hg, State).get_input_jsonschema()
    assert schema["title"] == "State" and set(schema["required"]) == {"question", "n"}
