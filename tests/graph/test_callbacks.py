"""LangChain callbacks and ``astream_events`` on hone graphs.

The side-by-side tests run one program on LangGraph and on hone and compare what LangChain's
callback handlers and event stream see: the run tree (names, tags, nesting), the inputs and
outputs of each run, the events of LangChain models, tools and custom events inside nodes.
"""

import asyncio
import operator
import subprocess
import sys
from typing import Annotated, Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler, adispatch_custom_event
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage
from langchain_core.runnables import RunnableLambda, RunnablePassthrough
from langchain_core.tools import tool as lc_tool
from typing_extensions import TypedDict

import hone.graph as hg
from hone.checkpoint import InMemorySaver
from hone.graph.prebuilt import ToolNode, create_react_agent, tools_condition
from hone.messages import AssistantMessage, ToolCall
from hone.models import ScriptedModel

lg_graph = pytest.importorskip("langgraph.graph")
lg_types = pytest.importorskip("langgraph.types")
lg_prebuilt = pytest.importorskip("langgraph.prebuilt")
lg_memory = pytest.importorskip("langgraph.checkpoint.memory")


class Recorder(BaseCallbackHandler):
    """Records chain, model and tool runs as (kind, name, tags, depth, payload)."""

    def __init__(self) -> None:
        self.log: list[tuple[Any, ...]] = []
        self.parents: dict[UUID, UUID | None] = {}

    def _depth(self, run_id: UUID) -> int:
        depth, parent = 0, self.parents.get(run_id)
        while parent is not None:
            depth, parent = depth + 1, self.parents.get(parent)
        return depth

    def _start(self, kind: str, run_id: UUID, parent: UUID | None, **kw: Any) -> None:
        self.parents[run_id] = parent
        self.log.append((kind, kw.get("name"), kw.get("tags"), self._depth(run_id)))

    def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: UUID, **kw: Any) -> None:
        self._start("chain_start", run_id, kw.pop("parent_run_id", None), **kw)

    def on_chain_end(self, outputs: Any, *, run_id: UUID, **kw: Any) -> None:
        self.log.append(("chain_end", outputs, self._depth(run_id)))

    def on_chain_error(self, error: BaseException, *, run_id: UUID, **kw: Any) -> None:
        self.log.append(("chain_error", type(error).__name__, self._depth(run_id)))


def simple_program(mod: Any, types: Any) -> Any:
    class S(TypedDict):
        v: Annotated[list[str], operator.add]

    calls = {"n": 0}

    def a(state: S) -> dict[str, Any]:
        return {"v": ["a"]}

    def flaky(state: S) -> dict[str, Any]:
        calls["n"] += 1
        if calls["n"] == 1:
            raise ValueError("once")
        return {"v": ["f"]}

    def route(state: S) -> str:
        return "flaky" if len(state["v"]) < 2 else "__end__"

    g = mod.StateGraph(S)
    g.add_node("a", a)
    g.add_node(
        "flaky", flaky, retry_policy=types.RetryPolicy(initial_interval=0.01, retry_on=ValueError)
    )
    g.add_edge(mod.START, "a")
    g.add_conditional_edges("a", route)
    g.add_edge("flaky", mod.END)
    return g.compile()


def test_a_handler_sees_langgraphs_run_tree() -> None:
    seen = []
    for mod, types in ((lg_graph, lg_types), (hg, hg)):
        recorder = Recorder()
        out = simple_program(mod, types).invoke(
            {"v": []}, {"callbacks": [recorder], "run_id": UUID(int=7), "run_name": "mine"}
        )
        assert out == {"v": ["a", "f"]}
        seen.append(recorder.log)
    assert seen[1] == seen[0]
    assert seen[1][0] == ("chain_start", "mine", [], 0)
    assert ("chain_start", "route", ["seq:step:3"], 2) in seen[1]
    assert ("chain_error", "ValueError", 1) in seen[1]  # the failed attempt is a run of its own
    assert seen[1][-1] == ("chain_end", {"v": ["a", "f"]}, 0)


