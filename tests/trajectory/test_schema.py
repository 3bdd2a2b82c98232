"""The trajectory schema: JSON round-trip, version refusal, task ids."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from hone.errors import TrajectoryError, TrajectoryVersionError
from hone.trajectory import TRAJECTORY_VERSION, Episode, ModelCall, task_id_of, to_jsonable


def make_call(index: int = 0) -> ModelCall:
    return ModelCall(
        index=index,
        role="agent",
        model="m",
        messages=[{"role": "user", "content": "hi"}],
        output={"role": "assistant", "content": "hello"},
        tools=[{"type": "function", "function": {"name": "f", "parameters": {}}}],
        text="hello",
        prompt_token_ids=[1, 2, 3],
        token_ids=[4, 5],
        logprobs=[-0.5, -0.25],
        parse_errors=["bad"],
        sampling={"temperature": 1.0, "seed": 7},
        reward=0.5,
        latency_s=0.01,
        usage={"prompt_tokens": 3, "completion_tokens": 2},
    )


def make_episode() -> Episode:
    return Episode(
        task_id="t1",
        task={"id": "t1", "question": "2+2", "answer": 4},
        calls=[make_call(0), make_call(1)],
        messages=[{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}],
        output="hello",
        reward=1.0,
        reward_components={"correct": 1.0},
        status="max_steps",
        error="ran out",
        group_id="g",
        seed=3,
        metadata={"k": [1, 2]},
    )


def test_round_trip_through_json() -> None:
    episode = make_episode()
    again = Episode.from_json(json.dumps(episode.to_dict()))
    assert again == episode
    assert again.version == TRAJECTORY_VERSION
    assert again.calls[1].has_tokens and again.num_parse_errors == 2
    assert again.final_text == "hello"


def test_newer_version_is_refused_with_a_clear_error() -> None:
    data = make_episode().to_dict()
    data["version"] = TRAJECTORY_VERSION + 1
    with pytest.raises(TrajectoryVersionError, match="upgrade hone"):
        Episode.from_dict(data)


@pytest.mark.parametrize(
    "change",
    [{"status": "weird"}, {"unknown_field": 1}, {"version": "1"}],
)
def test_invalid_data_is_refused(change: dict[str, object]) -> None:
    data = make_episode().to_dict() | change
    with pytest.raises(TrajectoryError):
        Episode.from_dict(data)


def test_invalid_call_and_bad_json_are_refused() -> None:
    data = make_episode().to_dict()
    del data["calls"][0]["index"]
    with pytest.raises(TrajectoryError, match="model call"):
        Episode.from_dict(data)
    with pytest.raises(TrajectoryError, match="cannot be decoded"):
        Episode.from_json("{not json")


def test_transcript_falls_back_to_the_last_call() -> None:
    episode = Episode(task_id="t", calls=[make_call()])
    assert episode.transcript() == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "hello"},
    ]
    assert episode.final_text == "hello"


def test_task_ids() -> None:
    assert task_id_of({"id": 5, "q": "x"}) == "5"
    assert task_id_of({"task_id": "a"}) == "a"
    assert task_id_of("what is 2+2?") == task_id_of("what is 2+2?")
    assert task_id_of("a") != task_id_of("b")
    assert task_id_of({"q": 1, "r": 2}) == task_id_of({"r": 2, "q": 1})


def test_to_jsonable_handles_odd_values() -> None:
    out = to_jsonable({"n": math.nan, "t": (1, 2), "o": object})
    assert out["n"] == "nan" and out["t"] == [1, 2] and isinstance(out["o"], str)
    json.dumps(out)


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.text()
    | st.floats(allow_nan=False, allow_infinity=False),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=10,
)


@given(task=json_values, metadata=st.dictionaries(st.text(), json_values, max_size=3))
def test_any_json_payload_round_trips(task: object, metadata: dict[str, object]) -> None:
    episode = Episode(task_id="t", task=task, metadata=metadata)
    assert Episode.from_json(episode.to_json()) == episode


def _answer_call(args: str) -> dict[str, object]:
    return {"id": "c1", "type": "function", "function": {"name": "answer", "arguments": args}}


@pytest.mark.parametrize(
    ("messages", "expected"),
    [
        ([{"role": "assistant", "content": "42"}], "42"),
        (  # a stop tool ends the run: its one argument is the answer
            [
                {
                    "role": "assistant",
                    "content": None,
                    "tool_calls": [_answer_call('{"value": "7"}')],
                },
                {"role": "tool", "tool_call_id": "c1", "content": "ok"},
            ],
            "7",
        ),
        (  # several arguments: all of them, as JSON
            [{"role": "assistant", "tool_calls": [_answer_call('{"a": 1, "b": 2}')]}],
            '{"a": 1, "b": 2}',
        ),
        ([{"role": "assistant", "tool_calls": [_answer_call('{"n": 3}')]}], "3"),
        (  # the run went on after the call: no answer there
            [
                {"role": "assistant", "tool_calls": [_answer_call('{"value": "7"}')]},
                {"role": "tool", "tool_call_id": "c1", "content": "ok"},
                {"role": "user", "content": "more?"},
            ],
            "",
        ),
        ([{"role": "user", "content": "hi"}], ""),
    ],
)
def test_final_answer(messages: list[dict[str, object]], expected: str) -> None:
    episode = Episode(task_id="t", messages=messages)
    assert episode.final_answer == expected
    if expected and "tool_calls" in messages[0]:
        assert episode.final_text == ""  # what the answer used to be for stop-tool agents


def test_tool_errors_count_failed_tool_results() -> None:
    messages = [
        {"role": "tool", "tool_call_id": "a", "content": "Error: no key", "is_error": True},
        {"role": "tool", "tool_call_id": "b", "content": "fine"},
    ]
    assert Episode(task_id="t", messages=messages).tool_errors == 1
