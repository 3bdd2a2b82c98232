"""LangGraph and LangChain idioms, each run on LangGraph and on hone: the same program gives
the same observable result (the table in docs/compat.md points here).

LangGraph's own test suite is the main evidence of parity (see docs/compat.md); these tests
pin the idioms new users try first, side by side with the framework they come from.
"""

import operator
import warnings
from typing import Annotated, Any, TypedDict

import pytest
from langchain_core.messages import AIMessage, AnyMessage, HumanMessage, ToolMessage
from pydantic import BaseModel

import hone.checkpoint
import hone.graph
from hone.messages import AssistantMessage, ToolCall
from hone.models import ScriptedModel
from hone.tools import tool

langgraph_graph = pytest.importorskip("langgraph.graph")
langgraph_types = pytest.importorskip("langgraph.types")
langgraph_memory = pytest.importorskip("langgraph.checkpoint.memory")


class Kit:
    """One framework's names, so each idiom is written once."""

    def __init__(self, name: str) -> None:
        self.name = name
        if name == "hone":
            self.StateGraph = hone.graph.StateGraph
            self.START, self.END = hone.graph.START, hone.graph.END
            self.add_messages = hone.graph.add_messages
            self.MessagesState = hone.graph.MessagesState
            self.Command = hone.graph.Command
            self.Interrupt = hone.graph.Interrupt
            self.interrupt = hone.graph.interrupt
            self.MemorySaver = hone.checkpoint.MemorySaver
        else:
            self.StateGraph = langgraph_graph.StateGraph
            self.START, self.END = langgraph_graph.START, langgraph_graph.END
            self.add_messages = langgraph_graph.add_messages
            self.MessagesState = langgraph_graph.MessagesState
            self.Command = langgraph_types.Command
            self.Interrupt = langgraph_types.Interrupt
            self.interrupt = langgraph_types.interrupt
            self.MemorySaver = langgraph_memory.MemorySaver


KITS = [Kit("langgraph"), Kit("hone")]


def both(program: Any) -> tuple[Any, Any]:
    """The program's result on LangGraph and on hone."""
    return program(KITS[0]), program(KITS[1])


def _no_ids(messages: list[Any]) -> list[tuple[str, Any]]:
    return [(m.type, m.content) for m in messages]


def test_langchain_message_types_in_state_are_kept() -> None:
    def program(k: Kit) -> Any:
        def reply(state: Any) -> dict[str, Any]:
            return {"messages": [AIMessage("hi there")]}

        g = k.StateGraph(k.MessagesState).add_node("reply", reply)
        out = g.add_edge(k.START, "reply").compile().invoke({"messages": [HumanMessage("hi")]})
        return [type(m) for m in out["messages"]], _no_ids(out["messages"])

    assert (
        both(program)[0]
        == both(program)[1]
        == (
            [HumanMessage, AIMessage],
            [("human", "hi"), ("ai", "hi there")],
        )
    )


def test_mutate_and_return_node_does_not_duplicate() -> None:
    """A node that appends to state["messages"] and returns the whole state."""

    def program(k: Kit) -> Any:
        class State(TypedDict):
            messages: Annotated[list[AnyMessage], k.add_messages]

        def chat(state: State) -> State:
            state["messages"].append(AIMessage("answer"))
            return state

        g = k.StateGraph(State).add_node("chat", chat).add_edge(k.START, "chat").compile()
        return _no_ids(g.invoke({"messages": [HumanMessage("question")]})["messages"])

    langgraph, hone_ = both(program)
    assert hone_ == langgraph == [("human", "question"), ("ai", "answer")]


def test_stream_defaults_to_updates() -> None:
    def program(k: Kit) -> Any:
        class State(TypedDict):
            n: Annotated[int, operator.add]

        g = k.StateGraph(State).add_node("a", lambda s: {"n": 1}).add_node("b", lambda s: {"n": 2})
        g.add_edge(k.START, "a").add_edge("a", "b")
        return list(g.compile().stream({"n": 0}))

    assert both(program)[0] == both(program)[1] == [{"a": {"n": 1}}, {"b": {"n": 2}}]


