"""A customer-support swarm: a triage agent hands the customer to a flights agent, who later
hands them to a hotels agent; each next message goes to whoever holds the conversation.

* Turn 1: triage transfers to ``flights`` (a handoff with a task); flights looks the booking
  up and answers.
* Turn 2: the thread remembers that ``flights`` is active. Flights checks the new flight and
  transfers to ``hotels`` in the same turn (a parallel call: the tool runs, the handoff
  wins); the hotels agent sees the conversation without tool traffic (an input filter).
* A budget bounds every run: handoffs, turns, and A → B → A loops without progress.

Offline (the default), every agent is scripted. Give a model spec to use a real one::

    python examples/patterns/swarm.py --model openai:gpt-4.1
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from hone.agents import (
    Budget,
    create_handoff_agent,
    create_handoff_tool,
    create_swarm,
    remove_tool_messages,
)
from hone.checkpoint import InMemorySaver
from hone.models import ScriptedModel
from hone.tools import tool

BOOKINGS = {
    "AB123": {"flight": "LH 1040", "from": "Paris", "to": "Frankfurt", "date": "2025-06-02"}
}
HOTELS = {"Frankfurt": ["Airport Inn (2 km)", "Main Plaza (14 km)"]}


@tool
def lookup_booking(reference: str) -> dict[str, str]:
    """A booking's flight details.

    Args:
        reference: The booking reference, such as AB123.
    """
    return BOOKINGS[reference.upper()]


@tool
def find_hotels(city: str) -> list[str]:
    """Hotels in a city, nearest to the airport first.

    Args:
        city: The city.
    """
    return HOTELS.get(city, [])


def _call(name: str, **arguments: Any) -> str:
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


def scripted() -> dict[str, ScriptedModel]:
    """A scripted model per agent."""
    return {
        "triage": ScriptedModel(
            [_call("transfer_to_flights", task="Customer asks about booking AB123.")]
        ),
        "flights": ScriptedModel(
            [
                _call("lookup_booking", reference="AB123"),
                "Booking AB123 is flight LH 1040 from Paris to Frankfurt on 2 June.",
                _call("lookup_booking", reference="AB123")
                + _call("transfer_to_hotels", task="Hotel near Frankfurt airport on 2 June."),
            ]
        ),
        "hotels": ScriptedModel(
            [_call("find_hotels", city="Frankfurt"), "The Airport Inn is 2 km from the airport."]
        ),
    }


def build(models: dict[str, Any]) -> Any:
    """The three agents and their swarm."""
    triage = create_handoff_agent(
        models["triage"],
        [
            create_handoff_tool(agent_name="flights", task=True),
            create_handoff_tool(agent_name="hotels", task=True),
        ],
        name="triage",
        prompt="You greet customers and transfer them to the right agent.",
    )
    flights = create_handoff_agent(
        models["flights"],
        [
            lookup_booking,
            create_handoff_tool(agent_name="hotels", task=True, input_filter=remove_tool_messages),
        ],
        name="flights",
        prompt="You handle flight bookings. Transfer hotel questions to the hotels agent.",
    )
    hotels = create_handoff_agent(
        models["hotels"],
        [find_hotels, create_handoff_tool(agent_name="flights")],
        name="hotels",
        prompt="You find hotels. Transfer flight questions to the flights agent.",
    )
    budget = Budget(max_handoffs=4, max_turns=8, max_revisits=1)
    return create_swarm(
        [triage, flights, hotels],
        default_active_agent="triage",
        budget=budget,
        checkpointer=InMemorySaver(),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a model spec for every agent (default: scripted)")
    args = parser.parse_args()
    models: dict[str, Any] = (
        scripted() if args.model is None else dict.fromkeys(scripted(), args.model)
    )
    swarm = build(models)
    config = {"configurable": {"thread_id": "customer-42"}}
    for text in [
        "Hi, what is my flight? Booking AB123.",
        "Thanks. Is there a hotel near the airport there?",
    ]:
        before = len(swarm.get_state(config).values.get("messages", []))
        state = swarm.invoke({"messages": [("user", text)]}, config)
        print(f"customer: {text}")
        for message in state["messages"][before + 1 :]:
            if message.role == "tool":
                print(f"    ({message.name}: {message.text.replace(chr(10), ' ')})")
            elif message.text:
                print(f"  {message.name}: {message.text}")
        print(f"  [active agent: {state['active_agent']}; {state['usage'].handoffs} handoff(s)]")


if __name__ == "__main__":
    main()
