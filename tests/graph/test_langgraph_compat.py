"""The same program text runs on LangGraph and on hone (only the imports change) and gives
the same results: values, histories, snapshots, stream chunks (ids left out)."""

from typing import Any

import pytest

pytest.importorskip("langgraph")

PROGRAM = """
import operator
from typing import Annotated, Literal, TypedDict
{imports}

class State(TypedDict):
    n: int
    items: list[int]
    log: Annotated[list[str], operator.add]

def plan(state: State):
    return {{"log": ["plan"], "n": state["n"] + 1}}

def square(x: int):
    return {{"log": [f"sq{{x * x}}"]}}

def fan_out(state: State):
    return [Send("square", i) for i in state["items"]]

def review(state: State) -> Command[Literal["plan", "finish"]]:
    if state["n"] < 3:
        return Command(goto="plan", update={{"log": ["again"]}})
    return Command(goto="finish")

def finish(state: State):
    answer = interrupt({{"n": state["n"]}})
    return {{"log": [f"human:{{answer}}"]}}

builder = StateGraph(State)
builder.add_node("plan", plan)
builder.add_node("square", square)
builder.add_node("review", review)
builder.add_node("finish", finish)
builder.add_edge(START, "plan")
builder.add_conditional_edges("plan", fan_out, ["square"])
builder.add_edge("square", "review")
builder.add_edge("finish", END)
graph = builder.compile(checkpointer=Saver())
config = {{"configurable": {{"thread_id": "1"}}}}
first = graph.invoke({{"n": 0, "items": [1, 2], "log": []}}, config)
pending = [i.value for i in first.pop("__interrupt__")]
updates = list(graph.stream(Command(resume="yes"), config, stream_mode="updates"))
result = (first, pending, updates, graph.get_state(config).values)
"""

TIME_TRAVEL = """
import operator
from typing import Annotated, TypedDict
{imports}

class State(TypedDict):
    n: int
    log: Annotated[list[str], operator.add]

def ask(state: State):
    return {{"log": [f"asked:{{interrupt(state['n'])}}"]}}

builder = StateGraph(State)
builder.add_node("a", lambda s: {{"n": s["n"] + 1, "log": ["a"]}})
builder.add_node("ask", ask)
builder.add_node("b", lambda s: {{"n": s["n"] * 10, "log": ["b"]}})
builder.add_edge(START, "a").add_edge("a", "ask").add_edge("ask", "b").add_edge("b", END)
graph = builder.compile(checkpointer=Saver())
config = {{"configurable": {{"thread_id": "t"}}}}

def shape(snapshot):
    tasks = [(t.name, t.error, [i.value for i in t.interrupts], t.result) for t in snapshot.tasks]
    return (snapshot.values, snapshot.next, snapshot.metadata, tasks,
            [i.value for i in snapshot.interrupts], snapshot.parent_config is None)

def history():
    return [shape(s) for s in graph.get_state_history(config)]

out = [graph.invoke({{"n": 1}}, config)["log"]]
out.append(graph.invoke(Command(resume="first"), config))
out.append(history())
before_ask = next(s for s in graph.get_state_history(config) if s.next == ("ask",))
# Replaying from before the interrupt asks again.
replay = graph.invoke(None, before_ask.config)
out.append((replay["log"], [i.value for i in replay["__interrupt__"]]))
out.append(graph.invoke(Command(resume="second"), config))
edited = graph.update_state(before_ask.config, {{"n": 7}})
out.append(shape(graph.get_state(edited)))
copied = graph.update_state(before_ask.config, None, as_node="__copy__")
out.append(shape(graph.get_state(copied)))
out.append(graph.update_state(config, {{"log": ["by hand"]}}, as_node="b") is not None)
out.append(history())
result = out
"""

