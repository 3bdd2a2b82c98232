"""Tests for the countdown demo task: generator, splits, tools, reward, teacher."""

from __future__ import annotations

import random

import pytest

from hone.demo.countdown import (
    MAX_TURNS,
    PATIENCE,
    TOOLS,
    CountdownEpisode,
    CountdownTask,
    all_expressions,
    draw_budget,
    evaluate_expression,
    make_splits,
    make_task,
    reward,
    teacher_actions,
    teacher_messages,
)
from hone.errors import ConfigError
from hone.messages import AssistantMessage, ToolMessage
from hone.tools import ToolContext


def test_evaluate_expression_values_and_errors() -> None:
    assert evaluate_expression("(3+4)*2", (3, 4, 2)) == 14
    assert evaluate_expression("3+4*2", (3, 4, 2)) == 11
    assert evaluate_expression("4+3*2", (3, 4, 2)) == "error: use the numbers once, in order"
    assert evaluate_expression("3+4", (3, 4, 2)) == "error: use the numbers once, in order"
    assert evaluate_expression("3/4*2", (3, 4, 2)) == "error: invalid expression"
    assert evaluate_expression("3+(4*2", (3, 4, 2)) == "error: invalid expression"
    assert evaluate_expression("__import__('os')", (3, 4, 2)) == "error: invalid expression"


def test_all_expressions_are_valid_and_drop_useless_brackets() -> None:
    exprs = all_expressions((3, 4, 2))
    assert "3+4+2" in exprs and "(3+4)+2" not in exprs and "(3+4)*2" in exprs
    assert all(isinstance(evaluate_expression(e, (3, 4, 2)), int) for e in exprs)


def test_make_task_target_is_reachable_and_positive() -> None:
    rng = random.Random(0)
    for _ in range(200):
        task = make_task(rng)
        assert task.target >= 1
        values = {evaluate_expression(e, task.numbers) for e in all_expressions(task.numbers)}
        assert task.target in values


def test_splits_are_seeded_and_disjoint() -> None:
    a = make_splits(3, n_train=3000, n_test=200)
    b = make_splits(3, n_train=3000, n_test=200)
    assert a == b
    assert len(set(a.test)) == 200
    assert not set(a.train) & set(a.test)
    assert make_splits(4, n_train=10, n_test=200).test != a.test


@pytest.mark.parametrize(("n_train", "n_test"), [(-1, 10), (10, -1), (10, 5000)])
def test_splits_reject_bad_sizes(n_train: int, n_test: int) -> None:
    with pytest.raises(ConfigError):
        make_splits(0, n_train=n_train, n_test=n_test)


async def test_tools_record_checks_and_submission() -> None:
    episode = CountdownEpisode(CountdownTask((3, 4, 2), 14), feedback="value")
    calc, submit = TOOLS
    assert (calc.name, submit.name) == ("calc", "submit")

    def ctx(name: str) -> ToolContext:
        return ToolContext(call_id="c", tool_name=name, deps=episode)

    assert await calc.ainvoke({"expression": "3+4*2"}, context=ctx("calc")) == "11"
    assert (await calc.ainvoke({"expression": "4*3*2"}, context=ctx("calc"))).startswith("error")
    assert not episode.done and episode.reward == 0.0
    assert await submit.ainvoke({"expression": "(3+4)*2"}, context=ctx("submit")) == "submitted"
    assert episode.done and episode.reward == 1.0
    assert episode.checked == ["3+4*2", "4*3*2"]


async def test_tools_without_an_episode_name_the_fix() -> None:
    with pytest.raises(ConfigError, match="deps=CountdownEpisode"):
        await TOOLS[0].ainvoke({"expression": "1+2+3"})


def test_reward() -> None:
    task = CountdownTask((3, 4, 2), 14)
    assert reward(task, "(3+4)*2") == 1.0
    assert reward(task, "3+4*2") == 0.0
    assert reward(task, "2*(3+4)") == 0.0  # numbers out of order
    assert reward(task, None) == 0.0


def test_teacher_checks_at_most_budget_then_submits() -> None:
    rng = random.Random(0)
    for task in make_splits(0, n_train=0, n_test=300).test:
        actions = teacher_actions(task, rng, budget=2)
        calcs = [a for a in actions if a.tool == "calc"]
        assert (
            1 <= len(calcs) <= 2 and actions[-1].tool == "submit" and len(actions) == len(calcs) + 1
        )
        hit = [
            a.expression
            for a in calcs
            if evaluate_expression(a.expression, task.numbers) == task.target
        ]
        if hit:  # a verified expression is submitted at once
            assert actions[-1].expression == hit[0] and calcs[-1].expression == hit[0]


def test_teacher_is_imperfect_but_better_than_chance() -> None:
    rng = random.Random(1)
    tasks = make_splits(1, n_train=0, n_test=400).test
    success = sum(reward(t, teacher_actions(t, rng)[-1].expression) for t in tasks) / len(tasks)
    assert 0.2 < success < 0.45


def test_draw_budget_follows_the_patience_distribution() -> None:
    rng = random.Random(0)
    draws = [draw_budget(rng, (1, 2, 3)) for _ in range(3000)]
    assert set(draws) == {1, 2, 3}
    assert all(abs(draws.count(b) / 3000 - 1 / 3) < 0.04 for b in (1, 2, 3))
    assert {draw_budget(rng, (2,)) for _ in range(20)} == {2}
    for bad in [(), (0, 1)]:
        with pytest.raises(ConfigError):
            draw_budget(rng, bad)


def test_more_patience_means_more_success() -> None:
    tasks = make_splits(2, n_train=0, n_test=400).test

    def success(budget: int) -> float:
        rng = random.Random(3)
        return sum(reward(t, teacher_actions(t, rng, budget=budget)[-1].expression) for t in tasks)

    assert success(1) < success(2) < success(3)


def test_teacher_messages_shape() -> None:
    task = CountdownTask((3, 4, 2), 14)
    messages = teacher_messages(task, random.Random(0))
    assert messages[0].role == "system" and messages[1].role == "user"
    turns = messages[2:]
    assert all(isinstance(m, AssistantMessage | ToolMessage) for m in turns)
    assert isinstance(turns[-1], AssistantMessage) and turns[-1].tool_calls[0].name == "submit"


async def test_target_feedback_says_hit_or_miss_and_refuses_repeats() -> None:
    episode = CountdownEpisode(CountdownTask((3, 4, 2), 14), feedback="target")
    calc = TOOLS[0]

    async def check(expression: str) -> str:
        ctx = ToolContext(call_id="c", tool_name="calc", deps=episode)
        return str(await calc.ainvoke({"expression": expression}, context=ctx))

    assert await check("3+4*2") == "11 (target 14: no)"
    assert await check("(3+4)*2") == "14 (target reached)"
    assert await check("3 + 4*2") == "error: already checked"
    assert await check("4*3*2") == "error: use the numbers once, in order"


def test_default_patience_is_mostly_one_check_with_a_long_tail() -> None:
    rng = random.Random(0)
    draws = [draw_budget(rng, PATIENCE) for _ in range(6000)]
    assert abs(draws.count(1) / len(draws) - 0.6) < 0.03  # gives up after one check, mostly
    assert set(draws) == set(range(1, MAX_TURNS))  # the rest: up to one check per spare turn
