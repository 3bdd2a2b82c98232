"""``create_blackboard``: turn-taking (round-robin, mentions, coordinator), the shared board
(plan, artifacts, posts), filtered views, termination (DONE, rounds, condition, budget),
the synthesis, per-role logs and evaluation, interrupts, misconfiguration and rollouts."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest

from hone.agents import (
    Board,
    Budget,
    Coordinator,
    Mentions,
    Role,
    RoleStats,
    View,
    create_blackboard,
    role_stats,
    roles_of,
)
from hone.checkpoint import InMemorySaver
from hone.errors import ConfigError
from hone.graph import Command, draw_mermaid, interrupt
from hone.models import ScriptedModel
from hone.rewards import Reward, RewardResult
from hone.tools import tool
from hone.trajectory import Episode, graph_program, rollout


def call(tool_name: str, /, **args: object) -> str:
    """A Hermes tool call, as a model writes it."""
    return f"<tool_call>\n{json.dumps({'name': tool_name, 'arguments': args})}\n</tool_call>"


def _roles(**scripts: list[str]) -> tuple[list[Role], dict[str, ScriptedModel]]:
    models = {name: ScriptedModel(replies) for name, replies in scripts.items()}
    return [Role(name, f"You are the {name}.", model=m) for name, m in models.items()], models


async def test_round_robin_until_done_then_a_synthesis() -> None:
    roles, models = _roles(
        planner=[call("update_plan", steps=["draft", "check"]), "Plan is set."],
        writer=[call("write_artifact", name="draft", content="Roses are red."), "Draft saved."],
        critic=["Good. DONE"],
    )
    synth = ScriptedModel(["Roses are red."])
    graph = create_blackboard(roles, model=synth)
    out = await graph.ainvoke({"request": "Write a line of poetry."})
    assert [p.role for p in out["posts"]] == ["planner", "writer", "critic"]
    assert out["plan"] == ["draft", "check"] and out["artifacts"] == {"draft": "Roses are red."}
    assert out["stop"] == "done" and out["answer"] == "Roses are red."
    assert [m.role for m in out["messages"]] == ["user", "assistant"]
    assert out["messages"][-1].name == "synthesizer"
    # the writer saw the plan the planner set, and the critic the artifact
    assert "1. draft" in models["writer"].requests[0].messages[-1].text
    assert "Roses are red." in models["critic"].requests[0].messages[-1].text
    assert "Roses are red." in synth.requests[0].messages[-1].text


async def test_mentions_choose_the_next_role() -> None:
    roles, models = _roles(
        a=["Over to @c.", "Thanks, DONE"],
        b=["never called"],
        c=["Back to @a and @b."],
    )
    graph = create_blackboard(roles, model=ScriptedModel(["sum"]), turns=Mentions())
    out = await graph.ainvoke({"request": "x"})
    assert [p.role for p in out["posts"]] == ["a", "c", "a"]
    assert out["posts"][1].mentions == ("a", "b") and models["b"].calls == 0


async def test_a_mention_of_an_unknown_role_falls_back_to_turn_order() -> None:
    roles, _ = _roles(a=["Ask @nobody. "], b=["DONE"])
    out = await create_blackboard(roles, model=ScriptedModel(["s"]), turns=Mentions()).ainvoke(
        {"request": "x"}
    )
    assert [p.role for p in out["posts"]] == ["a", "b"] and out["posts"][0].mentions == ()


async def test_coordinator_picks_and_its_bad_choices_are_retried() -> None:
    roles, _ = _roles(a=["a speaks"], b=["b speaks"])
    coordinator = ScriptedModel(
        ['{"next": "b"}', '{"next": "zed"}', '{"next": "a"}', '{"next": "DONE"}']
    )
    graph = create_blackboard(
        roles, model=ScriptedModel(["s"]), turns=Coordinator(model=coordinator)
    )
    out = await graph.ainvoke({"request": "x"})
    assert [p.role for p in out["posts"]] == ["b", "a"] and out["stop"] == "done"
    retry = coordinator.requests[2].messages[-1]
    assert "'zed' is not one of" in retry.text
    assert coordinator.requests[0].response_format is not None  # a structured request


async def test_a_coordinator_that_never_fits_falls_back_to_turn_order() -> None:
    roles, _ = _roles(a=["1"], b=["2 DONE"])
    coordinator = ScriptedModel(["no idea"], when_exhausted="cycle")
    turns = Coordinator(model=coordinator, max_attempts=2)
    out = await create_blackboard(roles, model=ScriptedModel(["s"]), turns=turns).ainvoke(
        {"request": "x"}
    )
    assert [p.role for p in out["posts"]] == ["a", "b"] and coordinator.calls == 4


async def test_max_rounds_and_conditions_end_the_work() -> None:
    roles, _ = _roles(a=["a"] * 4, b=["b"] * 4)
    graph = create_blackboard(roles, model=ScriptedModel(["s"]), max_rounds=2)
    out = await graph.ainvoke({"request": "x"})
    assert len(out["posts"]) == 4 and out["stop"] == "max_rounds"
    assert [p.round for p in out["posts"]] == [1, 1, 2, 2]

    roles, _ = _roles(a=["a", call("write_artifact", name="final", content="y"), "saved"], b=["b"])

    def has_final(board: Board) -> bool:
        return "final" in board.artifacts

    graph = create_blackboard(roles, model=ScriptedModel(["s"]), stop_when=has_final)
    out = await graph.ainvoke({"request": "x"})
    assert out["stop"] == "condition" and len(out["posts"]) == 3


async def test_budget_ends_the_work() -> None:
    roles, _ = _roles(a=["a"] * 3, b=["b"] * 3)
    out = await create_blackboard(
        roles, model=ScriptedModel(["s"]), budget=Budget(max_turns=3)
    ).ainvoke({"request": "x"})
    assert out["stop"] == "turns" and len(out["posts"]) == 3 and out["usage"].finished


async def test_views_filter_what_a_role_sees() -> None:
    ma = ScriptedModel([call("write_artifact", name="secret", content="s3cret"), "saved"])
    mb, mc = ScriptedModel(["b said"]), ScriptedModel(["DONE"])
    roles = [
        Role("a", "A.", model=ma),
        Role("b", "B.", model=mb, view=View(artifacts=(), plan=False)),
        Role("c", "C.", model=mc, view=View(posts_from=("a",), last_posts=1)),
    ]
    await create_blackboard(roles, model=ScriptedModel(["s"])).ainvoke({"request": "x"})
    seen_b = mb.requests[0].messages[-1].text
    assert "s3cret" not in seen_b and "Plan:" not in seen_b and "[a, round 1] saved" in seen_b
    seen_c = mc.requests[0].messages[-1].text
    assert "[a, round 1]" in seen_c and "b said" not in seen_c and "s3cret" in seen_c
    assert "You are the" not in seen_c and mc.requests[0].messages[0].text == "C."


async def test_role_stats_and_per_role_rewards() -> None:
    roles, _ = _roles(
        a=[call("write_artifact", name="x", content="1"), "wrote x, @b check"],
        b=[call("missing_tool"), "checked. DONE"],
    )
    graph = create_blackboard(roles, model=ScriptedModel(["answer"]), turns=Mentions())
    out = await graph.ainvoke({"request": "x"})
    stats = role_stats(out)
    assert stats["a"] == RoleStats(
        turns=1,
        tokens=out["posts"][0].tokens,
        seconds=out["posts"][0].seconds,
        tool_calls=1,
        artifacts=1,
    )
    assert stats["b"].tool_errors == 1 and stats["b"].done_votes == 1 and stats["b"].mentioned == 1

    class Wrote(Reward):
        """1 for an episode whose role wrote an artifact."""

        async def score(self, episodes: Sequence[Episode]) -> list[RewardResult]:
            return [
                RewardResult(float(any("write_artifact" in (c.text or "") for c in e.calls)))
                for e in episodes
            ]

    policy = ScriptedModel(
        [
            call("write_artifact", name="x", content="1"),
            "wrote x, @b check",
            "checked. DONE",
            "answer",
        ]
    )
    program = graph_program(graph, make_input=lambda task: {"request": task})
    episodes = await rollout(
        program, "x", policy, roles=roles_of(graph), reward={"a": Wrote(), "b": Wrote()}
    )
    by_role = {e.role: e for e in episodes}
    assert roles_of(graph) == ("a", "b", "synthesizer")
    assert (by_role["a"].reward, by_role["b"].reward, by_role["synthesizer"].reward) == (
        1.0,
        0.0,
        None,
    )
    assert [c.role for c in by_role["synthesizer"].calls] == ["synthesizer"]


async def test_coordinator_calls_carry_its_role_in_a_rollout() -> None:
    roles = [Role("a", "A."), Role("b", "B.")]
    graph = create_blackboard(roles, model=None, turns=Coordinator())
    assert roles_of(graph) == ("coordinator", "a", "b", "synthesizer")
    models = {
        "coordinator": ScriptedModel(['{"next": "a"}', '{"next": "DONE"}']),
        "a": ScriptedModel(["a done"]),
        "b": ScriptedModel(["unused"]),
        "synthesizer": ScriptedModel(["final"]),
    }
    program = graph_program(graph, make_input=lambda task: {"request": task})
    episodes = {e.role: e for e in await rollout(program, "x", models)}
    assert [len(episodes[r].calls) for r in ("coordinator", "a", "b", "synthesizer")] == [
        2,
        1,
        0,
        1,
    ]


@tool
def publish(text: str) -> str:
    """Publish, once a human approves.

    Args:
        text: What to publish.
    """
    return f"published: {interrupt(text)}"


async def test_an_interrupt_inside_a_role_resumes_it_once() -> None:
    a = ScriptedModel([call("publish", text="hello"), "Published. DONE"])
    roles = [Role("a", "A.", tools=[publish], model=a)]
    graph = create_blackboard(roles, model=ScriptedModel(["final"]), checkpointer=InMemorySaver())
    config = {"configurable": {"thread_id": "t"}}
    paused = await graph.ainvoke({"request": "publish hello"}, config)
    assert paused["__interrupt__"][0].value == "hello" and a.calls == 1
    out = await graph.ainvoke(Command(resume="yes"), config)
    assert a.calls == 2 and out["answer"] == "final" and out["posts"][0].tool_calls == 1


async def test_a_new_request_on_a_thread_keeps_the_board() -> None:
    roles, _ = _roles(a=[call("write_artifact", name="n", content="1"), "DONE", "Again. DONE"])
    graph = create_blackboard(
        roles, model=ScriptedModel(["s1", "s2"]), checkpointer=InMemorySaver()
    )
    config = {"configurable": {"thread_id": "t"}}
    await graph.ainvoke({"messages": [("user", "first")]}, config)
    out = await graph.ainvoke({"messages": [("user", "second")]}, config)
    assert out["request"] == "second" and out["artifacts"] == {"n": "1"}
    assert len(out["posts"]) == 1 and out["answer"] == "s2"


def test_drawing() -> None:
    roles, _ = _roles(a=["x"], b=["y"])
    text = draw_mermaid(create_blackboard(roles, model=ScriptedModel(["s"])))
    for edge in (
        "__start__ --> begin",
        "begin --> schedule",
        "schedule -.-> a",
        "a --> schedule",
        "schedule -.-> synthesize",
        "synthesize --> __end__",
    ):
        assert edge in text


def test_misconfiguration() -> None:
    with pytest.raises(ConfigError, match="at least one agent"):
        create_blackboard([], model=None)
    with pytest.raises(ConfigError, match="named 'a'"):
        create_blackboard([Role("a", "x"), Role("a", "y")], model=None)
    with pytest.raises(ConfigError, match="own node"):
        create_blackboard([Role("schedule", "x")], model=None)
    with pytest.raises(ConfigError, match="own node"):
        create_blackboard([Role("coordinator", "x")], model=None, turns=Coordinator())
    with pytest.raises(ConfigError, match="max_rounds"):
        create_blackboard([Role("a", "x")], model=None, max_rounds=0)
    with pytest.raises(ConfigError, match="empty prompt"):
        Role("a", " ")
    with pytest.raises(ConfigError, match="last_posts"):
        View(last_posts=-1)


async def test_invoking_without_a_request_is_a_config_error() -> None:
    graph = create_blackboard([Role("a", "x")], model=ScriptedModel(["s"]))
    with pytest.raises(ConfigError, match="request"):
        await graph.ainvoke({"plan": ["x"]})


def test_the_docs_picture_is_the_blackboards_drawing() -> None:

    docs = Path(__file__).resolve().parents[2] / "docs" / "patterns.md"
    section = docs.read_text(encoding="utf-8").split("## Blackboard")[1]
    drawn = re.search(r"```mermaid\n(.*?)```", section, re.DOTALL)
    assert drawn is not None
    roles = [Role("planner", "p"), Role("writer", "w"), Role("critic", "c")]
    expected = draw_mermaid(create_blackboard(roles, model=None, turns=Mentions()))
    assert drawn.group(1).strip() == expected.strip()
