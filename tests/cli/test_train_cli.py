"""``hone train`` and ``hone eval`` on a tiny model with a toy task module."""

from __future__ import annotations

import csv
import json
import sys
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

from hone.cli import app
from hone.models._tiny_corpus import default_corpus
from hone.models.tiny import TinyConfig, build_tiny_model
from hone.trajectory import TrajectoryStore, derive_seed

runner = CliRunner()

SMALL = TinyConfig(
    hidden_size=32, layers=1, heads=2, kv_heads=1, intermediate=64, max_position=256, vocab_size=512
)

TOY = """
from hone.agent import AgentOptions, arun_agent
from hone.models import SamplingOptions, ScriptedModel, make_request
from hone.tools import tool


def tasks(split, seed=0, count=4):
    first = 0 if split == "train" else 10
    return [{"id": f"n{n}", "n": n} for n in range(first, first + count)]


async def program(task, model):
    request = make_request(f"Say {task['n']}.", options=SamplingOptions(max_tokens=3))
    completion = await model.complete(request)
    return [*request.messages, completion.message]


def reward(episode):
    if episode.task["n"] == 13:
        return None
    return float(episode.final_text.strip() == str(episode.task["n"])) + episode.metadata["rollout_index"] % 2


def exact(episode):
    return float(episode.final_answer == str(episode.task["n"]))


def teacher():
    return ScriptedModel([lambda r: r.messages[-1].content.split()[-1].rstrip(".")], when_exhausted="cycle")


@tool
def answer(value: str) -> str:
    '''Give the final answer.'''
    return "ok"


async def stop_tool_program(task, model):
    options = AgentOptions(stop_tools={"answer"}, final_answer=None)
    return await arun_agent(model, [answer], f"Say {task['n']}.", options=options)


def answering_teacher():
    def reply(request):
        n = request.messages[-1].content.split()[-1].rstrip(".")
        return '<tool_call>{"name": "answer", "arguments": {"value": "' + n + '"}}</tool_call>'

    return ScriptedModel([reply], when_exhausted="cycle")
"""


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_tiny_model(
        tmp_path_factory.mktemp("tiny-cli"), corpus=default_corpus(200), config=SMALL
    )