STREAMING = """
import operator
from typing import Annotated, TypedDict
{imports}

class State(TypedDict):
    n: int
    log: Annotated[list[str], operator.add]

inner = StateGraph(State)
inner.add_node("deep", lambda s: {{"log": ["deep"]}})
inner.add_edge(START, "deep")
builder = StateGraph(State)
builder.add_node("a", lambda s: {{"n": s["n"] + 1}})
builder.add_node("sub", inner.compile())
builder.add_node("b", lambda s: {{"log": ["b"]}})
builder.add_edge(START, "a").add_edge("a", "sub").add_edge("sub", "b")
graph = builder.compile(checkpointer=Saver())

def strip(chunk):
    # Subgraph namespaces carry task ids: keep the node names.
    if isinstance(chunk, tuple) and chunk and isinstance(chunk[0], tuple):
        return (tuple(part.split(":")[0] for part in chunk[0]),) + chunk[1:]
    return chunk

runs = [
    {{}},
    {{"stream_mode": "values"}},
    {{"stream_mode": ["updates", "values"]}},
    {{"stream_mode": "updates", "subgraphs": True}},
    {{"stream_mode": ["values", "updates"], "subgraphs": True}},
]
result = [
    [strip(c) for c in graph.stream({{"n": 0}}, {{"configurable": {{"thread_id": str(i)}}}}, **kw)]
    for i, kw in enumerate(runs)
]
"""

FEATURES = """
import operator
from typing import Annotated, TypedDict
{imports}

class State(TypedDict):
    n: int
    log: Annotated[list[str], operator.add]
    left: RemainingSteps

def boom(state: State):
    raise ValueError("bad input")

def handler(state: State, error: NodeError):
    return {{"log": [f"handled {{error.node}}: {{error.error}}"]}}

def loop(state: State):
    return {{"log": [f"left {{state['left']}}"]}}

def reset(state: State):
    return {{"log": Overwrite(["reset"])}}

builder = StateGraph(State)
builder.add_node("boom", boom, error_handler=handler)
builder.add_node("loop", loop)
builder.add_node("reset", reset)
builder.add_edge(START, "boom").add_edge(START, "loop")
builder.add_conditional_edges("loop", lambda s: "loop" if s["left"] > 3 else "reset")
graph = builder.compile(checkpointer=Saver())
config = {{"configurable": {{"thread_id": "f"}}, "recursion_limit": 6}}
values = graph.invoke({{"n": 0, "log": ["x"]}}, config)
steps = [(s.metadata["step"], s.next, s.values) for s in graph.get_state_history(config)]

@task
def double(x: int) -> int:
    return 2 * x

@entrypoint(checkpointer=Saver())
def workflow(numbers: list[int]) -> dict:
    doubled = [f.result() for f in [double(n) for n in numbers]]
    return {{"doubled": doubled, "answer": interrupt(sum(doubled))}}

wf = {{"configurable": {{"thread_id": "w"}}}}
paused = [i.value for i in workflow.invoke([1, 2], wf)["__interrupt__"]]
chunks = list(workflow.stream(Command(resume="ok"), wf))
result = (values, steps, paused, chunks, workflow.get_state(wf).values)
"""

LANGGRAPH = """
from langgraph.graph import StateGraph, START, END
from langgraph.types import Command, Send, Overwrite, interrupt
from langgraph.checkpoint.memory import InMemorySaver as Saver
from langgraph.errors import NodeError
from langgraph.managed import RemainingSteps
from langgraph.func import entrypoint, task
"""

HONE = """
from hone.graph import StateGraph, START, END, Command, Send, Overwrite, interrupt
from hone.checkpoint import InMemorySaver as Saver
from hone.graph import NodeError, RemainingSteps, entrypoint, task
"""


def _run(program: str, imports: str) -> Any:
    scope: dict[str, Any] = {}
    exec(program.format(imports=imports), scope)
    return scope["result"]


@pytest.mark.parametrize(
    "program",
    [PROGRAM, TIME_TRAVEL, STREAMING, FEATURES],
    ids=["fan-out-command-interrupt", "time-travel", "streaming", "handlers-managed-func"],
)
def test_same_program_same_outputs(program: str) -> None:
    assert _run(program, HONE) == _run(program, LANGGRAPH)
