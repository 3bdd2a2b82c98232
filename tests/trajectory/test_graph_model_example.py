"""examples/training/graph_agent.py: a graph agent trained with RL on the tiny model, then
served by the same compiled graph."""

from __future__ import annotations

import runpy
from pathlib import Path

import pytest

from hone.trajectory import TrajectoryStore

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "training" / "graph_agent.py"


@pytest.mark.slow
def test_the_graph_agent_example_trains_and_serves(capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("torch")
    example = runpy.run_path(str(EXAMPLE))
    result = example["main"](steps=1)
    assert result.steps == 1 and result.model_dir is not None
    with TrajectoryStore(result.output_dir / "trajectories.db") as store:
        episodes = store.query()
    assert len(episodes) == 4  # tasks_per_step × group_size
    for episode in episodes:
        assert episode.stop_reason in ("answered", "truncated", "step_budget")
        assert episode.calls and all(call.has_tokens for call in episode.calls)
        assert episode.calls[0].messages[0]["content"] == example["SYSTEM"]
    out = capsys.readouterr().out
    assert "why the episodes stopped" in out and "served answer" in out