def test_the_graph_run_takes_the_configs_run_id() -> None:
    ids: list[UUID] = []

    class Ids(BaseCallbackHandler):
        def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: UUID, **kw: Any) -> None:
            ids.append(run_id)

    simple_program(hg, hg).invoke({"v": []}, {"callbacks": [Ids()], "run_id": UUID(int=7)})
    assert ids[0] == UUID(int=7)
    assert len(set(ids)) == len(ids)  # the nodes' runs do not reuse it


def test_a_failing_run_reports_the_error_on_node_and_graph() -> None:
    class S(TypedDict):
        v: int

    def boom(state: S) -> dict[str, Any]:
        raise KeyError("k")

    seen = []
    for mod in (lg_graph, hg):
        g = mod.StateGraph(S)
        g.add_node("boom", boom)
        g.add_edge(mod.START, "boom")
        recorder = Recorder()
        with pytest.raises(KeyError):
            g.compile().invoke({"v": 1}, {"callbacks": [recorder]})
        seen.append(recorder.log)
    assert seen[1] == seen[0]
    assert seen[1][-2:] == [("chain_error", "KeyError", 1), ("chain_error", "KeyError", 0)]


def test_a_stream_reports_as_invoke_does() -> None:
    recorder = Recorder()
    chunks = list(simple_program(hg, hg).stream({"v": []}, {"callbacks": [recorder]}))
    assert chunks == [{"a": {"v": ["a"]}}, {"flaky": {"v": ["f"]}}]
    assert recorder.log[-1] == ("chain_end", {"v": ["a", "f"]}, 0)


