"""Event streaming (``stream_events(version="v3")``): an agent's run read as projections.

A chat UI shows the agent's reply token by token, each tool call with the output it streams,
and a nested research agent's answer, from one run, with no callbacks and no parsing of
stream chunks. The research agent scrubs e-mail addresses from its answers. The models are
hone's scripted models, so the example runs offline; LangChain chat models stream the same
way. Projections are read lazily: a handle's own projections (a tool call's output pieces, a
subagent's values) are read when the handle arrives, before the run moves on.

    python examples/langgraph/event_streaming.py
"""

from __future__ import annotations

import asyncio

from hone.agents import create_agent
from hone.agents.middleware import PIIMiddleware
from hone.graph.prebuilt import ToolRuntime
from hone.messages import AssistantMessage, ToolCall
from hone.models import ScriptedModel
from hone.tools import tool

researcher = create_agent(
    ScriptedModel(
        ["Ada Lovelace wrote the first program; reach the archive at ada@example.org."],
        when_exhausted="cycle",
    ),
    middleware=[PIIMiddleware("email", apply_to_output=True)],
    name="researcher",
)


@tool
def research(question: str, runtime: ToolRuntime) -> str:
    """Ask the research agent a question."""
    runtime.emit_output_delta("asking the researcher... ")
    answer = researcher.invoke({"messages": [("user", question)]})["messages"][-1].content
    runtime.emit_output_delta("done")
    return str(answer)


def assistant() -> object:
    ask = AssistantMessage(
        content="Let me check.",
        tool_calls=[
            ToolCall(id="call-1", name="research", arguments={"question": "first program?"})
        ],
    )
    model = ScriptedModel([ask, "Ada Lovelace wrote the first program."], chunk_size=5)
    return create_agent(model, tools=[research], name="assistant")


def main() -> None:
    run = assistant().stream_events(  # type: ignore[attr-defined]
        {"messages": [("user", "Who wrote the first program?")]}, version="v3"
    )
    calls = []
    for name, item in run.interleave("messages", "tool_calls", "subagents"):
        if name == "messages":
            print("assistant:", "|".join(item.text))
        elif name == "tool_calls":
            print(f"tool {item.tool_name} {item.input}")
            calls.append(item)
        else:
            replies = [v["messages"][-1].content for v in item.values]
            print(f"subagent {item.name} (started by {item.cause['tool_call_id']}): {replies[-1]}")
    for call in calls:
        print(f"tool {call.tool_name} returned: {call.output}")
    print("final:", run.output["messages"][-1].content)


async def amain() -> None:
    run = await assistant().astream_events(  # type: ignore[attr-defined]
        {"messages": [("user", "Who wrote the first program?")]}, version="v3"
    )
    async for message in run.messages:
        print("async tokens:", [token async for token in message.text])


if __name__ == "__main__":
    main()
    asyncio.run(amain())
