"""``hone traj show`` and ``hone traj export`` on a store of recorded episodes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hone.agent import arun_agent
from hone.cli import app
from hone.models import ModelBackend, ScriptedModel
from hone.rewards import reward_fn
from hone.tools import tool
from hone.trajectory import TrajectoryStore, read_jsonl, read_parquet, rollout_batch

runner = CliRunner()

CALL = '<tool_call>{"name": "add", "arguments": {"a": 2, "b": 3}}</tool_call>'


@tool
def add(a: int, b: int) -> int:
    """Add two integers.

    Args:
        a: The first addend.
        b: The second addend.
    """
    return a + b


async def program(task: dict[str, str], model: ModelBackend) -> object:
    return await arun_agent(model, [add], task["question"])


@pytest.fixture
async def store_path(tmp_path: Path) -> Path:
    model = ScriptedModel([CALL, "The sum is 5."], when_exhausted="cycle")
    score = reward_fn(lambda ep: "5" in ep.final_text)
    tasks = [{"id": "t1", "question": "2+3?"}]
    batch = await rollout_batch(program, tasks, model, group_size=2, reward=score, concurrency=1)
    path = tmp_path / "traj.db"
    with TrajectoryStore(path) as store:
        store.add(batch.episodes, run="demo", step=1)
    return path


def test_show_prints_calls_tool_calls_observations_tokens_and_reward(store_path: Path) -> None:
    episode_id = TrajectoryStore(store_path).query()[0].id
    result = runner.invoke(app, ["traj", "show", str(store_path), "--id", episode_id])
    assert result.exit_code == 0, result.output
    out = result.output
    assert f"episode {episode_id}" in out
    assert "call 0" in out and "call 1" in out
    assert "→ add" in out  # the tool call
    assert "<tool_response>" not in out and "tool: 5" in out  # the observation
    assert "prompt" in out and "tokens, sampled" in out
    assert "reward 1" in out


def test_show_lists_a_run(store_path: Path) -> None:
    result = runner.invoke(app, ["traj", "show", str(store_path), "--run", "demo", "--limit", "2"])
    assert result.exit_code == 0, result.output
    assert result.output.count("episode ep_") == 2
    missing = runner.invoke(app, ["traj", "show", str(store_path), "--id", "nope"])
    assert missing.exit_code == 1 and "no episode 'nope'" in missing.output


@pytest.mark.parametrize("fmt", ["jsonl", "parquet", "openai", "hf"])
def test_export_formats(store_path: Path, tmp_path: Path, fmt: str) -> None:
    out = tmp_path / f"export.{fmt}"
    result = runner.invoke(
        app, ["traj", "export", str(store_path), "--format", fmt, "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    assert "wrote 2 episodes" in result.output
    if fmt == "jsonl":
        assert [e.reward for e in read_jsonl(out)] == [1.0, 1.0]
    elif fmt == "parquet":
        assert len(read_parquet(out)) == 2
    elif fmt == "openai":
        lines = [json.loads(line) for line in out.read_text().splitlines()]
        assert lines[0]["messages"][-1] == {"role": "assistant", "content": "The sum is 5."}
        assert lines[0]["tools"][0]["function"]["name"] == "add"
    else:
        import datasets

        assert len(datasets.load_from_disk(str(out))) == 2


def test_export_rejects_an_unknown_format(store_path: Path, tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["traj", "export", str(store_path), "--format", "csv", "--out", str(tmp_path / "x")]
    )
    assert result.exit_code == 1 and "unknown --format 'csv'" in result.output
