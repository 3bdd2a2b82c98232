"""LangGraph's injected tool parameters in hone: InjectedState, InjectedStore, ToolRuntime,
for hone tools, plain functions and LangChain ``@tool`` tools."""

import dataclasses
import subprocess
import sys
from typing import Annotated, Any

import pytest
from pydantic import BaseModel

from hone.errors import ConfigError, ToolInjectionError
from hone.graph import START, MessagesState, StateGraph
from hone.graph.prebuilt import (
    InjectedState,
    InjectedStore,
    ToolNode,
    ToolRuntime,
    tool_runtime,
)
from hone.messages import AssistantMessage, ToolCall
from hone.store import InMemoryStore
from hone.tools import Tool, ToolContext, aexecute_tool_call, aexecute_tool_calls


def call(name: str, call_id: str = "c1", **arguments: Any) -> ToolCall:
    return ToolCall(id=call_id, name=name, arguments=arguments)


def everything(
    x: int,
    state: Annotated[dict[str, Any], InjectedState],
    foo: Annotated[str, InjectedState("foo")],
    store: Annotated[Any, InjectedStore()],
    runtime: ToolRuntime,
) -> str:
    """Use every kind of injection."""
    return f"{x} {state['foo']} {foo} {store is not None} {runtime.tool_call_id}"


def test_hone_tools_hide_injected_parameters() -> None:
    t = Tool.from_function(everything)
    assert list(t.parameters["properties"]) == ["x"]
    assert t.parameters["required"] == ["x"]
    assert [p.name for p in t.injected] == ["state", "foo", "store", "runtime"]


def test_langchain_tools_hide_injected_parameters() -> None:
    lc = pytest.importorskip("langchain_core.tools")
    from langchain_core.utils.function_calling import convert_to_openai_tool

    lc_tool = lc.tool(everything)
    parameters = convert_to_openai_tool(lc_tool)["function"]["parameters"]
    assert list(parameters["properties"]) == ["x"]
    assert list(Tool.from_function(everything).parameters["properties"]) == ["x"]
    assert issubclass(ToolRuntime, lc.base._DirectlyInjectedToolArg)
    assert isinstance(InjectedState("k"), lc.InjectedToolArg)
    assert isinstance(InjectedStore(), lc.InjectedToolArg)


@pytest.mark.parametrize("family", ["hone", "langchain"])
async def test_everything_is_filled_from_the_runtime(family: str) -> None:
    if family == "langchain":
        lc = pytest.importorskip("langchain_core.tools")
        tools: list[Any] = [lc.tool(everything)]
    else:
        tools = [everything]
    state = {"messages": [], "foo": "bar"}
    store = InMemoryStore()
    runtime = dataclasses.replace(tool_runtime(state=state, call_id="c1"), store=store)
    forged = {"x": 1, "state": {"foo": "evil"}, "foo": "evil", "runtime": "evil"}
    result = await aexecute_tool_call(call("everything", **forged), tools, runtime=runtime)
    assert result.content == "1 bar bar True c1"


class PydanticState(BaseModel):
    messages: list[Any]
    foo: str


@dataclasses.dataclass
class DataclassState:
    messages: list[Any]
    foo: str


@pytest.mark.parametrize(
    "state",
    [
        {"messages": [], "foo": "bar"},
        PydanticState(messages=[], foo="bar"),
        DataclassState([], "bar"),
    ],
)
async def test_state_keys_and_attributes(state: Any) -> None:
    def read(x: int, foo: Annotated[str, InjectedState("foo")]) -> str:
        """Read foo."""
        return foo

    result = await aexecute_tool_call(call("read", x=1), [read], state=state)
    assert result.content == "bar"


