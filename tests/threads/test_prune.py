"""TIM's rule: a stack of completed subtask lists; the oldest loses its internals."""

from __future__ import annotations

import json

import pytest

from hone.errors import ConfigError
from hone.threads import (
    LookupTask,
    Pruner,
    PruneRule,
    Span,
    SubtasksClosed,
    parse_thread,
    pruned_text,
)
from hone.threads._lookup import _TEACHER_SCHEMA


def _closed(text: str) -> list[SubtasksClosed]:
    return [e for e in parse_thread(text, _TEACHER_SCHEMA).events if isinstance(e, SubtasksClosed)]


def _prune(text: str, size: int) -> str:
    pruner = Pruner(PruneRule(size))
    for event in _closed(text):
        pruner.on_closed(event)
    return pruned_text(text, pruner.pruned)


TASK = LookupTask(
    keys=("k1", "k2", "k3", "k4", "k5"),
    values=(1, 2, 3, 4, 5),
    group_size=2,
    records=("1", "2", "3", "4", "5"),
)


def test_lists_close_innermost_first_and_the_oldest_goes_past_the_stack() -> None:
    text = TASK.thread().to_text()
    closed = _closed(text)
    assert [e.path for e in closed] == [(0,), (1,), (2,), ()]  # three groups, then the plan
    pruner = Pruner(PruneRule(2))
    assert pruner.on_closed(closed[0]) == [] and pruner.on_closed(closed[1]) == []
    spans = pruner.on_closed(closed[2])  # three lists on a stack of two: group 1 goes
    assert spans == [t.internals for t in closed[0].tasks]
    assert [e.path for e in pruner.stack] == [(1,), (2,)]


def test_pruned_view_keeps_conclusions_and_stays_json() -> None:
    text = TASK.thread().to_text()
    view = json.loads(_prune(text, 1))
    groups = view["reasoning"]["subtasks"]
    assert groups[0]["subtasks"] == [
        {"conclusion": "k1 = 1."},
        {"conclusion": "k2 = 2."},
        {"conclusion": "Group 1 adds up to 3."},
    ]
    assert groups[2]["subtasks"][0] == {"conclusion": "k5 = 5."}  # pushed out by the plan's
    last = json.loads(_prune(text, 2))["reasoning"]["subtasks"][2]
    assert "thought" in last["subtasks"][0]  # with a stack of two it is still whole
    assert json.loads(_prune(text, 10)) == json.loads(text)  # a big stack prunes nothing
    everything = json.loads(_prune(text, 0))  # the plan's own list goes too, in the end
    assert everything["reasoning"]["subtasks"][0] == {
        "conclusion": "Group 1 (k1, k2) adds up to 3."
    }
    assert len(_prune(text, 0)) < len(_prune(text, 1)) < len(text)


def test_lists_inside_pruned_internals_leave_the_stack() -> None:
    text = TASK.thread().to_text()
    closed = _closed(text)
    pruner = Pruner(PruneRule(3))
    for event in closed[:3]:
        pruner.on_closed(event)
    pruner.stack.insert(0, closed[3])  # pretend the plan's list is the oldest
    spans = pruner.on_closed(closed[0])
    assert len(spans) == len(closed[3].tasks)
    assert pruner.stack == []  # every other list was inside the plan's internals


def test_pruned_text_merges_overlaps() -> None:
    assert pruned_text("abcdefgh", [Span(1, 4), Span(2, 3), Span(6, 8)]) == "aef"
    assert pruned_text("abc", []) == "abc"


def test_rule_is_checked() -> None:
    with pytest.raises(ConfigError):
        PruneRule(-1)
