"""The benchmark task: generated, verifiable, with teachers that write its solution."""

from __future__ import annotations

import pytest

from hone.errors import ConfigError
from hone.threads import LookupSuite, ThreadSchema, ToolCallReady, parse_thread


def test_tasks_are_reproducible_and_within_range() -> None:
    one, two = LookupSuite(5, seed=7), LookupSuite(5, seed=7)
    assert one.questions == two.questions and one.questions != LookupSuite(5, seed=8).questions
    for task in one.tasks:
        assert 10 <= len(task.keys) <= 40 and len(set(task.keys)) == len(task.keys)
        assert task.values == tuple(one.ledger[k] for k in task.keys)
        assert task.check(f"The total is {task.total}.") and not task.check(str(task.total + 1))
        assert not task.check(None)


def test_the_tree_is_valid_and_its_calls_are_the_flat_calls() -> None:
    suite = LookupSuite(2, lookups=(7, 9), group_size=3, seed=1)
    schema = ThreadSchema.for_tools(suite.tools())
    for task in suite.tasks:
        parsed = parse_thread(task.thread().to_text(), schema)
        assert parsed.error is None and parsed.thread == task.thread()
        calls = [e for e in parsed.events if isinstance(e, ToolCallReady)]
        flat = task.flat_calls()
        assert [(c.tool_name, c.parameters) for c in calls] == [(c.name, c.arguments) for c in flat]
        assert len(calls) == task.tool_calls


def test_the_teacher_stops_at_each_call_and_refuses_other_text() -> None:
    suite = LookupSuite(1, lookups=(3, 3), group_size=2, seed=0)
    teacher = suite.tree_teacher()
    first = teacher.continuation(0, "")
    assert first.endswith(f'"parameters": {{"key": "{suite.tasks[0].keys[0]}"}}')
    with pytest.raises(ConfigError, match="left the intended solution"):
        teacher.continuation(0, first + ', "tool_result": "wrong"}')


def test_bad_sizes_are_refused() -> None:
    with pytest.raises(ConfigError):
        LookupSuite(0)
    with pytest.raises(ConfigError):
        LookupSuite(1, lookups=(5, 2))
