"""The generated ledger task, its scripted teacher and reader, and its reward."""

from __future__ import annotations

import pytest

from hone.errors import ConfigError
from hone.rlm import arun_rlm
from hone.rlm.ledger import (
    count_crates,
    ledger_answer,
    ledger_reader,
    ledger_reward,
    ledger_teacher,
    make_ledger_task,
)
from hone.trajectory import Episode


def test_a_ledger_is_deterministic_and_its_answer_exact() -> None:
    task = make_ledger_task(7, chars=40_000)
    again = make_ledger_task(7, chars=40_000)
    assert task == again and task.context == again.context
    assert make_ledger_task(8, chars=40_000).context != task.context
    assert len(task.context) >= 40_000
    assert count_crates(task.context, task.good, task.city) == task.answer > 0
    assert task.record() == {
        "id": "ledger-7-40000",
        "seed": 7,
        "chars": 40_000,
        "question": task.question,
        "answer": task.answer,
    }


def test_every_phrasing_is_counted_and_distractors_are_not() -> None:
    text = (
        "Ledger 000001: 5 crates of tin reached Oslo.\n"
        "Oslo took delivery of 7 crates of tin (ledger 000002).\n"
        "Entry 000003 — tin, 11 crates, bound for Oslo, arrived.\n"
        "Ledger 000004: 100 crates of salt reached Oslo.\n"
        "Entry 000005 — tin, 100 crates, bound for Lima, arrived.\n"
    )
    assert count_crates(text, "tin", "Oslo") == 23
    assert ledger_answer("How many crates of tin reached Oslo in total?\n" + text) == 23
    assert ledger_answer("no question here") is None


def test_bad_ledger_arguments() -> None:
    with pytest.raises(ConfigError, match="chars >= 2000"):
        make_ledger_task(0, chars=100)
    with pytest.raises(ConfigError, match="strategy"):
        ledger_teacher(strategy="guess")  # type: ignore[arg-type]


@pytest.mark.parametrize("strategy", ["sub_calls", "code"])
async def test_the_teacher_and_reader_solve_a_million_characters(strategy: str) -> None:
    task = make_ledger_task(3)
    assert len(task.context) >= 1_000_000
    teacher = ledger_teacher(strategy=strategy)  # type: ignore[arg-type]
    result = await arun_rlm(teacher, task.context, task.question, sub_model=ledger_reader())
    assert result.stop_reason == "answered" and result.answer == task.answer
    pieces = -(-len(task.context) // 20_000)
    if strategy == "sub_calls":
        assert pieces <= result.usage.sub_calls <= pieces + 2
    else:
        assert result.usage.sub_calls == 0


def test_the_reader_sees_only_its_prompt() -> None:
    task = make_ledger_task(4, chars=30_000)
    half = task.context[: len(task.context) // 2]
    reply = ledger_reader().invoke(f"{task.question}\n\n{half}")
    assert int(reply.text) == count_crates(half, task.good, task.city)


async def test_the_reward_scores_the_answer() -> None:
    task = make_ledger_task(1, chars=5_000).record()
    reward = ledger_reward()

    def episode(output: object) -> Episode:
        return Episode(task_id=task["id"], task=task, role="rlm", output=output)

    results = await reward.score(
        [
            episode({"answer": task["answer"]}),
            episode({"answer": f"{task['answer']} crates"}),
            episode({"answer": task["answer"] + 1}),
            episode({"answer": None}),
            episode("not a result"),
        ]
    )
    assert [r.value for r in results] == [1.0, 1.0, 0.0, 0.0, None]
