"""Tests for the countdown agent program, its reward and the tool-schema wrapper."""

from __future__ import annotations

import asyncio

import pytest

from hone.demo import (
    CountdownAgent,
    countdown_reward,
    submitted_expression,
    task_from_record,
    task_record,
)
from hone.demo.countdown import CountdownTask
from hone.errors import ConfigError
from hone.models import ScriptedModel
from hone.trajectory import rollout

TASK = CountdownTask((3, 4, 2), 14)


def _call(name: str, expression: str) -> str:
    return f'<tool_call>\n{{"name": "{name}", "arguments": {{"expression": "{expression}"}}}}\n</tool_call>'


def _run(replies: list[str], max_turns: int = 6) -> tuple[ScriptedModel, float | None]:
    model = ScriptedModel(replies)
    agent = CountdownAgent(max_turns=max_turns)
    episodes = asyncio.run(rollout(agent, task_record(TASK), model, reward=countdown_reward))
    return model, episodes[0].reward


def test_agent_checks_then_submits_and_is_rewarded() -> None:
    model, reward = _run(
        [_call("calc", "3+4*2"), _call("calc", "(3+4)*2"), _call("submit", "(3+4)*2")]
    )
    assert reward == 1.0
    second = model.requests[1]
    assert second.messages[-1].text == "11 (target 14: no)"  # the observation the model sees
    assert all(not r.tools for r in model.requests)  # tool schemas are left out of prompts


def test_wrong_or_missing_submission_scores_zero() -> None:
    assert _run([_call("submit", "3+4*2")])[1] == 0.0
    assert _run([_call("calc", "3+4*2")] * 2, max_turns=2)[1] == 0.0
    assert _run(["I give up."])[1] == 0.0


def test_bad_calls_are_observations_not_crashes() -> None:
    model, reward = _run(
        ["<tool_call>\n{broken\n</tool_call>", _call("calc", "9*9*9"), _call("submit", "(3+4)*2")]
    )
    assert reward == 1.0
    assert "error" in model.requests[2].messages[-1].text


def test_records_and_submissions() -> None:
    assert task_from_record(task_record(TASK)) == TASK
    assert task_record(TASK)["id"] == "3-4-2=14"
    with pytest.raises(ConfigError):
        task_from_record({"numbers": [1, 2]})
    call = {
        "role": "assistant",
        "tool_calls": [
            {
                "id": "c",
                "type": "function",
                "function": {"name": "submit", "arguments": '{"expression": "1+2"}'},
            }
        ],
    }
    assert submitted_expression([{"role": "user", "content": "hi"}, call]) == "1+2"
    assert submitted_expression([{"role": "user", "content": "hi"}]) is None
