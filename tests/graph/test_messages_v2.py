"""``messages`` mode with content-block events (the config flag ``stream_events(version="v3")``
sets), and the metadata of ``tasks`` payloads: the same programs run on LangGraph and on hone
stream the same events."""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

import pytest
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, HumanMessage, ToolMessage

import hone.graph as hg
from hone.graph._constants import CONFIG_KEY_STREAM_MESSAGES_V2
from hone.graph.prebuilt import create_react_agent
from hone.messages import AssistantMessage
from hone.messages import ToolMessage as HoneToolMessage
from hone.models import ScriptedModel

lg_graph = pytest.importorskip("langgraph.graph")
lg_types = pytest.importorskip("langgraph.types")
pytest.importorskip("langchain_core.tracers._streaming", exc_type=ImportError)
if not hasattr(
    __import__("langchain_core.tracers._streaming", fromlist=["x"]), "_V2StreamingCallbackHandler"
):
    pytest.skip("langchain-core without the v2 streaming protocol", allow_module_level=True)

V2: dict[str, Any] = {"configurable": {CONFIG_KEY_STREAM_MESSAGES_V2: True}}
INPUT = {"messages": [HumanMessage("hi", id="h")]}


def test_the_flag_is_langgraphs_config_key() -> None:
    assert CONFIG_KEY_STREAM_MESSAGES_V2 == "__pregel_stream_messages_v2"


def _shape(ns: tuple[str, ...], data: tuple[Any, Any]) -> tuple[Any, ...]:
    """One ``messages`` part without ids: namespace (task ids dropped), event kind or message
    class, its text, the node, and whether the metadata names the model run."""
    payload, meta = data
    names = tuple(segment.split(":")[0] for segment in ns)
    if isinstance(payload, dict):
        text = (payload.get("delta") or payload.get("content") or {}).get("text")
        return (names, payload["event"], text, meta["langgraph_node"], "run_id" in meta)
    return (
        names,
        type(payload).__name__,
        payload.content,
        meta["langgraph_node"],
        "run_id" in meta,
    )


def _check_run_ids(parts: list[Any]) -> None:
    """Each reply's events carry its model run's id, which its ``message-start`` id names."""
    current: str | None = None
    for part in parts:
        payload, meta = part["data"]
        if not isinstance(payload, dict):
            assert "run_id" not in meta
            continue
        if payload["event"] == "message-start":
            current = meta["run_id"]
            # LangChain names a reply after its run; a hone model's run is named after its reply.
            assert payload["id"] in (f"lc_run--{UUID(current)}", current)
        assert meta["run_id"] == current
        assert meta["ls_integration"] and meta["langgraph_step"] >= 1


def _stream(app: Any, config: Any, **kwargs: Any) -> list[Any]:
    async def collect() -> list[Any]:
        return [p async for p in app.astream(INPUT, config, version="v2", **kwargs)]

    parts = asyncio.run(collect())
    _check_run_ids([p for p in parts if p["type"] == "messages"])
    return parts


def _shapes(parts: list[Any]) -> list[tuple[Any, ...]]:
    return [
        _shape(p["ns"], p["data"]) if p["type"] == "messages" else (p["type"], list(p["data"]))
        for p in parts
    ]


def _both(program: Any, config: Any, **kwargs: Any) -> list[tuple[Any, ...]]:
    """The parts' shapes on LangGraph and on hone, which must be equal."""
    seen = [_shapes(_stream(program(mod), config, **kwargs)) for mod in (lg_graph, hg)]
    assert seen[1] == seen[0]
    return seen[1]


def _reply(text: str) -> GenericFakeChatModel:
    return GenericFakeChatModel(messages=iter([AIMessage(text)]))


def _model_nodes(mod: Any) -> Any:
    """A sync node that invokes a chat model, an async one, and one that calls ``stream()``."""
    sync_llm, async_llm, stream_llm = _reply("hello world"), _reply("async one"), _reply("a b")

    def call(state: Any) -> dict[str, Any]:
        return {"messages": [sync_llm.invoke(state["messages"])]}

    async def acall(state: Any) -> dict[str, Any]:
        return {"messages": [await async_llm.ainvoke(state["messages"])]}

    def streams(state: Any) -> dict[str, Any]:
        out: Any = None
        for chunk in stream_llm.stream(state["messages"]):
            out = chunk if out is None else out + chunk
        return {"messages": [out]}

    g = mod.StateGraph(mod.MessagesState)
    g.add_node("call", call)
    g.add_node("acall", acall)
    g.add_node("streams", streams)
    g.add_edge(mod.START, "call")
    g.add_edge("call", "acall")
    g.add_edge("acall", "streams")
    return g.compile()


