"""Thread values: canonical text, round trips, and the shape checks of ``from_dict``."""

from __future__ import annotations

import json

import pytest

from hone.errors import ConfigError
from hone.threads import Task, Thread, ToolUse


def _thread() -> Thread:
    return Thread(
        reasoning=Task(
            thought="Plan.",
            tooluse=ToolUse("lookup", {"key": "k1"}, "7"),
            subtasks=(Task(thought="Leaf.", conclusion="Done."),),
            conclusion="All done.",
        ),
        answer="7",
    )


def test_text_is_canonical_json_with_keys_in_schema_order() -> None:
    text = _thread().to_text()
    assert text == json.dumps(json.loads(text), ensure_ascii=False)
    assert list(json.loads(text)["reasoning"]) == ["thought", "tooluse", "subtasks", "conclusion"]
    assert Thread.from_dict(json.loads(text)) == _thread()


def test_counts() -> None:
    task = _thread().reasoning
    assert task.depth == 2 and task.tool_calls == 1


@pytest.mark.parametrize(
    "data",
    [
        {"reasoning": {"thought": "x", "conclusion": "y"}},
        {"reasoning": {"thought": "x"}, "answer": "a"},
        {"reasoning": {"thought": "x", "conclusion": "y", "extra": 1}, "answer": "a"},
        {"reasoning": {"thought": "x", "conclusion": "y", "subtasks": {}}, "answer": "a"},
        {
            "reasoning": {"thought": "x", "conclusion": "y", "tooluse": {"tool_name": "t"}},
            "answer": "a",
        },
        {"reasoning": {"thought": "x", "conclusion": "y"}, "answer": 3},
    ],
)
def test_from_dict_names_the_problem(data: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        Thread.from_dict(data)
