"""create_tree_of_thoughts: Send fan-out, beam, threshold and depth, reward or judge scoring,
checkpoints, per-role rollouts, and the game-of-24 example's exact scorer."""

from __future__ import annotations

import asyncio
import importlib.util
import json
import re
import sys
from fractions import Fraction
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from hone.agents import create_tree_of_thoughts, roles_of
from hone.checkpoint import InMemorySaver
from hone.errors import ConfigError, ModelConnectionError
from hone.graph import draw_mermaid
from hone.models import ChatRequest, Completion, ScriptedModel
from hone.rewards import reward_fn
from hone.trajectory import Episode, graph_program, rollout

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs" / "patterns.md"


@reward_fn
def spelled(episode: Episode) -> float:
    """The share of the target word spelled so far; 0 once a letter is wrong."""
    target, steps = str(episode.task), episode.metadata["steps"]
    written = "".join(steps)
    return len(written) / len(target) if target.startswith(written) else 0.0


def letters(*replies: str) -> ScriptedModel:
    return ScriptedModel(list(replies), when_exhausted="cycle")


class SlowProposer(ScriptedModel):
    """A scripted proposer that takes a moment and counts calls in flight. ``script`` maps the
    steps of the state a proposal extends ("" at the root) to its proposals, in order, so
    what each state gets does not depend on which concurrent call arrives first."""

    def __init__(self, script: dict[str, list[str]]) -> None:
        self.script = {state: list(replies) for state, replies in script.items()}
        super().__init__([self._propose], when_exhausted="cycle")
        self.in_flight = 0
        self.most = 0

    def _propose(self, request: ChatRequest) -> str:
        prompt = request.messages[1].text
        _, found, steps = prompt.partition("Steps so far:")
        lines = steps.strip().splitlines() if found else []
        state = "".join(line.split(". ", 1)[1] for line in lines if ". " in line)
        return self.script[state].pop(0)

    async def complete(self, request: ChatRequest) -> Completion:
        self.in_flight += 1
        self.most = max(self.most, self.in_flight)
        await asyncio.sleep(0.1)  # long enough that a round's calls overlap on a loaded machine
        self.in_flight -= 1
        return await super().complete(request)


def test_k_proposals_per_kept_state_run_concurrently() -> None:
    model = SlowProposer(
        {"": ["a", "x", "b"], "a": ["a", "b", "c"], "x": ["a", "b", "c"], "b": ["a", "b", "c"]}
    )
    search = create_tree_of_thoughts(model, reward=spelled, k=3, beam_width=2, max_depth=2)
    chunks = list(search.stream({"input": "abc"}, stream_mode=["updates", "values"]))
    updates = [next(iter(data)) for mode, data in chunks if mode == "updates"]
    assert updates.count("propose") == 3 + 6 and updates.count("evaluate") == 2
    assert model.calls == 9 and model.most == 6  # a round's proposals overlap
    out = chunks[-1][1]
    assert out["depth"] == 2 and not out["solved"]
    assert out["best"]["steps"] == ["a", "b"] and out["best"]["score"] == pytest.approx(2 / 3)
    assert len(out["beam"]) <= 2 and out["candidates"] == []
    # A proposer sees the problem and the steps of its state.
    assert any("Steps so far:\n1. a" in r.messages[1].text for r in model.requests)


def test_the_threshold_ends_the_search() -> None:
    search = create_tree_of_thoughts(
        letters("a", "b", "c"), reward=spelled, k=1, max_depth=5, threshold=1.0
    )
    out = search.invoke({"input": "abc"})
    assert out["solved"] and out["depth"] == 3 and out["best"]["steps"] == ["a", "b", "c"]