def test_no_callbacks_no_langchain() -> None:
    code = (
        "import operator, sys\n"
        "from typing import Annotated\n"
        "from typing_extensions import TypedDict\n"
        "from hone.graph import StateGraph, START\n"
        "class S(TypedDict):\n"
        "    v: Annotated[list, operator.add]\n"
        "g = StateGraph(S)\n"
        "g.add_node('a', lambda s: {'v': [1]})\n"
        "g.add_edge(START, 'a')\n"
        "assert g.compile().invoke({'v': []}, {'callbacks': None}) == {'v': [1]}\n"
        "assert 'langchain_core' not in sys.modules\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


# ----------------------------------------------------------------------------- events


def _events_program(mod: Any, prebuilt: Any) -> Any:
    """A model node (LangChain fake chat model, a custom event), a tool node with a
    LangChain tool, a router, and a subgraph."""

    @lc_tool
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    llm = GenericFakeChatModel(messages=iter([AIMessage(content="hi there")]))

    class Inner(TypedDict):
        messages: Annotated[list[Any], operator.add]

    inner = mod.StateGraph(Inner)
    inner.add_node("inner_node", lambda s: {"messages": []})
    inner.add_edge(mod.START, "inner_node")

    async def agent(state: Any) -> dict[str, Any]:
        if len(state["messages"]) > 2:
            reply = await llm.ainvoke(state["messages"])
            await adispatch_custom_event("progress", {"step": "answered"})
            return {"messages": [reply]}
        call = {"name": "add", "args": {"a": 1, "b": 2}, "id": "c1"}
        return {"messages": [AIMessage("", tool_calls=[call])]}

    g = mod.StateGraph(mod.MessagesState)
    g.add_node("agent", agent)
    g.add_node("tools", prebuilt.ToolNode([add]))
    g.add_node("sub", inner.compile())
    g.add_edge(mod.START, "agent")
    g.add_conditional_edges("agent", prebuilt.tools_condition, {"tools": "tools", "__end__": "sub"})
    g.add_edge("tools", "agent")
    return g.compile()


def _shape(event: dict[str, Any]) -> tuple[Any, ...]:
    data = event["data"]
    payload = data.get("chunk", data.get("output", data.get("input")))
    if isinstance(payload, dict) and "messages" in payload:
        messages = payload["messages"]
        if messages and isinstance(messages[0], list):  # a chat model's input
            messages = messages[0]
        payload = [getattr(m, "content", m) for m in messages]
    elif hasattr(payload, "content"):
        payload = payload.content
    elif not isinstance(payload, str | int | type(None)):
        payload = type(payload).__name__
    meta = {k: v for k, v in event["metadata"].items() if k.startswith("langgraph_")}
    meta.pop("langgraph_checkpoint_ns", None)  # task ids differ (hone derives them otherwise)
    return (
        event["event"],
        event["name"],
        tuple(event["tags"]),
        len(event["parent_ids"]),
        payload,
        meta,
    )


async def _events(app: Any, *args: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
    return [_shape(e) async for e in app.astream_events(*args, **kwargs)]


def test_astream_events_match_langgraphs() -> None:
    inp = {"messages": [HumanMessage("hi")]}
    theirs = asyncio.run(_events(_events_program(lg_graph, lg_prebuilt), inp, version="v2"))
    ours = asyncio.run(_events(_events_program(hg, hg.prebuilt), inp, version="v2"))
    assert ours == theirs
    kinds = {e[0] for e in ours}
    assert {"on_chat_model_stream", "on_tool_start", "on_tool_end", "on_custom_event"} <= kinds
    assert ("on_chain_start", "LangGraph", ("seq:step:1",), 2) in [e[:4] for e in ours]  # sub


def test_astream_events_filters_and_stream_kwargs() -> None:
    inp = {"messages": [HumanMessage("hi")]}
    for mod, prebuilt in ((lg_graph, lg_prebuilt), (hg, hg.prebuilt)):
        app = _events_program(mod, prebuilt)
        events = asyncio.run(
            _events(app, inp, version="v2", include_types=["chat_model"], stream_mode="values")
        )
        assert [e[0] for e in events] == [
            "on_chat_model_start",
            *["on_chat_model_stream"] * 3,
            "on_chat_model_end",
        ]


def test_astream_events_of_an_interrupted_run_match_langgraphs() -> None:
    def program(mod: Any, types: Any, saver: Any) -> Any:
        class S(TypedDict):
            x: int

        def ask(state: S) -> dict[str, Any]:
            return {"x": types.interrupt("how many?")}

        g = mod.StateGraph(S)
        g.add_node("ask", ask)
        g.add_edge(mod.START, "ask")
        return g.compile(checkpointer=saver)

    config = {"configurable": {"thread_id": "t"}}
    theirs = asyncio.run(
        _events(program(lg_graph, lg_types, lg_memory.InMemorySaver()), {"x": 1}, config)
    )
    ours = asyncio.run(_events(program(hg, hg, InMemorySaver()), {"x": 1}, config))
    assert [e[:4] for e in ours] == [e[:4] for e in theirs]
    assert ours[-1][:2] == ("on_chain_end", "LangGraph")  # the interrupt is in the stream before


def test_hone_model_and_tools_report_as_langchain_ones() -> None:
    def add(a: int, b: int) -> int:
        """Add two numbers."""
        return a + b

    call = ToolCall(id="c1", name="add", arguments={"a": 1, "b": 2})
    model = ScriptedModel([AssistantMessage(content="", tool_calls=[call]), "The sum is 3."])
    agent = create_react_agent(model, [add])
    events = asyncio.run(_events(agent, {"messages": [("user", "add 1 and 2")]}))
    names = [(e[0], e[1]) for e in events if not e[0].startswith("on_chain")]
    assert names[:2] == [("on_chat_model_start", "scripted"), ("on_chat_model_end", "scripted")]
    assert ("on_tool_start", "add") in names
    assert ("on_tool_end", "add") in names
    tokens = [e[4] for e in events if e[0] == "on_chat_model_stream"]
    assert "".join(tokens) == "The sum is 3."
    tool_end = next(e for e in events if e[0] == "on_tool_end")
    assert tool_end[4] == "3"
    assert tool_end[2] == ("seq:step:1",)


def test_a_failing_hone_tool_reports_its_error() -> None:
    errors: list[str] = []

    class Errors(BaseCallbackHandler):
        def on_tool_error(self, error: BaseException, **kw: Any) -> None:
            errors.append(str(error))

    def fail(a: int) -> int:
        """Fails."""
        raise ValueError(f"bad {a}")

    class S(TypedDict):
        messages: Annotated[list[Any], hg.add_messages]

    g = hg.StateGraph(S)
    g.add_node("tools", ToolNode([fail]))
    g.add_edge(hg.START, "tools")
    turn = AssistantMessage(
        content="", tool_calls=[ToolCall(id="c", name="fail", arguments={"a": 1})]
    )
    out = g.compile().invoke({"messages": [turn]}, {"callbacks": [Errors()]})
    assert out["messages"][-1].is_error  # still an answer the model reads
    assert errors == ["bad 1"]


def test_callbacks_and_messages_mode_send_each_token_once() -> None:
    def program(mod: Any) -> Any:
        llm = GenericFakeChatModel(messages=iter([AIMessage(content="a b")]))

        def call(state: Any) -> dict[str, Any]:
            return {"messages": [llm.invoke(state["messages"])]}

        inner = mod.StateGraph(mod.MessagesState)
        inner.add_node("call", call)
        inner.add_edge(mod.START, "call")
        g = mod.StateGraph(mod.MessagesState)
        g.add_node("sub", inner.compile())
        g.add_edge(mod.START, "sub")
        return g.compile()

    seen = []
    for mod in (lg_graph, hg):
        chunks = list(
            program(mod).stream(
                {"messages": [HumanMessage("hi")]},
                {"callbacks": [Recorder()]},
                stream_mode="messages",
                subgraphs=True,
            )
        )
        seen.append([(ns[0].split(":")[0], c[0].content) for ns, c in chunks])
    assert seen[1] == seen[0] == [("sub", "a"), ("sub", " "), ("sub", "b")]


# ----------------------------------------------------------------------------- LCEL


def test_a_graph_composes_with_runnables() -> None:
    app = simple_program(hg, hg)
    chain = app | RunnableLambda(lambda out: out)
    assert chain.invoke({"v": []}) == {"v": ["a", "f"]}
    first = RunnablePassthrough() | app.as_runnable()
    assert first.invoke({"v": []}) == {"v": ["a", "f"]}
    mapped = {"v": RunnableLambda(lambda q: [q])} | app
    assert mapped.invoke("q") == {"v": ["q", "a"]}  # two items: the router ends the run


def test_a_sequence_run_id_names_the_sequence_not_the_graph() -> None:
    """LangGraph's own check: in ``graph | RunnablePassthrough()`` the config's run id is
    the sequence's, which ends once with the graph's last chunk."""

    async def ends(runnable: Any) -> list[Any]:
        return [
            e["data"]["output"]
            async for e in runnable.astream_events({"v": []}, {"run_id": UUID(int=0)}, version="v2")
            if e["event"] == "on_chain_end" and e["run_id"] == str(UUID(int=0))
        ]

    for mod, types in ((lg_graph, lg_types), (hg, hg)):
        app = simple_program(mod, types)
        assert asyncio.run(ends(app)) == [{"v": ["a", "f"]}]
        assert asyncio.run(ends(app | RunnablePassthrough())) == [{"flaky": {"v": ["f"]}}]


def test_astream_events_raises_the_runs_error() -> None:
    class S(TypedDict):
        v: int

    def boom(state: S) -> dict[str, Any]:
        raise KeyError("k")

    g = hg.StateGraph(S)
    g.add_node("boom", boom)
    g.add_edge(hg.START, "boom")
    with pytest.raises(KeyError):
        asyncio.run(_events(g.compile(), {"v": 1}))


def test_tools_condition_is_a_router_run() -> None:
    class S(TypedDict):
        messages: Annotated[list[Any], hg.add_messages]

    g = hg.StateGraph(S)
    g.add_node("agent", lambda s: {"messages": [AIMessage("done")]})
    g.add_node("tools", lambda s: {})
    g.add_conditional_edges("agent", tools_condition)
    g.add_edge(hg.START, "agent")
    recorder = Recorder()
    g.compile().invoke({"messages": [HumanMessage("hi")]}, {"callbacks": [recorder]})
    assert ("chain_start", "tools_condition", ["seq:step:3"], 2) in recorder.log
    assert ("chain_end", "__end__", 2) in recorder.log


def test_sync_nodes_sends_and_functional_calls_match_langgraph() -> None:
    """A sync node calling a LangChain model, a router fanning out with ``Send``, and an
    entrypoint whose task calls nest under it (hone names an entrypoint's graph after its
    function, LangGraph calls every graph "LangGraph")."""

    def graph_program(mod: Any, types: Any) -> Any:
        llm = GenericFakeChatModel(messages=iter([AIMessage(content="x y")]))

        class S(TypedDict):
            v: Annotated[list[Any], operator.add]

        g = mod.StateGraph(S)
        g.add_node("model", lambda s: {"v": [llm.invoke("hello").content]})
        g.add_node("w", lambda s: {"v": [s["v"][0] * 10]})
        g.add_edge(mod.START, "model")
        g.add_conditional_edges("model", lambda s: [types.Send("w", {"v": [i]}) for i in (1, 2)])
        return g.compile()

    def functional_program(func: Any) -> Any:
        @func.task
        def double(x: int) -> int:
            return x * 2

        @func.entrypoint()
        def flow(x: int) -> int:
            return double(x).result() + double(x + 1).result()

        return flow

    lg_func = pytest.importorskip("langgraph.func")
    theirs = asyncio.run(_events(graph_program(lg_graph, lg_types), {"v": []}))
    ours = asyncio.run(_events(graph_program(hg, hg), {"v": []}))
    # The two ``w`` tasks run in parallel: their events interleave as they finish (in either
    # framework), so they are compared as a multiset and everything else in order.
    assert [e for e in ours if e[1] != "w"] == [e for e in theirs if e[1] != "w"]
    assert sorted(map(repr, (e for e in ours if e[1] == "w"))) == sorted(
        map(repr, (e for e in theirs if e[1] == "w"))
    )
    theirs = asyncio.run(_events(functional_program(lg_func), 1))
    ours = asyncio.run(_events(functional_program(hg), 1))
    named = [e if e[1] != "flow" or e[3] else (e[0], "LangGraph", *e[2:]) for e in ours]
    # LangGraph streams the root graph's chunk for the second task's write either before or
    # after the entrypoint's own chunk (about one run in sixty), so the root graph's chunks are
    # compared as a multiset and every other event in order.
    root_chunk = ("on_chain_stream", "LangGraph", ())
    assert [e for e in named if e[:3] != root_chunk] == [e for e in theirs if e[:3] != root_chunk]
    assert sorted(map(repr, (e for e in named if e[:3] == root_chunk))) == sorted(
        map(repr, (e for e in theirs if e[:3] == root_chunk))
    )
    assert named[-1] == theirs[-1] and named[-1][0] == "on_chain_end"
    assert (*ours[2][:4], None, {}) == ("on_chain_start", "double", ("seq:step:1",), 2, None, {})


def test_callbacks_bound_with_config_and_given_at_call_both_hear_the_run() -> None:
    bound, given = Recorder(), Recorder()
    app = simple_program(hg, hg).with_config({"callbacks": [bound]})
    app.invoke({"v": []}, {"callbacks": [given]})
    assert bound.log and bound.log == given.log

    async def events() -> list[Any]:
        return [e async for e in app.astream_events({"v": []}, version="v2")]

    later = Recorder()
    app = simple_program(hg, hg).with_config({"callbacks": [later]})
    assert asyncio.run(events())
    assert later.log[0] == ("chain_start", "LangGraph", [], 0)


def test_runs_are_marked_as_langgraph_runs() -> None:
    metadata: list[dict[str, Any]] = []

    class Meta(BaseCallbackHandler):
        def on_chain_start(self, serialized: Any, inputs: Any, **kw: Any) -> None:
            metadata.append(kw["metadata"])

    simple_program(hg, hg).invoke({"v": []}, {"callbacks": [Meta()], "metadata": {"user": "u"}})
    assert all(m["ls_integration"] == "langgraph" and m["user"] == "u" for m in metadata)
    assert metadata[1]["langgraph_node"] == "a"


def test_a_nodes_copy_is_another_node() -> None:
    app = simple_program(hg, hg)
    copy = app.nodes["a"].copy({})
    assert copy is not app.nodes["a"] and copy.name == "a"
    with pytest.raises(TypeError, match="nope"):
        app.nodes["a"].copy({"nope": 1})


LANGSMITH_PROGRAM = """
import http.server, operator, os, sys, threading
from typing import Annotated
from typing_extensions import TypedDict

bodies = []


class Collector(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        bodies.append(self.rfile.read(int(self.headers.get("content-length", 0))))
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b"{}")

    def do_GET(self):
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"batch_ingest_config": {}}')

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Collector)
threading.Thread(target=server.serve_forever, daemon=True).start()
os.environ.update(
    LANGSMITH_TRACING="true",
    LANGSMITH_ENDPOINT=f"http://127.0.0.1:{server.server_port}",
    LANGSMITH_API_KEY="test-key",
)
if sys.argv[1] == "langgraph":
    from langgraph.graph import START, StateGraph
else:
    from hone.graph import START, StateGraph


class S(TypedDict):
    v: Annotated[list, operator.add]


graph = StateGraph(S)
graph.add_node("alpha_node", lambda s: {"v": [1]})
graph.add_edge(START, "alpha_node")
assert graph.compile().invoke({"v": []}) == {"v": [1]}
from langchain_core.tracers.langchain import wait_for_all_tracers

wait_for_all_tracers()
sent = b"".join(bodies)
print(b"alpha_node" in sent, b'"LangGraph"' in sent)
"""


@pytest.mark.parametrize("target", ["langgraph", "hone"])
def test_langsmith_environment_tracing_traces_hone_runs(target: str) -> None:
    """``LANGSMITH_TRACING=true`` alone (no callbacks in the config) sends a graph's run tree
    to LangSmith, as it does for LangGraph (here: to a local collector)."""
    done = subprocess.run(
        [sys.executable, "-c", LANGSMITH_PROGRAM, target],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert done.stdout.split() == ["True", "True"]


# ----------------------------------------------------------------------------- lifecycle


def test_graph_handlers_hear_interrupts_and_resumes_as_on_langgraph() -> None:
    lg_callbacks = pytest.importorskip("langgraph.callbacks")
    from hone.graph import callbacks as hone_callbacks

    def program(mod: Any, types: Any, saver: Any) -> Any:
        class S(TypedDict):
            answer: str | None

        def ask(state: S) -> dict[str, Any]:
            return {"answer": types.interrupt("Provide a value")}

        g = mod.StateGraph(S)
        g.add_node("ask", ask)
        g.add_node("after", lambda s: {})
        g.add_edge(mod.START, "ask")
        g.add_edge("ask", "after")
        return g.compile(checkpointer=saver, interrupt_before=["after"])

    seen = []
    for mod, types, saver, cbs in (
        (lg_graph, lg_types, lg_memory.InMemorySaver(), lg_callbacks),
        (hg, hg, InMemorySaver(), hone_callbacks),
    ):

        class Heard(cbs.GraphCallbackHandler):  # type: ignore[misc, name-defined]
            def __init__(self) -> None:
                self.log: list[tuple[Any, ...]] = []

            def on_interrupt(self, event: Any) -> None:
                values = tuple(i.value for i in event.interrupts)
                self.log.append(("interrupt", event.status, event.checkpoint_ns, values))

            async def on_resume(self, event: Any) -> None:
                self.log.append(("resume", event.status, event.checkpoint_ns))

        heard = Heard()
        app = program(mod, types, saver)
        config = {"configurable": {"thread_id": "t"}, "callbacks": [heard, Recorder()]}
        app.invoke({"answer": None}, config)
        app.invoke(types.Command(resume="42"), config)  # then stops before "after"
        app.invoke(None, config)
        seen.append(heard.log)
    assert seen[1] == seen[0]
    assert seen[1][0] == ("interrupt", seen[1][0][1], (), ("Provide a value",))
    assert [entry[0] for entry in seen[1]] == ["interrupt", "resume", "interrupt", "resume"]


def test_a_graph_handler_that_raises_only_stops_the_run_when_it_asks_to() -> None:
    from hone.graph.callbacks import GraphCallbackHandler

    class Raising(GraphCallbackHandler):
        def __init__(self, raise_error: bool) -> None:
            self.raise_error = raise_error

        def on_interrupt(self, event: Any) -> None:
            raise ValueError("boom")

    class S(TypedDict):
        answer: str | None

    g = hg.StateGraph(S)
    g.add_node("ask", lambda s: {"answer": hg.interrupt("?")})
    g.add_edge(hg.START, "ask")
    app = g.compile(checkpointer=InMemorySaver())
    out = app.invoke(
        {"answer": None}, {"configurable": {"thread_id": "a"}, "callbacks": [Raising(False)]}
    )
    assert "__interrupt__" in out
    with pytest.raises(ValueError, match="boom"):
        app.invoke(
            {"answer": None}, {"configurable": {"thread_id": "b"}, "callbacks": [Raising(True)]}
        )


def test_a_resumed_subgraph_reports_its_own_resume_as_on_langgraph() -> None:
    lg_callbacks = pytest.importorskip("langgraph.callbacks")
    from hone.graph import callbacks as hone_callbacks

    seen = []
    for mod, types, saver, cbs in (
        (lg_graph, lg_types, lg_memory.InMemorySaver(), lg_callbacks),
        (hg, hg, InMemorySaver(), hone_callbacks),
    ):

        class S(TypedDict):
            a: str

        class Heard(cbs.GraphCallbackHandler):  # type: ignore[misc, name-defined]
            def __init__(self) -> None:
                self.log: list[tuple[str, int]] = []

            def on_interrupt(self, event: Any) -> None:
                self.log.append(("interrupt", len(event.checkpoint_ns)))

            def on_resume(self, event: Any) -> None:
                self.log.append(("resume", len(event.checkpoint_ns)))

        inner = mod.StateGraph(S)
        inner.add_node("ask", lambda s, ask=types.interrupt: {"a": ask("q")})
        inner.add_edge(mod.START, "ask")
        outer = mod.StateGraph(S)
        outer.add_node("sub", inner.compile())
        outer.add_edge(mod.START, "sub")
        app = outer.compile(checkpointer=saver)
        heard = Heard()
        config = {"configurable": {"thread_id": "t"}, "callbacks": [heard]}
        app.invoke({"a": ""}, config)
        assert app.invoke(types.Command(resume="x"), config) == {"a": "x"}
        seen.append(heard.log)
    assert seen[1] == seen[0] == [("interrupt", 0), ("resume", 0), ("resume", 1)]
