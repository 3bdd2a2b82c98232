"""The streaming parser: any split of the text gives the same events; errors never raise and
their offset is where the text stops being a valid beginning of a thread."""

from __future__ import annotations

import itertools
import json

from hypothesis import given, settings
from hypothesis import strategies as st

from hone.threads import (
    SubtasksClosed,
    Task,
    Thread,
    ThreadClosed,
    ThreadParser,
    ThreadSchema,
    ThreadTool,
    ToolCallReady,
    ToolUse,
    parse_thread,
)

SCHEMA = ThreadSchema(
    tools=(ThreadTool("lookup", "", {"type": "object"}), ThreadTool("add", "", {"type": "object"})),
    max_depth=3,
)

texts = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=12)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-999, 999)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)


@st.composite
def tasks(draw: st.DrawFn, depth: int = 1) -> Task:
    tooluse = None
    if draw(st.booleans()):
        tooluse = ToolUse(
            draw(st.sampled_from(["lookup", "add"])),
            draw(st.dictionaries(texts, json_values, max_size=3)),
            draw(texts),
        )
    subtasks: tuple[Task, ...] = ()
    if depth < SCHEMA.max_depth and draw(st.booleans()):
        subtasks = tuple(draw(st.lists(tasks(depth + 1), min_size=1, max_size=3)))
    return Task(thought=draw(texts), conclusion=draw(texts), tooluse=tooluse, subtasks=subtasks)


threads = st.builds(Thread, reasoning=tasks(), answer=texts)


def _feed_all(parser: ThreadParser, text: str, cuts: list[int]) -> list[object]:
    """Feed ``text`` in pieces, resuming after each tool call as a runtime would."""
    events: list[object] = []
    bounds = [0, *sorted(set(cuts)), len(text)]
    for start, end in itertools.pairwise(bounds):
        piece = text[start:end]
        while piece:
            before = parser.offset
            events.extend(parser.feed(piece))
            piece = piece[parser.offset - before :]
            if parser.paused:
                parser.resume()
            elif parser.error is not None:
                return events
    return events


@given(threads, st.lists(st.integers(0, 400), max_size=20))
@settings(max_examples=150, deadline=None)
def test_any_split_gives_the_same_events_and_tree(thread: Thread, cuts: list[int]) -> None:
    text = thread.to_text()
    whole = parse_thread(text, SCHEMA)
    assert whole.error is None and whole.thread == thread
    parser = ThreadParser(SCHEMA)
    events = _feed_all(parser, text, [c for c in cuts if c < len(text)])
    assert events == list(whole.events) and parser.done and parser.thread == thread
    calls = [e for e in events if isinstance(e, ToolCallReady)]
    assert len(calls) == thread.reasoning.tool_calls
    for call in calls:  # the parameters end right before the runtime's text
        assert text[call.end :].startswith(', "tool_result": ')
    assert isinstance(events[-1], ThreadClosed)


@given(threads, st.integers(0, 10_000), st.sampled_from(list('{}[],:"x1 -tn\\')))
@settings(max_examples=300, deadline=None)
def test_errors_point_at_the_end_of_a_valid_beginning(thread: Thread, at: int, junk: str) -> None:
    text = thread.to_text()
    at %= len(text)
    broken = text[:at] + junk + text[at:]
    parsed = parse_thread(broken, SCHEMA)  # never raises
    if parsed.error is None:
        assert parsed.thread is not None
        return
    offset = parsed.error.offset
    assert 0 <= offset <= len(broken) and parsed.error.message
    prefix = ThreadParser(SCHEMA)
    _feed_all(prefix, broken[:offset], [])
    assert prefix.error is None  # everything before the offset is acceptable