@pytest.fixture
def project(tmp_path: Path, tiny_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder with the toy module and a run config next to it; the CLI runs elsewhere."""
    folder = tmp_path / "project"
    folder.mkdir()
    (folder / "cli_train_toy.py").write_text(textwrap.dedent(TOY))
    monkeypatch.delitem(sys.modules, "cli_train_toy", raising=False)
    (folder / "run.yaml").write_text(
        textwrap.dedent(
            f"""
            model: "hf:{tiny_dir}"
            tasks: cli_train_toy:tasks
            program: cli_train_toy:program
            reward: cli_train_toy:reward
            output_dir: out
            sft: {{teacher_model: "cli_train_toy:teacher", batch_size: 4}}
            rl: {{group_size: 2, tasks_per_step: 2, steps: 2, eval: {{every: 2}}, trainer: {{lr: 0.001}}}}
            """
        )
    )
    monkeypatch.chdir(tmp_path)  # not the config's folder: paths must not depend on it
    return folder


def test_train_writes_metrics_plot_and_model_then_resumes(project: Path) -> None:
    result = runner.invoke(app, ["train", "project/run.yaml"])
    assert result.exit_code == 0, result.output
    assert "after 2 RL steps" in result.output and "reward" in result.output
    # Not a terminal: plain progress lines, the baseline evaluation among them.
    assert "rl 0/2 [" in result.output and "rl 2/2 [" in result.output
    assert "held-out evaluations" in result.output and "RL start" in result.output
    out = project / "out"  # relative to the config, not to the current folder
    for name in ("metrics.csv", "metrics.jsonl", "metrics.png", "model/config.json"):
        assert (out / name).is_file(), name
    assert (out / "best" / "config.json").is_file() and "best model (step" in result.output
    assert (out / "sft" / "model" / "config.json").is_file()
    again = runner.invoke(app, ["train", "project/run.yaml"])
    assert again.exit_code == 1 and "already holds a run" in again.output
    resumed = runner.invoke(app, ["train", "project/run.yaml", "--resume"])
    assert resumed.exit_code == 0, resumed.output
    assert len((out / "metrics.jsonl").read_text().splitlines()) == 3  # steps 0, 1, 2


def test_seed_and_output_dir_flags_replace_the_configs(project: Path, tmp_path: Path) -> None:
    args = ["train", "project/run.yaml", "--seed", "5", "-o", "elsewhere"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (tmp_path / "elsewhere" / "model" / "config.json").is_file()  # from the current folder
    assert not (project / "out").exists()
    teacher = (tmp_path / "elsewhere" / "sft" / "teacher.jsonl").read_text().splitlines()
    first = json.loads(teacher[0])
    assert first["seed"] == derive_seed(5, first["task_id"], 0)  # rollouts seeded from --seed


def test_strict_exits_non_zero_on_warnings(project: Path) -> None:
    text = (
        (project / "run.yaml")
        .read_text()
        .replace("reward: cli_train_toy:reward", "reward: cli_train_toy:exact")
    )
    (project / "flat.yaml").write_text(text.replace("output_dir: out", "output_dir: flat"))
    result = runner.invoke(app, ["train", "project/flat.yaml", "--strict"])
    # The random model never says the number: every group is flat, no step learns anything.
    assert result.exit_code == 3, result.output
    assert "warning (no_signal)" in result.output


def test_train_reports_config_errors_in_one_line(project: Path) -> None:
    (project / "bad.yaml").write_text(
        "model: 'tiny:'\ntasks: x:y\nprogram: x:y\nrl: {group_size: 1}\n"
    )
    result = runner.invoke(app, ["train", "project/bad.yaml"])
    assert result.exit_code == 1
    assert "rl.group_size" in result.output and "Traceback" not in result.output


def test_eval_from_flags_and_from_config(project: Path, tiny_dir: Path) -> None:
    flags = [
        "eval", "--program", "cli_train_toy:program", "--tasks", "cli_train_toy:tasks",
        "--reward", "cli_train_toy:reward", "--model", f"hf:{tiny_dir}", "--n", "3",
    ]  # fmt: skip
    sys.path.insert(0, str(project))  # flags resolve from the current folder; the toy is here
    try:
        result = runner.invoke(app, flags)
    finally:
        sys.path.remove(str(project))
    assert result.exit_code == 0, result.output
    assert "n10" in result.output and "n12" in result.output and "n13" not in result.output
    assert "success rate" in result.output and "truncated calls" in result.output
    # --model is not in the current folder: it is found next to the config.
    scripted = runner.invoke(
        app,
        ["eval", "--config", "project/run.yaml", "--model", "cli_train_toy:teacher", "--seed", "3"],
    )
    assert scripted.exit_code == 0, scripted.output
    assert "unscored 1" in scripted.output  # task 13's reward is None, not 0
    assert "success rate 1" in scripted.output  # the teacher is always right


def test_eval_outputs_and_stop_tool_answers(project: Path, tmp_path: Path) -> None:
    args = [
        "eval", "--config", "project/run.yaml", "--program", "cli_train_toy:stop_tool_program",
        "--reward", "cli_train_toy:exact", "--model", "cli_train_toy:answering_teacher",
        "--json", "out/eval.json", "--csv", "out/eval.csv", "--save-episodes", "out/eval.db",
        "--rows", "2",
    ]  # fmt: skip
    sys.path.insert(0, str(project))
    try:
        result = runner.invoke(app, args)
    finally:
        sys.path.remove(str(project))
    assert result.exit_code == 0, result.output
    assert "success rate 1" in result.output and "2 of 4 tasks shown" in result.output
    data = json.loads((tmp_path / "out" / "eval.json").read_text())
    assert data["success_rate"] == 1.0 and data["tasks"] == 4
    assert [row["final_answer"] for row in data["per_task"]] == ["10", "11", "12", "13"]
    with (tmp_path / "out" / "eval.csv").open() as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["final_answer"] == "10" and rows[0]["success"] == "True"
    with TrajectoryStore(tmp_path / "out" / "eval.db") as store:
        assert store.count(run="eval") == 4


def test_eval_flags_that_name_nothing_are_errors(project: Path) -> None:
    result = runner.invoke(
        app, ["eval", "--config", "project/run.yaml", "--reward", "cli_train_toy:nope"]
    )
    assert result.exit_code == 1 and "--reward" in result.output
    missing = runner.invoke(app, ["eval", "--program", "cli_train_toy:program"])
    assert missing.exit_code == 1 and "--tasks" in missing.output
    bad_mode = runner.invoke(
        app,
        ["eval", "--program", "a:b", "--tasks", "a:b", "--reward", "a:b", "--model", "tiny:",
         "--tool-schemas", "short"],
    )  # fmt: skip
    assert bad_mode.exit_code == 1 and "tool_schemas" in bad_mode.output
