"""LangChain's side of a graph on hone: a tracer in the config, ``astream_events`` for a UI,
and the graph inside an LCEL chain.

A chat UI streams an agent's tokens and tool calls from ``astream_events`` (v2) and keeps a
trace of each run with a callback handler (a small one here that prints the run tree; a
LangSmith or Langfuse handler is used the same way). The agent's model is hone's scripted
model, so the example runs offline; it reports its calls and tokens to the callbacks as a
LangChain chat model does, and any chat model (hone's or LangChain's) works the same.

    python examples/langgraph/events_and_tracing.py
"""

from __future__ import annotations

import asyncio
from typing import Any
from uuid import UUID

from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.runnables import RunnableLambda
from langchain_core.tools import tool

from hone.graph.prebuilt import create_react_agent
from hone.messages import AssistantMessage, ToolCall
from hone.models import ScriptedModel


@tool
def get_weather(city: str) -> str:
    """The weather in a city."""
    return f"Sunny and 21°C in {city}."


def agent() -> Any:
    call = ToolCall(id="call_1", name="get_weather", arguments={"city": "Lisbon"})
    model = ScriptedModel(
        [AssistantMessage(content="", tool_calls=[call]), "It is sunny in Lisbon."],
        name="weather-model",
    )
    return create_react_agent(model, [get_weather])


class RunTree(BaseCallbackHandler):
    """Prints each chain and tool run as it starts, indented under its parent."""

    def __init__(self) -> None:
        self.depth: dict[UUID, int] = {}

    def _start(self, name: str, run_id: UUID, parent: UUID | None) -> None:
        self.depth[run_id] = self.depth[parent] + 1 if parent in self.depth else 0
        print("  " * self.depth[run_id] + name)

    @staticmethod
    def _name(serialized: Any, kw: dict[str, Any]) -> str:
        return str(kw.get("name") or (serialized or {}).get("name"))

    def on_chain_start(self, serialized: Any, inputs: Any, *, run_id: UUID, **kw: Any) -> None:
        self._start(self._name(serialized, kw), run_id, kw.get("parent_run_id"))

    def on_chat_model_start(
        self, serialized: Any, messages: Any, *, run_id: UUID, **kw: Any
    ) -> None:
        self._start(f"model {self._name(serialized, kw)}", run_id, kw.get("parent_run_id"))

    def on_tool_start(self, serialized: Any, input_str: str, *, run_id: UUID, **kw: Any) -> None:
        self._start(f"tool {self._name(serialized, kw)}", run_id, kw.get("parent_run_id"))


async def ui() -> None:
    question = {"messages": [("user", "What is the weather in Lisbon?")]}
    print("-- what a chat UI reads from astream_events:")
    async for event in agent().astream_events(question, version="v2"):
        kind = event["event"]
        if kind == "on_chat_model_stream" and event["data"]["chunk"].content:
            print("token:", repr(event["data"]["chunk"].content))
        elif kind == "on_tool_start":
            print("tool call:", event["name"], event["data"]["input"])
        elif kind == "on_tool_end":
            print("tool result:", event["data"]["output"].content)


def main() -> None:
    question = {"messages": [("user", "What is the weather in Lisbon?")]}
    print("-- the run tree a tracer sees:")
    agent().invoke(question, {"callbacks": [RunTree()]})
    asyncio.run(ui())
    print("-- the graph inside an LCEL chain:")
    chain = agent() | RunnableLambda(lambda state: state["messages"][-1].content)
    print(chain.invoke(question))


if __name__ == "__main__":
    main()
