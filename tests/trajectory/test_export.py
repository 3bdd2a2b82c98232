"""Exports: JSONL, Parquet, OpenAI fine-tuning JSONL, datasets; and reimport."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from hone.errors import TrajectoryError
from hone.trajectory import (
    Episode,
    ModelCall,
    read_jsonl,
    read_parquet,
    to_dataset,
    write_jsonl,
    write_openai_jsonl,
    write_parquet,
)

TOOLS = [{"type": "function", "function": {"name": "add", "parameters": {"type": "object"}}}]


def episodes() -> list[Episode]:
    messages: list[dict[str, Any]] = [
        {"role": "user", "content": "2+2?"},
        {
            "role": "assistant",
            "content": None,
            "reasoning_content": "easy",
            "tool_calls": [
                {
                    "id": "c1",
                    "type": "function",
                    "function": {"name": "add", "arguments": '{"a": 2, "b": 2}'},
                }
            ],
        },
        {"role": "tool", "content": "4", "tool_call_id": "c1"},
        {"role": "assistant", "content": "4"},
    ]
    call = ModelCall(
        index=0, role="agent", model="m", messages=messages[:1], output=messages[1], tools=TOOLS
    )
    return [
        Episode(task_id="a", task={"q": "2+2"}, calls=[call], messages=messages, reward=1.0),
        Episode(task_id="b", reward=0.0, calls=[call]),
        Episode(task_id="c", reward=None, status="error", error="boom"),
    ]


def test_jsonl_round_trip(tmp_path: Path) -> None:
    eps = episodes()
    path = tmp_path / "e.jsonl"
    assert write_jsonl(eps, path) == 3
    assert read_jsonl(path) == eps
    path.write_text(path.read_text() + "\n{broken\n")
    with pytest.raises(TrajectoryError, match="line 5"):
        read_jsonl(path)


def test_parquet_round_trip(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    eps = episodes()
    path = tmp_path / "e.parquet"
    assert write_parquet(eps, path) == 3
    table = pq.read_table(path)
    assert table.column("reward").to_pylist() == [1.0, 0.0, None]
    assert table.column("status").to_pylist() == ["ok", "ok", "error"]
    assert read_parquet(path) == eps


def test_openai_finetuning_jsonl(tmp_path: Path) -> None:
    path = tmp_path / "ft.jsonl"
    assert write_openai_jsonl(episodes(), path) == 2  # the failed episode is left out
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    first = lines[0]
    assert first["tools"] == TOOLS
    assert [m["role"] for m in first["messages"]] == ["user", "assistant", "tool", "assistant"]
    assert "reasoning_content" not in first["messages"][1]
    assert first["messages"][1]["tool_calls"][0]["function"]["name"] == "add"
    # The second episode has no messages: its last call's transcript is used.
    assert [m["role"] for m in lines[1]["messages"]] == ["user", "assistant"]
    assert write_openai_jsonl(episodes(), path, min_reward=0.5) == 1


def test_datasets_export() -> None:
    eps = episodes()
    dataset = to_dataset(eps)
    assert len(dataset) == 3
    assert dataset[0]["task_id"] == "a" and dataset[2]["reward"] is None
    assert dataset[0]["num_calls"] == 1
    assert [Episode.from_json(row["episode"]) for row in dataset] == eps