def _events(node: str, *deltas: str) -> list[tuple[Any, ...]]:
    text = "".join(deltas)
    return [
        ((), "message-start", None, node, True),
        ((), "content-block-start", "", node, True),
        *[((), "content-block-delta", d, node, True) for d in deltas],
        ((), "content-block-finish", text, node, True),
        ((), "message-finish", None, node, True),
    ]


def test_model_calls_stream_content_block_events() -> None:
    got = _both(_model_nodes, V2, stream_mode="messages")
    assert got == [
        *_events("call", "hello", " ", "world"),
        *_events("acall", "async", " ", "one"),
        # stream() fires v1 tokens only: their message comes whole, when the model ends.
        ((), "AIMessageChunk", "a b", "streams", False),
    ]


def test_without_the_flag_messages_mode_streams_chunks() -> None:
    got = _both(_model_nodes, None, stream_mode="messages")
    assert [kind for _, kind, *_ in got] == ["AIMessageChunk"] * 9
    texts = ["hello", " ", "world", "async", " ", "one", "a", " ", "b"]
    assert [text for _, _, text, *_ in got] == texts


def _returns_messages(mod: Any) -> Any:
    """A node returning an assistant message with a tool call, and the tool's answer."""

    def answer(state: Any) -> dict[str, Any]:
        call = {"name": "f", "args": {}, "id": "c1"}
        return {
            "messages": [
                AIMessage("calling", id="a1", tool_calls=[call]),
                ToolMessage("result", tool_call_id="c1", id="t1"),
            ]
        }

    g = mod.StateGraph(mod.MessagesState)
    g.add_node("answer", answer)
    g.add_edge(mod.START, "answer")
    return g.compile()


def test_returned_tool_messages_are_left_out() -> None:
    got = _both(_returns_messages, V2, stream_mode="messages")
    assert got == [((), "AIMessage", "calling", "answer", False)]
    # Streams without the flag keep them.
    got = _both(_returns_messages, None, stream_mode="messages")
    assert [kind for _, kind, *_ in got] == ["AIMessage", "ToolMessage"]


def test_returned_hone_tool_messages_are_left_out() -> None:
    def answer(state: Any) -> dict[str, Any]:
        return {
            "messages": [
                AssistantMessage(content="calling", id="a1"),
                HoneToolMessage(content="result", tool_call_id="c1", id="t1"),
            ]
        }

    app = hg.StateGraph(hg.MessagesState).add_node("answer", answer)
    app = app.add_edge(hg.START, "answer").compile()
    assert _shapes(_stream(app, V2, stream_mode="messages")) == [
        ((), "AssistantMessage", "calling", "answer", False)
    ]
    assert len(_stream(app, None, stream_mode="messages")) == 2


def _subgraph(mod: Any) -> Any:
    llm = _reply("x y")

    def model(state: Any) -> dict[str, Any]:
        return {"messages": [llm.invoke(state["messages"]), ToolMessage("t", tool_call_id="1")]}

    inner = mod.StateGraph(mod.MessagesState)
    inner.add_node("model", model)
    inner.add_edge(mod.START, "model")
    g = mod.StateGraph(mod.MessagesState)
    g.add_node("sub", inner.compile())
    g.add_edge(mod.START, "sub")
    return g.compile()


def test_subgraph_models_stream_events_with_subgraphs() -> None:
    got = _both(_subgraph, V2, stream_mode=["messages", "updates"], subgraphs=True)
    events = [(("sub",), *rest) for _, *rest in _events("model", "x", " ", "y")]
    assert got == [*events, ("updates", ["model"]), ("updates", ["sub"])]


def test_without_subgraphs_the_subgraph_node_streams_what_it_returns() -> None:
    # The model's events stay out; the parent node's output brings its reply whole (with
    # the content blocks a v2 call returns), but not its tool message.
    got = _both(_subgraph, V2, stream_mode="messages")
    assert got == [((), "AIMessage", [{"type": "text", "text": "x y", "index": 0}], "sub", False)]
    got = _both(_subgraph, None, stream_mode="messages")
    assert got == [((), "AIMessage", "x y", "sub", False), ((), "ToolMessage", "t", "sub", False)]