def test_repeats_count_once_and_dead_ends_stop_early() -> None:
    model = letters("a", "a", "")
    out = create_tree_of_thoughts(model, reward=spelled, k=3, beam_width=3, max_depth=1).invoke(
        {"input": "ab"}
    )
    assert out["beam"] == [{"steps": ["a"], "score": 0.5}]  # one "a", the empty one dropped

    model = letters("x")
    search = create_tree_of_thoughts(model, reward=spelled, k=2, beam_width=2, max_depth=4)
    out = search.invoke({"input": "ab"})
    # Every state scores 0 and is kept, so the search goes on to its depth.
    assert out["depth"] == 4 and out["best"]["score"] == 0.0

    @reward_fn
    def unscorable(episode: Episode) -> float | None:
        return None

    out = create_tree_of_thoughts(letters("x"), reward=unscorable, max_depth=4).invoke(
        {"input": "ab"}
    )
    assert out["depth"] == 1 and out["beam"] == [] and out["best"] is None


def test_a_judge_model_scores_when_no_reward_is_given() -> None:
    def judge(request: ChatRequest) -> str:
        steps = request.messages[1].text.split("Steps so far:\n")[1]
        if "1. b" in steps and len(request.messages) == 2:
            return json.dumps({"score": 7, "reason": "out of range"})
        return json.dumps({"score": 0.9 if "1. b" in steps else 0.2, "reason": "r"})

    models = {
        "proposer": letters("a", "b"),
        "judge": ScriptedModel([judge], when_exhausted="cycle"),
    }
    search = create_tree_of_thoughts(models, k=2, beam_width=1, max_depth=1)
    assert roles_of(search) == ("proposer", "judge")
    out = search.invoke({"input": "ab"})
    assert out["best"] == {"steps": ["b"], "score": 0.9}
    told = [r.messages[-1].text for r in models["judge"].requests if len(r.messages) > 2]
    assert len(told) == 1 and "at $.score: 7 is greater than the maximum of 1" in told[0]
    # The bounds are in the request's schema, so constrained decoding keeps to them.
    schema = models["judge"].requests[0].response_format["json_schema"]["schema"]  # type: ignore[index]
    assert schema["properties"]["score"] == {"type": "number", "minimum": 0, "maximum": 1}


async def test_rollout_records_proposer_and_judge_and_the_stop() -> None:
    def reply(request: ChatRequest) -> str:
        if request.response_format is not None:
            return json.dumps({"score": 0.5, "reason": "half way"})
        return "step"

    search = create_tree_of_thoughts(None, k=2, beam_width=1, max_depth=2, threshold=0.9)
    program = graph_program(search, make_input=lambda task: {"input": task})
    policy = ScriptedModel([reply], when_exhausted="cycle")
    episodes = {e.role: e for e in await rollout(program, "p", policy, roles=roles_of(search))}
    # Two proposals from the root (the same: one state kept), then two from it.
    assert [c.role for c in episodes["proposer"].calls] == ["proposer"] * 4
    assert {c.role for c in episodes["judge"].calls} == {"judge"}
    assert episodes["proposer"].stop_reason == "step_budget"  # the threshold was never reached


def test_a_crashed_proposal_is_the_only_one_run_again() -> None:
    state = {"calls": 0}

    def proposer(request: ChatRequest) -> str:
        state["calls"] += 1
        if state["calls"] == 2:
            raise ModelConnectionError("gone")
        return "a"

    search = create_tree_of_thoughts(
        ScriptedModel([proposer], when_exhausted="cycle"),
        reward=spelled,
        k=3,
        max_depth=1,
        checkpointer=InMemorySaver(),
    )
    config = {"configurable": {"thread_id": "t"}}
    with pytest.raises(ModelConnectionError):
        search.invoke({"input": "ab"}, config)
    out = search.invoke(None, config)
    assert out["best"]["steps"] == ["a"] and state["calls"] == 4  # 3, then the failed one


