"""``PIIMiddleware`` in event streaming: tokens, tool calls, tool output and state snapshots
are scrubbed, a match split across pieces is still caught, and LangChain's agent shows the
same text on the same program."""

import pytest

from hone.agents import create_agent
from hone.agents.middleware import PIIDetectionError, PIIMiddleware
from hone.agents.middleware._pii_stream import PIIStreamTransformer
from hone.agents.middleware._redaction import RedactionRule
from hone.graph.prebuilt import ToolRuntime
from hone.messages import AssistantMessage, ToolCall
from hone.models import ScriptedModel
from hone.tools import tool

EMAIL = "john.doe@example.com"


@tool
def lookup(name: str, runtime: ToolRuntime) -> str:
    """Find a person's address."""
    for piece in ("write to ", EMAIL[:7], EMAIL[7:], " today"):
        runtime.emit_output_delta(piece)
    return f"write to {EMAIL} today"


def _agent(strategy: str = "redact", chunk_size: int = 3) -> object:
    first = AssistantMessage(
        content=f"I will look up {EMAIL} for you",
        tool_calls=[ToolCall(id="c1", name="lookup", arguments={"name": EMAIL})],
    )
    model = ScriptedModel([first, f"Done: mail {EMAIL}."], chunk_size=chunk_size)
    pii = PIIMiddleware(
        "email", strategy=strategy, apply_to_output=True, apply_to_tool_results=True
    )  # type: ignore[arg-type]
    return create_agent(model, tools=[lookup], middleware=[pii])


def test_nothing_streamed_shows_the_address() -> None:
    run = _agent().stream_events({"messages": [("user", "find john")]}, version="v3")  # type: ignore[attr-defined]
    texts, deltas, outputs, inputs = [], [], [], []
    for name, item in run.interleave("messages", "tool_calls"):
        if name == "messages":
            texts.append("".join(item.text))
            inputs.extend(call["args"] for call in item.output.tool_calls)
        else:
            deltas.append("".join(item.output_deltas))
            outputs.append(item.output)
    final = run.output
    streamed = " ".join([*texts, *deltas, *map(str, outputs), *map(str, inputs)])
    assert EMAIL not in streamed and "john.doe" not in streamed and "example.com" not in streamed
    assert texts == ["I will look up [REDACTED_EMAIL] for you", "Done: mail [REDACTED_EMAIL]."]
    assert deltas == ["write to [REDACTED_EMAIL] today"]
    assert inputs == [{"name": "[REDACTED_EMAIL]"}]
    # The state keeps what the hooks leave there; the stream's snapshots are scrubbed copies.
    assert "[REDACTED_EMAIL]" in final["messages"][-1].content


def test_the_event_log_is_scrubbed_too() -> None:
    run = _agent(chunk_size=1).stream_events({"messages": [("user", "hi")]}, version="v3")  # type: ignore[attr-defined]
    assert EMAIL not in repr(list(run))


def test_block_fails_the_run() -> None:
    run = _agent(strategy="block").stream_events({"messages": [("user", "hi")]}, version="v3")  # type: ignore[attr-defined]
    with pytest.raises(PIIDetectionError):
        list(run.messages)


def test_a_match_across_pieces_is_never_split() -> None:
    # The cut falls inside a complete match: it moves to the match's start.
    transformer = PIIStreamTransformer(rule=RedactionRule("email").resolve(), lookback=10)
    pieces = ["xx " + EMAIL, " and some text after it"]
    out = [transformer._release(("r", 0), p) for p in pieces]
    assert out[0] == "xx "
    released, rest = transformer._flush(("r", 0))
    assert "".join(out) + rest == "xx [REDACTED_EMAIL] and some text after it"
    assert released == "".join(out)
    # A match that arrives in pieces shorter than the lookback is caught whole.
    transformer = PIIStreamTransformer(rule=RedactionRule("email").resolve())
    out = [transformer._release(("r", 1), c) for c in f"mail {EMAIL} now"]
    assert "".join(out) + transformer._flush(("r", 1))[1] == "mail [REDACTED_EMAIL] now"


def test_langchain_agent_streams_the_same_text() -> None:
    lc_models = pytest.importorskip("langchain_core.language_models.fake_chat_models")
    lc_messages = pytest.importorskip("langchain_core.messages")
    lc_agents = pytest.importorskip("langchain.agents")
    lc_middleware = pytest.importorskip("langchain.agents.middleware")

    def texts(create: object, middleware: object) -> list[str]:
        model = lc_models.GenericFakeChatModel(
            messages=iter([lc_messages.AIMessage(f"mail {EMAIL} or {EMAIL} now")])
        )
        agent = create(model, tools=[], middleware=[middleware("email", apply_to_output=True)])  # type: ignore[operator]
        run = agent.stream_events({"messages": [lc_messages.HumanMessage("hi")]}, version="v3")
        return ["".join(m.text) for m in run.messages]

    ours = texts(create_agent, PIIMiddleware)
    assert ours == texts(lc_agents.create_agent, lc_middleware.PIIMiddleware)
    assert ours == ["mail [REDACTED_EMAIL] or [REDACTED_EMAIL] now"]


def test_tool_call_argument_snapshots_are_held_back_and_redacted() -> None:
    """Older LangChain models send a tool call's arguments as growing snapshots
    (``block-delta``); what each adds is held back like a text piece."""
    from langchain_core.language_models.chat_model_stream import ChatModelStream

    transformer = PIIStreamTransformer(rule=RedactionRule("email").resolve())
    stream = ChatModelStream(message_id="m")
    args = '{"to": "' + EMAIL + '"}'
    events = [
        {"event": "message-start", "role": "ai", "id": "m"},
        {
            "event": "content-block-start",
            "index": 0,
            "content": {"type": "tool_call_chunk", "id": "t", "name": "send", "args": ""},
        },
        *(
            {
                "event": "content-block-delta",
                "index": 0,
                "delta": {
                    "type": "block-delta",
                    "fields": {
                        "type": "tool_call_chunk",
                        "id": "t",
                        "name": "send",
                        "args": args[:n],
                    },
                },
            }
            for n in (5, 15, len(args))
        ),
        {
            "event": "content-block-finish",
            "index": 0,
            "content": {"type": "tool_call", "id": "t", "name": "send", "args": {"to": EMAIL}},
        },
        {"event": "message-finish"},
    ]
    shown = []
    for event in events:
        transformer.process(
            {
                "type": "event",
                "method": "messages",
                "params": {"namespace": [], "timestamp": 0, "data": (event, {"run_id": "r"})},
            }
        )
        if event["event"] == "content-block-delta":
            shown.append(event["delta"]["fields"]["args"])  # type: ignore[index]
        stream.dispatch(event)
    assert all(EMAIL not in s and "john" not in s for s in shown)
    assert stream.output.tool_calls[0]["args"] == {"to": "[REDACTED_EMAIL]"}
