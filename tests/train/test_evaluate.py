"""evaluate(): one scored rollout per task; None rewards are unscored, never 0."""

from __future__ import annotations

import math
from typing import Any

from hone.messages import AnyMessage, text_of
from hone.models import ChatRequest, ModelBackend, SamplingOptions, ScriptedModel, make_request
from hone.rewards import reward_fn
from hone.train import EvalResult, evaluate
from hone.trajectory import Episode


async def echo_program(task: dict[str, Any], model: ModelBackend) -> list[AnyMessage]:
    request = make_request(f"Say {task['n']}.", options=SamplingOptions(temperature=0.7))
    completion = await model.complete(request)
    return [*request.messages, completion.message]


def answer(request: ChatRequest) -> str:
    n = int(text_of(request.messages[-1].content).split()[-1].rstrip("."))
    return str(n) if n % 2 == 0 else "no"


@reward_fn
def exact(episode: Episode) -> float | None:
    if episode.task["n"] == 5:
        return None  # e.g. a judge that failed
    return float(episode.final_text == str(episode.task["n"]))


TASKS = [{"id": f"t{n}", "n": n} for n in range(6)]


async def test_evaluate_scores_each_task_and_counts_unscored() -> None:
    model = ScriptedModel([answer], when_exhausted="cycle")
    result = await evaluate(echo_program, TASKS, model, exact, concurrency=2)
    assert isinstance(result, EvalResult)
    assert [s.task_id for s in result.per_task] == [t["id"] for t in TASKS]
    assert result.unscored == 1
    assert result.per_task[5].reward is None and "returned None" in (result.per_task[5].error or "")
    # t0, t2, t4 right; t1, t3 wrong; t5 left out of both averages
    assert result.success_rate == 3 / 5 and result.mean_reward == 3 / 5
    assert len(result.episodes) == 6


async def test_evaluate_overrides_sampling_and_records_it() -> None:
    model = ScriptedModel([answer], when_exhausted="cycle")
    result = await evaluate(echo_program, TASKS[:2], model, exact, temperature=0.0, max_tokens=5)
    assert all(r.options.temperature == 0.0 and r.options.max_tokens == 5 for r in model.requests)
    recorded = result.episodes[0].calls[0].sampling
    assert recorded["temperature"] == 0.0 and recorded["max_tokens"] == 5


async def test_evaluate_with_nothing_scored_is_nan() -> None:
    never = reward_fn(lambda ep: None)
    result = await evaluate(echo_program, TASKS[:2], ScriptedModel(["x"] * 2), never)
    assert math.isnan(result.success_rate) and math.isnan(result.mean_reward)
    assert result.unscored == 2


async def test_success_threshold() -> None:
    half = reward_fn(lambda ep: 0.5)
    model = ScriptedModel(["x"], when_exhausted="cycle")
    strict = await evaluate(echo_program, TASKS[:2], model, half)
    lenient = await evaluate(echo_program, TASKS[:2], model, half, success_threshold=0.5)
    assert strict.success_rate == 0.0 and lenient.success_rate == 1.0