def test_rules_of_the_tree() -> None:
    ok = '{"reasoning": {"thought": "t", "conclusion": "c"}, "answer": "a"}'
    assert parse_thread(ok, SCHEMA).error is None
    cases = {
        '{"reasoning": {"conclusion": "c"}, "answer": "a"}': "starts with 'thought'",
        '{"reasoning": {"thought": "t", "conclusion": "c", "thought": "u"}, "answer": "a"}': "twice",
        '{"reasoning": {"thought": "t", "conclusion": "c", "subtasks": []}, "answer": "a"}': "must come before",
        '{"reasoning": {"thought": "t", "note": 1, "conclusion": "c"}, "answer": "a"}': "no key 'note'",
        '{"reasoning": {"thought": 5, "conclusion": "c"}, "answer": "a"}': "must be a string",
        '{"reasoning": {"thought": "t", "subtasks": [], "conclusion": "c"}, "answer": "a"}': "at least one task",
        '{"reasoning": {"thought": "t", "subtasks": ["x"], "conclusion": "c"}, "answer": "a"}': "a subtask must be a task",
        '{"reasoning": {"thought": "t", "tooluse": {"tool_name": "nope", "parameters": {}}, "conclusion": "c"}, "answer": "a"}': "unknown tool 'nope'",
        '{"reasoning": {"thought": "t", "tooluse": {"tool_name": "add", "parameters": [1]}, "conclusion": "c"}, "answer": "a"}': "must be a JSON object",
        '{"reasoning": {"thought": "t", "tooluse": {"tool_name": "add", "parameters": {}}}, "answer": "a"}': "and then its result",
        '{"reasoning": {"thought": "t"}, "answer": "a"}': 'ends with its "conclusion"',
        '{"reasoning": {"thought": "t", "conclusion": "c"}}': 'ends with "answer"',
        '{"reasoning": {"thought": "t", "conclusion": "c"}, "answer": "a"} x': "already complete",
        '{"reasoning": {"thought": "a\\q", "conclusion": "c"}, "answer": "a"}': "invalid escape",
        '{"reasoning": {"thought": "t", "conclusion": "c"}, "answer": "a"': "not finished",
        '["x"]': "the thread must be the thread object",
    }
    for text, fragment in cases.items():
        error = parse_thread(text, SCHEMA).error
        assert error is not None and fragment in error.message, (text, error)


def test_depth_limit() -> None:
    deep = Thread(
        reasoning=Task(
            "a",
            "b",
            subtasks=(Task("c", "d", subtasks=(Task("e", "f", subtasks=(Task("g", "h"),)),)),),
        ),
        answer="x",
    ).to_text()
    error = parse_thread(deep, SCHEMA).error
    assert error is not None and "depth 3 (the limit is 3)" in error.message
    assert deep[error.offset :].startswith('"subtasks"')


def test_location_follows_the_writing() -> None:
    parser = ThreadParser(SCHEMA)
    parser.feed('{"reasoning": {"thought": "t", "subtasks": [{"thought": "inner')
    where = parser.location
    assert where.path == (0,) and where.field == "thought" and where.depth == 2
    parser.feed('", ')
    assert parser.location.field is None  # between two fields
    parser.feed('"tooluse": {"tool_name": "add", ')
    assert parser.location.field == "tooluse"
    parser.feed('"parameters": {"a": ')
    assert parser.location.field == "tooluse.parameters"
    events = parser.feed("1}")
    assert parser.paused and isinstance(events[0], ToolCallReady)
    assert events[0].path == (0,) and events[0].parameters == {"a": 1}
    assert parser.feed("more") == [] and parser.paused  # nothing is read while paused


def test_subtask_lists_report_their_tasks_internals() -> None:
    text = Thread(
        reasoning=Task("plan", "done", subtasks=(Task("a", "x"), Task("b", "y"))), answer="z"
    ).to_text()
    closed = [e for e in parse_thread(text, SCHEMA).events if isinstance(e, SubtasksClosed)]
    assert len(closed) == 1 and closed[0].path == ()
    first, second = closed[0].tasks
    assert text[first.internals.start : first.internals.end] == '"thought": "a", '
    assert text[second.span.start : second.span.end] == '{"thought": "b", "conclusion": "y"}'
    assert json.loads(text[closed[0].span.start : closed[0].span.end])[1]["conclusion"] == "y"
