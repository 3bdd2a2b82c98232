"""Programmatic rewards and penalties."""

from __future__ import annotations

import math

import pytest

from hone.errors import ConfigError
from hone.rewards import FormatPenalty, Reward, RewardResult, StepPenalty, reward_fn
from hone.trajectory import Episode, ModelCall


def episode(steps: int = 1, parse_errors: int = 0, answer: str = "4") -> Episode:
    calls = [
        ModelCall(
            index=i,
            role="agent",
            model="m",
            messages=[],
            output={"role": "assistant"},
            parse_errors=["bad"] * (parse_errors if i == 0 else 0),
        )
        for i in range(steps)
    ]
    return Episode(task_id="t", task={"answer": "4"}, calls=calls, output=answer)


async def test_sync_and_async_functions() -> None:
    @reward_fn
    def exact(ep: Episode) -> bool:
        return bool(ep.output == ep.task["answer"])

    async def partial(ep: Episode) -> float:
        return 0.5

    assert isinstance(exact, Reward)
    results = await exact.score([episode(), episode(answer="5")])
    assert [r.value for r in results] == [1.0, 0.0]
    assert results[0].components == {} and results[0].error is None
    [result] = await reward_fn(partial).score([episode()])
    assert result.value == 0.5


@pytest.mark.parametrize(
    ("fn", "message"),
    [
        (lambda ep: None, "returned None"),
        (lambda ep: math.nan, "returned nan"),
        (lambda ep: math.inf, "returned inf"),
        (lambda ep: "high", "not a number"),
        (lambda ep: 1 / 0, "ZeroDivisionError"),
        (lambda ep: RewardResult(math.nan), "returned nan"),
    ],
)
async def test_failures_give_no_value_never_zero(fn: object, message: str) -> None:
    [result] = await reward_fn(fn).score([episode()])  # type: ignore[arg-type]
    assert result.value is None and message in (result.error or "")


async def test_reward_result_passes_through() -> None:
    given = RewardResult(0.7, {"a": 1.0}, "because")
    assert await reward_fn(lambda ep: given).score([episode()]) == [given]
    failed = RewardResult.failed("no reference answer")
    assert await reward_fn(lambda ep: failed).score([episode()]) == [failed]


async def test_step_penalty() -> None:
    penalty = StepPenalty(0.1, free_steps=2, max_penalty=0.25)
    results = await penalty.score([episode(1), episode(3), episode(9)])
    assert [r.value for r in results] == pytest.approx([0.0, -0.1, -0.25])
    assert results[1].components == {"steps": 3.0}
    with pytest.raises(ConfigError):
        StepPenalty(-1)


async def test_format_penalty() -> None:
    results = await FormatPenalty(0.2).score([episode(parse_errors=0), episode(parse_errors=2)])
    assert [r.value for r in results] == pytest.approx([0.0, -0.4])
    assert results[1].components == {"parse_errors": 2.0}
    [capped] = await FormatPenalty(0.2, max_penalty=0.3).score([episode(parse_errors=5)])
    assert capped.value == pytest.approx(-0.3)


async def test_truncation_penalty() -> None:
    from hone.rewards import TruncationPenalty
    from hone.trajectory import ModelCall

    def with_finish(*reasons: str) -> Episode:
        calls = [
            ModelCall(index=i, role="agent", model="m", messages=[], output={}, finish_reason=r)
            for i, r in enumerate(reasons)
        ]
        return Episode(task_id="t", calls=calls)

    results = await TruncationPenalty(0.5).score(
        [with_finish("stop", "length", "length"), with_finish("tool_calls")]
    )
    assert [r.value for r in results] == [-0.5, 0.0]
    assert results[0].components == {"truncated_calls": 2.0}
    with pytest.raises(ConfigError):
        TruncationPenalty(-1.0)
