"""Each budget ends the run cleanly with its reason, or refuses a sub-call and tells the
model; never a crash."""

from __future__ import annotations

import time

from hone.models import ScriptedModel
from hone.rlm import RLMBudget, RLMConfig, arun_rlm

from ._helpers import Gauge, Overflowing, code, finish


def budget(**limits: object) -> RLMConfig:
    return RLMConfig(budget=RLMBudget(**limits))  # type: ignore[arg-type]


async def test_iterations_end_the_run_and_the_last_turn_is_announced() -> None:
    coder = ScriptedModel(
        [code("answer['content'] = 'partial'\nprint('working')"), "Thinking, no code."],
        when_exhausted="cycle",
    )
    result = await arun_rlm(coder, "", "q?", config=budget(max_iterations=4))
    assert result.stop_reason == "iterations"
    # what the code left (a last turn without code keeps it), not ready
    assert not result.ready and result.answer == "partial"
    assert [s.status for s in result.steps] == ["ok", "no_code", "ok", "no_code"]
    assert coder.calls == 4
    assert "[one turn is left: your next block is your last" in result.steps[2].observation
    assert "your next block is your last" not in result.steps[1].observation


async def test_spent_sub_calls_are_refused_then_the_run_ends() -> None:
    reader = Gauge(wait=0)
    coder = ScriptedModel(
        [
            code("print(llm_query_batched(['a', 'bb']))"),
            code(
                "try:\n    llm_query_batched(['c', 'd'])\nexcept Exception as exc:\n    pass"
            ),  # the code swallows the refusal: the model is told anyway
            code("print('still no answer')"),
            finish("too late"),
        ]
    )
    result = await arun_rlm(coder, "", "q?", sub_model=reader, config=budget(max_sub_calls=3))
    assert result.stop_reason == "sub_calls" and not result.ready
    assert result.usage.sub_calls == 2 and reader.prompts == ["a", "bb"]
    (refusal,) = result.usage.refusals
    assert refusal.reason == "sub_calls" and refusal.function == "llm_query_batched"
    told = result.steps[1].observation
    assert "llm_query_batched refused: asked for 2 sub-calls, 1 of the run's 3" in told
    assert "[no sub-calls are left: your next block is your last" in told
    assert len(result.steps) == 3 and coder.calls == 3


async def test_the_last_turn_after_spent_sub_calls_can_still_answer() -> None:
    coder = ScriptedModel([code("llm_query('a')"), code("llm_query('b')"), finish(7)])
    result = await arun_rlm(coder, "", "q?", sub_model=Gauge(0), config=budget(max_sub_calls=1))
    assert result.stop_reason == "answered" and result.answer == 7
    assert "HostError: SubCallRefused: llm_query refused" in result.steps[1].observation


async def test_a_prompt_over_the_character_limit_is_refused_and_the_run_goes_on() -> None:
    coder = ScriptedModel(
        [
            code("llm_query('x' * 101)"),
            code("print(llm_query_batched(['y' * 100, 'z' * 500]))"),
            code("print(llm_query('x' * 100))"),
            finish(),
        ]
    )
    reader = Gauge(0)
    result = await arun_rlm(coder, "", "q?", sub_model=reader, config=budget(max_prompt_chars=100))
    assert result.stop_reason == "answered"
    first, second = result.usage.refusals
    assert first.reason == second.reason == "prompt_chars"
    assert "the prompt has 101 characters, over the limit of 100 per sub-call" in first.message
    assert "prompt 1 has 500 characters" in second.message
    assert reader.prompts == ["x" * 100]  # a refused batch runs none of its prompts
    assert result.steps[2].observation == "100"


async def test_spent_tokens_refuse_sub_calls_and_end_the_run() -> None:
    # a scripted model counts the bytes of its prompt as tokens: over 2,000 per root call here
    coder = ScriptedModel(
        [code("print('one')"), code("llm_query('more')"), code("print('never runs')")]
    )
    result = await arun_rlm(coder, "", "q?", sub_model=Gauge(0), config=budget(max_tokens=4_000))
    assert result.stop_reason == "tokens"
    assert coder.calls == 2 and len(result.steps) == 2
    (refusal,) = result.usage.refusals
    assert refusal.reason == "tokens" and "token budget (4,000) is spent" in refusal.message
    assert result.usage.roles["rlm"].total_tokens >= 4_000


async def test_time_cuts_a_long_block_and_ends_the_run() -> None:
    coder = ScriptedModel([code("import time\ntime.sleep(30)"), finish()])
    started = time.perf_counter()
    result = await arun_rlm(coder, "", "q?", config=budget(max_seconds=1.0))
    assert time.perf_counter() - started < 8
    assert result.stop_reason == "time"
    assert result.steps[0].status == "timeout"
    assert coder.calls == 1


async def test_time_cuts_a_slow_root_model() -> None:
    started = time.perf_counter()
    result = await arun_rlm(Gauge(wait=30), "", "q?", config=budget(max_seconds=0.5))
    assert time.perf_counter() - started < 5
    assert result.stop_reason == "time" and result.steps == ()


async def test_a_prompt_past_the_root_models_window_ends_the_run() -> None:
    result = await arun_rlm(Overflowing(), "text", "q?")
    assert result.stop_reason == "context_overflow"
    assert result.steps == () and not result.ready
