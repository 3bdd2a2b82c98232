"""A LangGraph prebuilt-agent program on hone: only the imports changed.

LangChain tools that read the graph state and the store (``InjectedState``,
``InjectedStore``, ``ToolRuntime``), a tool-call interceptor that retries a flaky tool,
``handle_tool_errors``, and ``create_react_agent``'s ``post_model_hook``, on a LangChain chat
model (a fake one here, so the example runs offline; any real chat model works the same).

    python examples/langgraph/prebuilt_agent.py
"""

from __future__ import annotations

from typing import Annotated, Any

from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage, ToolMessage
from langchain_core.tools import tool

# On LangGraph these three lines read:
#   from langgraph.prebuilt import InjectedState, InjectedStore, ToolNode, ToolRuntime, ...
#   from langgraph.prebuilt.chat_agent_executor import AgentState
#   from langgraph.store.memory import InMemoryStore
from hone.graph.prebuilt import (
    AgentState,
    InjectedState,
    InjectedStore,
    ToolNode,
    ToolRuntime,
    create_react_agent,
)
from hone.store import InMemoryStore


class State(AgentState):
    """The agent's state, with the user's city and the model turns so far."""

    city: str
    turns: int


@tool
def weather(city: Annotated[str, InjectedState("city")], runtime: ToolRuntime) -> str:
    """The weather in the user's city (the model does not choose the city)."""
    attempts = runtime.store.get(("demo",), "attempts")
    count = 1 + (attempts.value["n"] if attempts else 0)
    runtime.store.put(("demo",), "attempts", {"n": count})
    if count == 1:
        raise TimeoutError("weather service timed out")  # flaky on the first call
    return f"sunny in {city}"


@tool
def remember(fact: str, store: Annotated[Any, InjectedStore()]) -> str:
    """Remember a fact about the user."""
    store.put(("facts",), fact, {"fact": fact})
    return "noted"


def retry_once(request: Any, execute: Any) -> Any:
    """A tool-call interceptor: run a failed call once more."""
    answer = execute(request)
    if answer.status == "error":
        answer = execute(request)
    return answer


def count_turns(state: State) -> dict[str, Any]:
    """A post-model hook: runs after every model turn."""
    return {"turns": state["turns"] + 1}


class FakeChat(GenericFakeChatModel):
    """LangChain's fake chat model, taking the agent's tools as a real one would."""

    def bind_tools(self, tools: Any, **kwargs: Any) -> Any:
        return self


def build_agent(store: InMemoryStore) -> Any:
    model = FakeChat(
        messages=iter(
            [
                AIMessage(
                    "",
                    tool_calls=[
                        {"name": "weather", "args": {}, "id": "w1"},
                        {"name": "remember", "args": {"fact": "likes sun"}, "id": "r1"},
                    ],
                ),
                AIMessage("It is sunny in Oslo; noted that you like sun."),
            ]
        )
    )
    tools = ToolNode([weather, remember], wrap_tool_call=retry_once, handle_tool_errors=True)
    return create_react_agent(
        model, tools, state_schema=State, post_model_hook=count_turns, store=store
    )


def main() -> None:
    store = InMemoryStore()
    question = {"messages": "What's the weather?", "city": "Oslo", "turns": 0}
    out = build_agent(store).invoke(question)
    for message in out["messages"]:
        print(f"{type(message).__name__:>14}: {message.content or message.tool_calls}")
    answers = [m.content for m in out["messages"] if isinstance(m, ToolMessage)]
    assert answers == ["sunny in Oslo", "noted"], answers
    assert store.get(("facts",), "likes sun") is not None
    print("model turns:", out["turns"])
    assert out["turns"] == 2


if __name__ == "__main__":
    main()