def test_memory_saver_threads_and_history() -> None:
    def program(k: Kit) -> Any:
        class State(TypedDict):
            log: Annotated[list[str], operator.add]

        g = k.StateGraph(State).add_node("a", lambda s: {"log": ["a"]}).add_edge(k.START, "a")
        app = g.compile(checkpointer=k.MemorySaver())
        cfg = {"configurable": {"thread_id": "t"}}
        app.invoke({"log": ["x"]}, cfg)
        app.invoke({"log": ["y"]}, cfg)
        history = [
            (s.metadata["source"], s.metadata["step"], s.next) for s in app.get_state_history(cfg)
        ]
        return app.get_state(cfg).values, history

    assert both(program)[0] == both(program)[1]


def test_interrupt_and_interrupt_id() -> None:
    def program(k: Kit) -> Any:
        class State(TypedDict):
            answer: str

        def ask(state: State) -> State:
            return {"answer": k.interrupt("name?")}

        g = k.StateGraph(State).add_node("ask", ask).add_edge(k.START, "ask")
        app = g.compile(checkpointer=k.MemorySaver())
        cfg = {"configurable": {"thread_id": "t"}}
        paused = app.invoke({"answer": ""}, cfg)
        [question] = paused["__interrupt__"]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            legacy_id = question.interrupt_id
        done = app.invoke(k.Command(resume="Ada"), cfg)
        return question.value, legacy_id == question.id, done

    assert both(program)[0] == both(program)[1] == ("name?", True, {"answer": "Ada"})


def test_state_graph_state_schema_keyword() -> None:
    def program(k: Kit) -> Any:
        class State(TypedDict):
            x: int

        g = k.StateGraph(state_schema=State).add_node("inc", lambda s: {"x": s["x"] + 1})
        return g.add_edge(k.START, "inc").compile().invoke({"x": 1})

    assert both(program)[0] == both(program)[1] == {"x": 2}


def test_command_goto_and_update() -> None:
    def program(k: Kit) -> Any:
        class State(TypedDict):
            path: Annotated[list[str], operator.add]

        def route(state: State) -> Any:
            return k.Command(goto="b", update={"path": ["a"]})

        g = k.StateGraph(State).add_node("a", route, destinations=("b",))
        g.add_node("b", lambda s: {"path": ["b"]}).add_edge(k.START, "a")
        return g.compile().invoke({"path": []})

    assert both(program)[0] == both(program)[1] == {"path": ["a", "b"]}


# ----------------------------------------------------------------------------- models


def test_llm_invoke_on_a_hone_model() -> None:
    model = ScriptedModel(["Paris.", "Rome."])
    reply = model.invoke([HumanMessage("Capital of France?")])
    assert isinstance(reply, AIMessage) and reply.content == "Paris."
    own = model.invoke("Capital of Italy?")
    assert isinstance(own, AssistantMessage) and own.content == "Rome."


def test_bind_tools_gives_tool_calls_as_dicts() -> None:
    @tool
    def add(a: int, b: int) -> int:
        """Add two numbers.

        Args:
            a: First.
            b: Second.
        """
        return a + b

    reply = (
        ScriptedModel(['<tool_call>{"name": "add", "arguments": {"a": 1, "b": 2}}</tool_call>'])
        .bind_tools([add])
        .invoke([HumanMessage("1+2?")])
    )
    [call] = reply.tool_calls
    assert (call["name"], call["args"]) == ("add", {"a": 1, "b": 2})
    assert add.invoke(call) == ToolMessage(content="3", tool_call_id=call["id"], name="add")


def test_tool_calls_read_as_dicts_and_attributes() -> None:
    call = ToolCall(id="c1", name="add", arguments={"a": 1})
    assert (call["name"], call["args"], call["id"]) == (call.name, call.arguments, call.id)
    assert call == {"name": "add", "args": {"a": 1}, "id": "c1", "type": "tool_call"}


def test_with_structured_output() -> None:
    class City(BaseModel):
        name: str
        population: int

    model = ScriptedModel(['{"name": "Paris", "population": 2100000}'])
    city = model.with_structured_output(City).invoke("Largest city of France?")
    assert city == City(name="Paris", population=2100000)
