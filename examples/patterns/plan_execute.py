"""Plan-and-execute with human approval of the plan, a failing step and a replan.

The planner's first reply is not a plan: it is told why and tries again. A human approves
each new plan (the run pauses with ``interrupt``, here answered by a script). The executor, a
ReAct agent, runs one step at a time with the tools; a failing tool call fails its step,
the replanner revises the rest of the plan, and the synthesizer writes the answer.

Offline (the default), every role is scripted. Give a model spec to use a real one (the
human still approves through the script)::

    python examples/patterns/plan_execute.py --model openai:gpt-4.1
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from hone.agents import create_plan_and_execute
from hone.checkpoint import InMemorySaver
from hone.graph import Command
from hone.models import SamplingOptions, ScriptedModel
from hone.tools import tool

OBJECTIVE = "How many more people live in Paris than in Lyon?"
POPULATION = {"paris": 2_102_650, "lyon": 522_250}


@tool
def population(city: str) -> int:
    """The population of a French city.

    Args:
        city: the city's name.
    """
    return POPULATION[city.lower()]  # an unknown city raises: the model sees the error


@tool
def subtract(a: int, b: int) -> int:
    """a minus b.

    Args:
        a: the number to subtract from.
        b: the number to subtract.
    """
    return a - b


def _call(name: str, **arguments: Any) -> str:
    return f"<tool_call>{json.dumps({'name': name, 'arguments': arguments})}</tool_call>"


def scripted() -> dict[str, ScriptedModel]:
    """A scripted model per role."""
    plan = ["Find the population of Paris", "Find the population of Lyons", "Subtract them"]
    replan = ["Find the population of Lyon (spelled Lyon)", "Subtract Lyon's from Paris's"]
    return {
        "planner": ScriptedModel(["First Paris, then Lyon.", json.dumps({"steps": plan})]),
        "executor": ScriptedModel(
            [
                _call("population", city="Paris"),
                "Paris has 2102650 inhabitants.",
                _call("population", city="Lyons"),
                "I could not find Lyons.",
                _call("population", city="Lyon"),
                "Lyon has 522250 inhabitants.",
                _call("subtract", a=2102650, b=522250),
                "The difference is 1580400.",
            ]
        ),
        "replanner": ScriptedModel([json.dumps({"done": False, "steps": replan})]),
        "synthesizer": ScriptedModel(["About 1,580,400 more people live in Paris than in Lyon."]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a model spec for every role (default: scripted)")
    args = parser.parse_args()
    agent = create_plan_and_execute(
        args.model or scripted(),
        [population, subtract],
        replan_after="failure",
        approve_plan=True,
        # Short results and few steps keep every prompt inside a small model's context.
        options=SamplingOptions(max_tokens=160),
        max_steps=5,
        checkpointer=InMemorySaver(),
    )
    config = {"configurable": {"thread_id": "paris-lyon"}}
    state = agent.invoke({"input": OBJECTIVE}, config)
    while "__interrupt__" in state:  # the human approves every plan
        plan = state["__interrupt__"][0].value["plan"]
        print("plan to approve:", *(f"  {i}. {step}" for i, step in enumerate(plan, 1)), sep="\n")
        state = agent.invoke(Command(resume={"type": "accept"}), config)
    for done in state["past_steps"]:
        print(f"[{'ok' if done['ok'] else 'FAILED'}] {done['step']}: {done['result']}")
    print("answer:", state["response"])


if __name__ == "__main__":
    main()
