"""The benchmark task: generated, verifiable, with teachers that write its solution."""

from __future__ import annotations

import pytest

from hone.errors import ConfigError
from hone.messages import UserMessage
from hone.models import ChatRequest, complete_sync
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
    with pytest.raises(ConfigError, match="distinct"):
        LookupSuite(1, lookups=(2, 2), keys=["a", "b", "c", "a"])
    with pytest.raises(ConfigError, match="at least 4"):
        LookupSuite(1, lookups=(2, 2), keys=["a", "b", "c"])
    with pytest.raises(ConfigError, match="max_value"):
        LookupSuite(1, lookups=(2, 2), max_value=0)


def test_word_keys_small_values_and_quoted_keys() -> None:
    words = ["amber", "basil", "cedar", "delta", "ember", "fable"]
    suite = LookupSuite(3, lookups=(2, 3), group_size=2, seed=2, keys=words, max_value=4,
                        quoted=True)  # fmt: skip
    assert set(suite.ledger) == set(words) and set(suite.ledger.values()) <= {1, 2, 3, 4}
    task = suite.tasks[0]
    quoted = ", ".join(f'"{key}"' for key in task.keys)
    assert f"add them up: {quoted}. What" in task.question
    first = task.thread().reasoning.subtasks[0]
    assert first.thought.startswith(f'Group 1: "{task.keys[0]}"')
    assert first.subtasks[0].conclusion == f'"{task.keys[0]}" = {task.values[0]}.'
    schema = ThreadSchema.for_tools(suite.tools())
    assert parse_thread(task.thread().to_text(), schema).error is None
    # The flat teacher's thoughts name the key it looks up, quoted the same way.
    request = ChatRequest(messages=[UserMessage(content=task.question)])
    reply = complete_sync(suite.flat_teacher(), request)
    assert reply.message.content == f'Look up "{task.keys[0]}".'
    # Unquoted (the default): the keys as they are.
    plain = LookupSuite(1, lookups=(2, 2), seed=2, keys=words)
    assert plain.tasks[0].named(0) == plain.tasks[0].keys[0]