def test_misconfiguration_fails_at_build_time() -> None:
    bads: list[dict[str, Any]] = [
        {"k": 0},
        {"beam_width": 0},
        {"max_depth": 0},
        {"max_attempts": 0},
    ]
    for bad in bads:
        with pytest.raises(ConfigError, match="must be at least 1"):
            create_tree_of_thoughts(None, reward=spelled, **bad)
    with pytest.raises(ConfigError, match="must be a hone Reward"):
        create_tree_of_thoughts(None, reward=lambda episodes: 1.0)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="unknown: judge"):
        create_tree_of_thoughts({"proposer": None, "judge": None}, reward=spelled)


def test_the_docs_picture_is_the_compiled_graph() -> None:
    section = DOCS.read_text(encoding="utf-8").split("## Tree of thoughts")[1]
    drawn = re.search(r"```mermaid\n(.*?)```", section, re.DOTALL)
    assert drawn is not None
    assert drawn.group(1).strip() == draw_mermaid(create_tree_of_thoughts(None)).strip()


def _example() -> ModuleType:
    path = ROOT / "examples" / "patterns" / "tree_of_thoughts.py"
    spec = importlib.util.spec_from_file_location("tot_example", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["tot_example"] = module
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize(
    ("steps", "score"),
    [
        ([], 0.5),
        (["10 - 4 = 6 (left: 6 9 13)"], 0.5),
        (["10 - 4 = 6 (left: 6 9 13)", "13 - 9 = 4 (left: 4 6)", "6 * 4 = 24 (left: 24)"], 1.0),
        (["10 - 4 = 7 (left: 7 9 13)"], 0.0),  # wrong arithmetic
        (["10 - 5 = 5 (left: 4 5 9 13)"], 0.0),  # 5 is not among the numbers
        (["10 - 4 = 6 (left: 6 9)"], 0.0),  # the numbers left are wrong
        (["4 * 9 = 36 (left: 10 13 36)"], 0.0),  # legal, but 24 is out of reach
        (["13 / 9 = 13/9 (left: 4 10 13/9)"], 0.0),  # exact fractions
        (["9 / 0 = 1 (left: 1 4 10 13)"], 0.0),
        (["ten minus four"], 0.0),
    ],
)
def test_the_game_of_24_scorer_checks_arithmetic_exactly(steps: list[str], score: float) -> None:
    example = _example()
    episode = Episode(task_id="t", task="4 9 10 13", metadata={"steps": steps})
    (result,) = asyncio.run(example.score_24.score([episode]))
    assert result.value == score


def test_the_game_of_24_search_solves_with_fractions() -> None:
    example = _example()
    left = example.apply_steps(
        [Fraction(n) for n in (1, 5, 5, 5)],
        [
            "1 / 5 = 1/5 (left: 1/5 5 5)",
            "5 - 1/5 = 24/5 (left: 5 24/5)",
            "5 * 24/5 = 24 (left: 24)",
        ],
    )
    assert left == [24]
    assert example.can_make_24([Fraction(n) for n in (1, 5, 5, 5)])
    assert not example.can_make_24([Fraction(n) for n in (1, 1, 1, 1)])
    search = create_tree_of_thoughts(
        example.random_proposer(),
        reward=example.score_24,
        k=8,
        beam_width=4,
        max_depth=3,
        threshold=1.0,
    )
    out: dict[str, Any] = search.invoke({"input": "4 9 10 13"})
    assert out["solved"] and example.apply_steps(
        [Fraction(n) for n in (4, 9, 10, 13)], out["best"]["steps"]
    ) == [24]


def test_a_breakpoint_before_scoring_shows_the_proposals_then_resumes() -> None:
    search = create_tree_of_thoughts(
        letters("a", "b"), reward=spelled, k=2, max_depth=1, checkpointer=InMemorySaver()
    )
    config = {"configurable": {"thread_id": "b"}}
    search.invoke({"input": "ab"}, config, interrupt_before=["evaluate"])
    snapshot = search.get_state(config)
    assert snapshot.next == ("evaluate",)
    assert sorted(t["steps"][0] for t in snapshot.values["candidates"]) == ["a", "b"]
    out = search.invoke(None, config)
    assert out["best"] == {"steps": ["a"], "score": 0.5}
