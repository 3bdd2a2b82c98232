"""``hone train`` and ``hone eval`` on a tiny model with a toy task module."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hone.cli import app
from hone.models._tiny_corpus import default_corpus
from hone.models.tiny import TinyConfig, build_tiny_model

runner = CliRunner()

SMALL = TinyConfig(
    hidden_size=32, layers=1, heads=2, kv_heads=1, intermediate=64, max_position=256, vocab_size=512
)

TOY = """
from hone.models import SamplingOptions, ScriptedModel, make_request


def tasks(split, seed=0):
    first = 0 if split == "train" else 10
    return [{"id": f"n{n}", "n": n} for n in range(first, first + 4)]


async def program(task, model):
    request = make_request(f"Say {task['n']}.", options=SamplingOptions(max_tokens=3))
    completion = await model.complete(request)
    return [*request.messages, completion.message]


def reward(episode):
    if episode.task["n"] == 13:
        return None
    return float(episode.final_text.strip() == str(episode.task["n"])) + episode.metadata["rollout_index"] % 2


def teacher():
    return ScriptedModel([lambda r: r.messages[-1].content.split()[-1].rstrip(".")], when_exhausted="cycle")
"""


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(
        tmp_path_factory.mktemp("tiny-cli"), corpus=default_corpus(200), config=SMALL
    )


@pytest.fixture
def project(tmp_path: Path, tiny_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with the toy module and a run config next to it."""
    (tmp_path / "cli_train_toy.py").write_text(textwrap.dedent(TOY))
    monkeypatch.delitem(sys.modules, "cli_train_toy", raising=False)
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run.yaml").write_text(
        textwrap.dedent(
            f"""
            model: "hf:{tiny_dir}"
            tasks: cli_train_toy:tasks
            program: cli_train_toy:program
            reward: cli_train_toy:reward
            output_dir: out
            sft: {{teacher_model: "cli_train_toy:teacher", batch_size: 4}}
            rl: {{group_size: 2, tasks_per_step: 2, steps: 2, eval_every: 2, lr: 0.001}}
            """
        )
    )
    return tmp_path


def test_train_writes_metrics_plot_and_model_then_resumes(project: Path) -> None:
    result = runner.invoke(app, ["train", "run.yaml"])
    assert result.exit_code == 0, result.output
    assert "after 2 RL steps" in result.output and "reward" in result.output
    out = project / "out"
    for name in ("metrics.csv", "metrics.jsonl", "metrics.png", "model/config.json"):
        assert (out / name).is_file(), name
    assert (out / "sft" / "model" / "config.json").is_file()
    again = runner.invoke(app, ["train", "run.yaml"])
    assert again.exit_code == 1 and "already holds a run" in again.output
    resumed = runner.invoke(app, ["train", "run.yaml", "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 2


def test_train_reports_config_errors_in_one_line(project: Path) -> None:
    (project / "bad.yaml").write_text(
        "model: 'tiny:'\ntasks: x:y\nprogram: x:y\nrl: {group_size: 1}\n"
    )
    result = runner.invoke(app, ["train", "bad.yaml"])
    assert result.exit_code == 1
    assert "rl.group_size" in result.output and "Traceback" not in result.output


def test_eval_from_flags_and_from_config(project: Path, tiny_dir: Path) -> None:
    flags = [
        "eval", "--program", "cli_train_toy:program", "--tasks", "cli_train_toy:tasks",
        "--reward", "cli_train_toy:reward", "--model", f"hf:{tiny_dir}", "--n", "3",
    ]  # fmt: skip
    result = runner.invoke(app, flags)
    assert result.exit_code == 0, result.output
    assert "n10" in result.output and "n12" in result.output and "n13" not in result.output
    assert "success rate" in result.output
    scripted = runner.invoke(
        app, ["eval", "--config", "run.yaml", "--model", "cli_train_toy:teacher"]
    )
    assert scripted.exit_code == 0, scripted.output
    assert "unscored 1" in scripted.output  # task 13's reward is None, not 0
    assert "success rate 1" in scripted.output  # the teacher is always right


def test_eval_needs_every_piece_without_a_config(project: Path) -> None:
    result = runner.invoke(app, ["eval", "--program", "cli_train_toy:program"])
    assert result.exit_code == 1 and "--tasks" in result.output
