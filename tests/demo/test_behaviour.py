"""Tests for the countdown behaviour counts."""

from __future__ import annotations

import asyncio

from hone.demo import CountdownAgent, CountdownTeacher, behaviour, countdown_reward, task_record
from hone.demo.countdown import make_splits
from hone.messages import (
    AnyMessage,
    AssistantMessage,
    SystemMessage,
    ToolCall,
    ToolMessage,
    UserMessage,
    to_openai,
)
from hone.train import evaluate
from hone.trajectory import Episode


def _episode(*turns: tuple[str, str, str]) -> Episode:
    """An episode made of ``(tool, expression, tool reply)`` turns."""
    messages: list[AnyMessage] = [
        SystemMessage(content="s"),
        UserMessage(content="Numbers: 3 4 2\nTarget: 14"),
    ]
    for i, (name, expression, reply) in enumerate(turns):
        call = ToolCall(id=f"c{i}", name=name, arguments={"expression": expression})
        messages += [
            AssistantMessage(tool_calls=(call,)),
            ToolMessage(content=reply, tool_call_id=call.id),
        ]
    return Episode(task_id="t", messages=[to_openai(m) for m in messages])


def test_counts_checks_hits_submissions_and_errors() -> None:
    persistent = _episode(
        ("calc", "3+4+2", "9 (target 14: no)"),
        ("calc", "3+4+2", "error: already checked"),
        ("calc", "3*4+2", "14 (target reached)"),
        ("submit", "3*4+2", "submitted"),
    )
    hasty = _episode(("calc", "3+4*2", "11 (target 14: no)"), ("submit", "3+4*2", "submitted"))
    lost = _episode(("calc", "4+3+2", "error: use the numbers once, in order"))
    counts = behaviour([persistent, hasty, lost])
    assert counts.episodes == 3
    assert counts.mean_checks == (3 + 1 + 1) / 3
    assert (counts.single_check, counts.four_or_more_checks) == (2, 0)
    assert (counts.hit, counts.submitted, counts.error_replies) == (1, 2, 2)
    assert counts.as_dict()["hit"] == 1.0


def test_a_submit_reply_is_not_read_as_a_hit() -> None:
    # only calc replies count: a submit tool answering "target reached" is not a check
    counts = behaviour([_episode(("submit", "3*4+2", "14 (target reached)"))])
    assert (counts.hit, counts.submitted, counts.mean_checks) == (0, 1, 0.0)


def test_no_episodes_counts_nothing() -> None:
    assert behaviour([]).episodes == 0 and behaviour([]).mean_checks == 0.0


def test_the_default_teacher_mostly_checks_once() -> None:
    tasks = [task_record(t) for t in make_splits(0, n_train=0, n_test=200).test]
    result = asyncio.run(evaluate(CountdownAgent(), tasks, CountdownTeacher(), countdown_reward))
    counts = behaviour(result.episodes)
    assert counts.submitted == counts.episodes == 200
    assert counts.error_replies == 0
    assert 0.5 < counts.single_check / 200 < 0.75  # 60% patience 1, plus early hits
    assert counts.hit / 200 >= result.success_rate - 1e-9  # it submits every hit it sees