async def test_a_list_state_counts_as_messages() -> None:
    def count(x: int, msgs: Annotated[list[Any], InjectedState("messages")]) -> int:
        """Count messages."""
        return len(msgs)

    def whole(x: int, state: Annotated[dict[str, Any], InjectedState]) -> str:
        """The whole state."""
        return ",".join(state)

    msgs = [AssistantMessage(content="hi")]
    assert (await aexecute_tool_call(call("count", x=1), [count], state=msgs)).content == "1"
    assert (await aexecute_tool_call(call("whole", x=1), [whole], state=msgs)).content == "messages"


async def test_missing_keys_raise_unless_the_parameter_has_a_default() -> None:
    def needs(x: int, city: Annotated[str, InjectedState("city")]) -> str:
        """Needs a city."""
        return city

    def maybe(x: int, city: Annotated[str | None, InjectedState("city")] = None) -> str:
        """Maybe a city."""
        return str(city)

    ctx = ToolContext(call_id="c1", tool_name="needs", state={"messages": []})
    with pytest.raises(KeyError) as info:
        await Tool.from_function(needs).ainvoke({"x": 1}, context=ctx)
    assert isinstance(info.value, ToolInjectionError)
    assert await Tool.from_function(maybe).ainvoke({"x": 1}, context=ctx) == "None"
    obj = ToolContext(call_id="c1", tool_name="needs", state=DataclassState([], "bar"))
    with pytest.raises(AttributeError):
        await Tool.from_function(needs).ainvoke({"x": 1}, context=obj)
    listed = ToolContext(call_id="c1", tool_name="needs", state=[])
    with pytest.raises(ValueError, match="list of messages"):
        await Tool.from_function(needs).ainvoke({"x": 1}, context=listed)


async def test_no_store_is_a_clear_error() -> None:
    def save(x: int, store: Annotated[Any, InjectedStore()]) -> str:
        """Save."""
        return "saved"

    ctx = ToolContext(call_id="c1", tool_name="save", runtime=tool_runtime(state={}, call_id="c1"))
    with pytest.raises(ValueError, match="compile your graph with a store"):
        await Tool.from_function(save).ainvoke({"x": 1}, context=ctx)


def test_tool_runtime_outside_a_graph() -> None:
    runtime = tool_runtime(state={"a": 1}, call_id="c9", tools=["t"])
    assert isinstance(runtime, ToolRuntime)
    assert (runtime.config, runtime.store, runtime.context) == ({}, None, None)
    assert runtime.tool_call_id == "c9" and runtime.tools == ["t"]
    runtime.stream_writer("ignored")  # a no-op
    bare = ToolRuntime(
        state={}, context=None, config={}, stream_writer=print, tool_call_id=None, store=None
    )
    assert bare.tools == []


async def test_a_shared_runtime_gives_each_call_its_own_id() -> None:
    def ident(x: int, runtime: ToolRuntime) -> str:
        """The call id."""
        return str(runtime.tool_call_id)

    runtime = tool_runtime(state={}, call_id=None)
    out = await aexecute_tool_calls(
        [call("ident", "a", x=1), call("ident", "b", x=2)], [ident], runtime=runtime
    )
    assert [m.text for m in out] == ["a", "b"]


async def test_a_runtime_of_another_type_is_a_config_error() -> None:
    ctx = ToolContext(call_id="c1", tool_name="t", runtime=object())

    def ident(x: int, runtime: ToolRuntime) -> str:
        """The call id."""
        return ""

    with pytest.raises(ConfigError, match="must be a ToolRuntime"):
        await Tool.from_function(ident).ainvoke({"x": 1}, context=ctx)


@dataclasses.dataclass
class Ctx:
    user: str


class State(MessagesState):
    bar: str


