"""Human in the loop, pattern 3: review the agent's tool calls.

``with_review`` puts a tool behind a human: before each call the graph pauses and the human
accepts it, edits its arguments, or answers in the tool's place. The model is scripted, so
the example runs offline; three threads show the three answers.
"""

from __future__ import annotations

from hone.checkpoint import InMemorySaver
from hone.graph import Command, CompiledGraph
from hone.graph.prebuilt import create_react_agent, with_review
from hone.models import ScriptedModel
from hone.tools import tool

BOOK = '<tool_call>{"name": "book_flight", "arguments": {"city": "Pariss", "seats": 2}}</tool_call>'


@tool
def book_flight(city: str, seats: int) -> str:
    """Book a flight.

    Args:
        city: Where to fly to.
        seats: How many seats.
    """
    return f"booked {seats} seat(s) to {city}"


def build_graph() -> CompiledGraph:
    """A ReAct agent whose only tool needs a human's review."""
    model = ScriptedModel(
        [BOOK, lambda request: f"Result: {request.messages[-1].text}"], when_exhausted="cycle"
    )
    return create_react_agent(model, [with_review(book_flight)], checkpointer=InMemorySaver())


DECISIONS = {
    "accept": {"type": "accept"},
    "edit": {"type": "edit", "args": {"city": "Paris", "seats": 2}},
    "respond": {"type": "response", "message": "No flights today; ask again tomorrow."},
}


def main() -> None:
    graph = build_graph()
    for thread, decision in DECISIONS.items():
        config = {"configurable": {"thread_id": thread}}
        paused = graph.invoke({"messages": [("user", "Two seats to Paris, please.")]}, config)
        request = paused["__interrupt__"][0].value["action_request"]
        print(f"[{thread}] review: {request['tool']}({request['args']}) -> {decision}")
        final = graph.invoke(Command(resume=decision), config)
        tool_result = final["messages"][-2].text
        print(f"[{thread}] the model saw: {tool_result!r}; it said: {final['messages'][-1].text!r}")


if __name__ == "__main__":
    main()
