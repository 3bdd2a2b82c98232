"""WeightedSum and HybridReward."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

from hone.errors import ConfigError
from hone.rewards import HybridReward, RewardResult, StepPenalty, WeightedSum, reward_fn
from hone.trajectory import Episode, ModelCall


def episode(answer: str, steps: int = 1) -> Episode:
    calls = [
        ModelCall(index=i, role="agent", model="m", messages=[], output={"role": "assistant"})
        for i in range(steps)
    ]
    return Episode(task_id="t", calls=calls, output=answer)


correct = reward_fn(lambda ep: ep.output.startswith("4"))


class FixedJudge:
    """Scores by a table of outputs, and remembers what it was asked to judge."""

    def __init__(self, table: dict[str, float | None]) -> None:
        self.table = table
        self.seen: list[list[str]] = []

    async def score(self, episodes: Sequence[Episode]) -> list[RewardResult]:
        self.seen.append([e.output for e in episodes])
        return [
            RewardResult.failed("judge failed")
            if self.table[e.output] is None
            else RewardResult(self.table[e.output], {"judge_variance": 0.0}, f"on {e.output}")
            for e in episodes
        ]


async def test_weighted_sum() -> None:
    total = WeightedSum({"correct": correct, "steps": StepPenalty(0.1)}, weights={"correct": 2.0})
    results = await total.score([episode("4", steps=3), episode("5", steps=1)])
    assert [r.value for r in results] == pytest.approx([2.0 - 0.3, -0.1])
    assert results[0].components == pytest.approx(
        {"correct": 1.0, "steps": -0.3, "steps.steps": 3.0}
    )
    failing = WeightedSum({"correct": correct, "bad": reward_fn(lambda ep: None)})
    [result] = await failing.score([episode("4")])
    assert result.value is None and "bad" in (result.error or "")
    with pytest.raises(ConfigError, match="not given"):
        WeightedSum({"a": correct}, weights={"b": 1.0})


async def test_hybrid_gates_then_judges_only_correct_episodes() -> None:
    judge = FixedJudge({"4 short": 1.0, "4 long": 0.2, "4 broken": None})
    hybrid = HybridReward(correct, judge, alpha=0.5, beta=0.5)
    eps = [episode("4 short"), episode("wrong"), episode("4 long"), episode("4 broken")]
    results = await hybrid.score(eps)
    assert judge.seen == [["4 short", "4 long", "4 broken"]]  # the wrong answer is not judged
    assert [r.value for r in results[:3]] == pytest.approx([1.0, 0.0, 0.6])
    assert results[0].components["judge"] == 1.0 and results[0].explanation == "on 4 short"
    assert results[3].value is None and "judge failed" in (results[3].error or "")


async def test_hybrid_skips_the_judge_when_nothing_passes_and_minmax() -> None:
    judge = FixedJudge({"4 a": 0.6, "4 b": 0.8})
    hybrid = HybridReward(correct, judge, alpha=0.2, beta=0.8, normalize="minmax")
    results = await hybrid.score([episode("4 a"), episode("4 b")])
    assert [r.value for r in results] == pytest.approx([0.2, 1.0])
    judge.seen.clear()
    assert [r.value for r in await hybrid.score([episode("x"), episode("y")])] == [0.0, 0.0]
    assert judge.seen == []
    gate_fails = HybridReward(reward_fn(lambda ep: None), judge)
    [result] = await gate_fails.score([episode("4 a")])
    assert result.value is None and (result.error or "").startswith("gate")