def test_in_a_graph_store_context_config_and_stream_writer() -> None:
    store = InMemoryStore()
    store.put(("ns",), "k", {"v": "stored"})

    def info(
        x: int,
        bar: Annotated[str, InjectedState("bar")],
        store: Annotated[Any, InjectedStore()],
        runtime: ToolRuntime[Ctx],
    ) -> str:
        """Everything the graph gives."""
        runtime.stream_writer({"progress": x})
        stored = store.get(("ns",), "k").value["v"]
        thread = runtime.config["configurable"]["thread_id"]
        return f"{bar} {stored} {runtime.context.user} {thread} {runtime.tool_call_id}"

    async def tools_node(state: State) -> dict[str, Any]:
        last = state["messages"][-1]
        runtime = tool_runtime(state=state, call_id=None, tools=[info])
        return {"messages": await aexecute_tool_calls(last.tool_calls, [info], runtime=runtime)}

    builder = StateGraph(State, context_schema=Ctx)
    builder.add_node("tools", tools_node)
    builder.add_edge(START, "tools")
    graph = builder.compile(store=store)
    turn = AssistantMessage(tool_calls=(call("info", "c7", x=3),))
    config = {"configurable": {"thread_id": "t1"}}
    chunks = list(
        graph.stream(
            {"messages": [turn], "bar": "B"},
            config,
            context=Ctx(user="u1"),
            stream_mode=["custom", "values"],
        )
    )
    assert ("custom", {"progress": 3}) in chunks
    final = [c for mode, c in chunks if mode == "values"][-1]
    assert final["messages"][-1].text == "B stored u1 t1 c7"


def test_tool_node_in_a_graph_injects_state_and_store() -> None:
    """Works before ToolNode passes a runtime: markers fall back to the running graph."""
    store = InMemoryStore()
    store.put(("ns",), "k", {"v": "stored"})

    def tool3(
        some_val: int,
        bar: Annotated[str, InjectedState("bar")],
        store: Annotated[Any, InjectedStore()],
    ) -> str:
        """Tool 3."""
        return f"{some_val} {bar} {store.get(('ns',), 'k').value['v']}"

    builder = StateGraph(State)
    builder.add_node("tools", ToolNode([tool3]))
    builder.add_edge(START, "tools")
    graph = builder.compile(store=store)
    turn = AssistantMessage(tool_calls=(call("tool3", some_val=1),))
    out = graph.invoke({"messages": [turn], "bar": "B"})
    assert out["messages"][-1].text == "1 B stored"


def test_importing_prebuilt_and_running_tools_does_not_import_langchain() -> None:
    code = (
        "import sys, asyncio\n"
        "import hone.graph.prebuilt as pb\n"
        "from hone.messages import AssistantMessage, ToolCall\n"
        "def add(a: int, b: int) -> int:\n"
        "    '''Add.'''\n"
        "    return a + b\n"
        "turn = AssistantMessage(tool_calls=(ToolCall(id='c', name='add', "
        "arguments={'a': 1, 'b': 2}),))\n"
        "pb.ToolNode([add]).invoke({'messages': [turn]})\n"
        "pb.tool_runtime(state={}, call_id='c')\n"
        "print(sorted(m for m in sys.modules if m.startswith('langchain')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_markers_work_without_langchain_installed() -> None:
    code = (
        "import sys, asyncio\n"
        "sys.modules['langchain_core'] = None  # as if not installed\n"
        "from typing import Annotated\n"
        "from hone.graph.prebuilt import InjectedState, ToolRuntime\n"
        "from hone.tools import Tool, ToolContext\n"
        "def f(x: int, foo: Annotated[str, InjectedState('foo')], runtime: ToolRuntime) -> str:\n"
        "    '''F.'''\n"
        "    return foo + runtime.tool_call_id\n"
        "t = Tool.from_function(f)\n"
        "assert list(t.parameters['properties']) == ['x'], t.parameters\n"
        "ctx = ToolContext(call_id='c', tool_name='f', state={'foo': 'bar'})\n"
        "print(asyncio.run(t.ainvoke({'x': 1}, context=ctx)))\n"
        "print([c.__module__ for c in ToolRuntime.__mro__ if 'langchain' in c.__module__])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["barc", "[]"]