def test_langchain_callbacks_and_the_v2_stream_together() -> None:
    class Tokens(BaseCallbackHandler):
        def __init__(self) -> None:
            self.tokens: list[str] = []

        def on_llm_new_token(self, token: str, **kwargs: Any) -> None:
            self.tokens.append(token)

    heard = []
    for mod in (lg_graph, hg):
        handler = Tokens()
        config = {**V2, "callbacks": [handler]}
        parts = _stream(_model_nodes(mod), config, stream_mode="messages")
        assert _shapes(parts)[:7] == _events("call", "hello", " ", "world")
        heard.append(handler.tokens)
    assert heard[1] == heard[0]


def test_hone_models_stream_content_blocks() -> None:
    # A hone model's deltas become content-block events (one run id for the call), and the
    # reply the node returns is not replayed whole.
    agent = create_react_agent(
        ScriptedModel(["The fox."], chunk_size=3, when_exhausted="cycle"), []
    )
    shapes = _shapes(_stream(agent, V2, stream_mode="messages"))
    kinds = [kind for _, kind, *_ in shapes]
    assert kinds[0] == "message-start" and kinds[-1] == "message-finish"
    assert [text for _, kind, text, *_ in shapes if kind == "content-block-delta"] == [
        "The",
        " fo",
        "x.",
    ]
    assert {(ns, node, has_run_id) for ns, _, _, node, has_run_id in shapes} == {
        ((), "agent", True)
    }
    chunks = _stream(agent, None, stream_mode="messages")
    assert len(chunks) > 1 and all(not isinstance(c["data"][0], dict) for c in chunks)


# ----------------------------------------------------------------------------- tasks metadata


def _tasks_program(mod: Any, types: Any) -> Any:
    """A named subgraph as a node and called from a node, and a Send."""

    def reply(state: Any) -> dict[str, Any]:
        return {"messages": [("ai", "x")]}

    inner = mod.StateGraph(mod.MessagesState)
    inner.add_node("inner", reply, metadata={"node_md": 1})
    inner.add_edge(mod.START, "inner")
    sub = inner.compile().with_config(metadata={"lc_agent_name": "sub"}, tags=["subtag"])

    def calls_sub(state: Any) -> Any:
        return sub.invoke(state, {"tags": ["explicit"], "metadata": {"e": 1}})

    g = mod.StateGraph(mod.MessagesState)
    g.add_node("reply", reply, metadata={"nm": 2})
    g.add_node("calls_sub", calls_sub)
    g.add_node("sub", sub)
    g.add_edge(mod.START, "calls_sub")
    g.add_edge("calls_sub", "sub")
    g.add_conditional_edges("sub", lambda state: [types.Send("reply", state)])
    return g.compile()


def _task_starts(app: Any, config: Any) -> list[tuple[Any, ...]]:
    return [
        (tuple(s.split(":")[0] for s in ns), payload["name"], payload.get("metadata"))
        for ns, payload in app.stream(INPUT, config, stream_mode="tasks", subgraphs=True)
        if "result" not in payload
    ]


@pytest.mark.parametrize(
    ("graph_config", "config"),
    [
        ({}, None),
        ({"metadata": {"lc_agent_name": "top"}}, None),
        (
            {"metadata": {"lc_agent_name": "top"}, "tags": ["t1", "seq:step:1", "langsmith:x"]},
            {"metadata": {"user": "u"}, "tags": ["t2"]},
        ),
    ],
)
def test_task_payloads_carry_langgraphs_metadata(graph_config: Any, config: Any) -> None:
    seen = []
    for mod, types in ((lg_graph, lg_types), (hg, hg)):
        app = _tasks_program(mod, types)
        if graph_config:
            app = app.with_config(**graph_config)
        seen.append(_task_starts(app, config))
    assert seen[1] == seen[0]
    names = [name for _, name, _ in seen[1]]
    assert names == ["calls_sub", "inner", "sub", "inner", "reply"]


def test_task_metadata_leaves_out_framework_keys() -> None:
    app = _tasks_program(hg, hg).with_config(metadata={"lc_agent_name": "top"}, tags=["t"])
    starts = _task_starts(app, {"metadata": {"user": "u"}})
    # Called from a node, the subgraph's own config wins over the node's (as on LangGraph);
    # the node's tags come once.
    tags = ["t", "subtag", "explicit"]
    assert starts[1] == (
        ("calls_sub",),
        "inner",
        {"lc_agent_name": "sub", "user": "u", "e": 1, "node_md": 1, "tags": tags},
    )
    assert all(not any(k.startswith("langgraph_") for k in md) for _, _, md in starts)
