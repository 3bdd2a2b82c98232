"""A blackboard team writes a trip plan: a planner sets the plan, a researcher looks facts up
and saves them as artifacts, a writer drafts, a critic reviews; a coordinator model decides
who acts next, and a synthesizer writes the answer from the board.

* Each role sees a filtered view of the board: the critic sees only the draft and the
  writer's posts; the researcher does not see the plan's history of posts.
* The coordinator's first choice names a role that does not exist: it is told and picks
  again (a structured reply, checked and retried).
* The critic says DONE; the run ends, the synthesis follows, and the per-role statistics
  (turns, tool calls, artifacts, tokens) are printed.

Offline (the default), every role is scripted. Give a model spec to use a real one::

    python examples/patterns/blackboard.py --model openai:gpt-4.1
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from hone.agents import Coordinator, Role, View, create_blackboard, role_stats
from hone.models import ScriptedModel
from hone.tools import tool

REQUEST = "Plan a one-day visit to Lyon for someone who loves food and old towns."
FACTS = {
    "old town": "Vieux Lyon: Renaissance lanes and traboules (hidden passageways).",
    "food": "Les Halles Paul Bocuse: the covered food market; bouchons serve local dishes.",
    "view": "Fourvière hill: basilica and the best view over the city.",
}


@tool
def lookup(topic: str) -> str:
    """Look a fact about Lyon up.

    Args:
        topic: One of: old town, food, view.
    """
    return FACTS[topic.lower()]


def _call(tool_name: str, /, **arguments: Any) -> str:
    return f"<tool_call>{json.dumps({'name': tool_name, 'arguments': arguments})}</tool_call>"


def _next(role: str) -> str:
    return json.dumps({"next": role})


def scripted() -> dict[str, ScriptedModel]:
    """A scripted model per role (and the coordinator and synthesizer)."""
    draft = (
        "Morning: Vieux Lyon's lanes and traboules. Lunch: Les Halles Paul Bocuse. "
        "Afternoon: up Fourvière hill for the view. Dinner: a bouchon."
    )
    return {
        "coordinator": ScriptedModel(
            [_next("planner"), _next("chef"), _next("researcher"), _next("writer"), _next("critic")]
        ),
        "planner": ScriptedModel(
            [
                _call("update_plan", steps=["Find the sights and food", "Draft the day", "Review"]),
                "Plan set. @researcher please gather the facts.",
            ]
        ),
        "researcher": ScriptedModel(
            [
                _call("lookup", topic="old town")
                + _call("lookup", topic="food")
                + _call("lookup", topic="view"),
                _call("write_artifact", name="facts", content="\n".join(FACTS.values())),
                "Facts saved as 'facts'. @writer",
            ]
        ),
        "writer": ScriptedModel(
            [_call("write_artifact", name="draft", content=draft), "Draft saved. @critic"]
        ),
        "critic": ScriptedModel(["The draft covers food and old towns and flows well. DONE"]),
        "synthesizer": ScriptedModel([f"Your day in Lyon — {draft}"]),
    }


def build(models: dict[str, Any]) -> Any:
    """The roles, the coordinator and the blackboard."""
    roles = [
        Role("planner", "You plan the team's work in a few steps.", model=models["planner"]),
        Role(
            "researcher",
            "You look facts up and save them as an artifact named 'facts'.",
            tools=[lookup],
            model=models["researcher"],
            view=View(last_posts=2),
        ),
        Role(
            "writer",
            "You write the plan for the visitor as an artifact named 'draft'.",
            model=models["writer"],
        ),
        Role(
            "critic",
            "You review the draft; say DONE when it is good.",
            model=models["critic"],
            view=View(posts_from=("writer",), artifacts=("draft",), plan=False),
        ),
    ]
    return create_blackboard(
        roles,
        model=models["synthesizer"],
        turns=Coordinator(model=models["coordinator"]),
        max_rounds=3,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="a model spec for every role (default: scripted)")
    args = parser.parse_args()
    models: dict[str, Any] = (
        scripted() if args.model is None else dict.fromkeys(scripted(), args.model)
    )
    state = build(models).invoke({"request": REQUEST})
    for post in state["posts"]:
        print(f"[round {post.round}] {post.role}: {post.content}")
    print("plan:", "; ".join(state["plan"]))
    print("artifacts:", ", ".join(state["artifacts"]))
    print(f"stopped: {state['stop']}")
    print("answer:", state["answer"])
    for role, stats in role_stats(state).items():
        print(
            f"  {role:<10} turns={stats.turns} tools={stats.tool_calls} "
            f"artifacts={stats.artifacts} done={stats.done_votes} tokens={stats.tokens}"
        )


if __name__ == "__main__":
    main()
