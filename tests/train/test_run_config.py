"""Run configs: every mistake names its field; nested trainer settings; task arguments; paths
resolved from the config's folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from hone.errors import TrainingConfigError
from hone.train import RLConfig, TrainerConfig, TrainingRunConfig, load_config, run_training
from hone.train._pipeline import resolve_parts


def write_module(folder: Path, name: str = "toy_run") -> None:
    (folder / f"{name}.py").write_text(
        "TASKS = {'train': [{'n': 1}], 'eval': [{'n': 2}]}\n"
        "def tasks(split, seed=0, count=2, start=0):\n"
        "    first = start if split == 'train' else 100\n"
        "    return [{'n': first + i, 'seed': seed} for i in range(count)]\n"
        "def program(task, model):\n    return None\n"
        "def reward(episode):\n    return 1.0\n"
    )


BASE: dict[str, Any] = {
    "model": "tiny:",
    "tasks": "toy_run:TASKS",
    "program": "toy_run:program",
    "reward": "toy_run:reward",
    "output_dir": "out",
    "rl": {"steps": 1},
}


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"rl": {"trainer": {"loss_type": "ppo"}}}, r"rl\.trainer\.loss_type: Input should be"),
        ({"sft": {"teacher_model": "x:y", "trainer": {"lr": 0}}}, r"sft\.trainer: lr=0"),
        ({"rl": {"trainer": {"schedule": {"kind": "step"}}}}, r"rl\.trainer\.schedule\.kind"),
        ({"rl": {"trainer": {"schedule": {"warmup_steps": -2}}}}, r"rl\.trainer: schedule warm"),
        ({"rl": {"trainer": {"lrr": 1}}}, r"rl\.trainer\.lrr"),
        ({"rl": {"group_size": 1}}, r"rl\.group_size"),
        ({"rl": {"lr": 1e-4}}, r"rl\.lr: .* write it under rl\.trainer"),  # moved
        ({"rl": {"eval": {"every": -1}}}, r"rl\.eval\.every"),
        ({"reward": None}, "reward is missing"),
        ({"program": "toy_run.program"}, "not an import path"),
        ({"program": "toy_run:nothing"}, "has no attribute 'nothing'"),
        ({"program": "no_such_module:program"}, "no module named 'no_such_module'"),
        ({"model": "openai:gpt-4.1"}, "remote model"),
        ({"rl": {"stepz": 3}}, r"rl\.stepz"),
        ({"tool_schemas": "short"}, "tool_schemas"),
        ({"tasks": {"source": "toy_run:TASKS", "args": {"n": 3}}}, "takes no arguments"),
        ({"tasks": {"source": "toy_run:tasks", "args": {"size": 3}}}, "match tasks.args"),
    ],
)
def test_config_errors_name_the_field(tmp_path: Path, changes: dict[str, Any], match: str) -> None:
    write_module(tmp_path)
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(BASE))
    with pytest.raises(TrainingConfigError, match=match):
        run_training(load_config(path, overrides=changes))


def test_loops_nest_the_trainer_settings_once(tmp_path: Path) -> None:
    write_module(tmp_path)
    config = load_config(
        {**BASE, "rl": {"steps": 3, "trainer": {"lr": 3e-4, "schedule": {"kind": "cosine"}}}},
        overrides={"rl": {"trainer": {"micro_batch_size": 2}}},
    )
    assert config.rl is not None
    assert config.rl.trainer == TrainerConfig(
        lr=3e-4, micro_batch_size=2, schedule=config.rl.trainer.schedule
    )
    assert config.rl.trainer.schedule.kind == "cosine" and config.rl.steps == 3
    with pytest.raises(TrainingConfigError, match=r"trainer: lr=0"):
        RLConfig(trainer={"lr": 0})  # type: ignore[arg-type]


def test_task_sources_take_arguments(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    write_module(tmp_path, "toy_args")
    monkeypatch.delitem(__import__("sys").modules, "toy_args", raising=False)
    config = load_config(
        {
            **BASE,
            "program": "toy_args:program",
            "reward": "toy_args:reward",
            "tasks": {"source": "toy_args:tasks", "args": {"count": 3, "start": 10}},
            "seed": 4,
            "base_dir": str(tmp_path),
        }
    )
    parts = resolve_parts(config)
    assert parts.train_tasks == [{"n": 10, "seed": 4}, {"n": 11, "seed": 4}, {"n": 12, "seed": 4}]
    assert len(parts.eval_tasks) == 3 and parts.eval_tasks[0]["n"] == 100


def test_paths_resolve_from_the_config_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = tmp_path / "project"
    folder.mkdir()
    write_module(folder)
    (folder / "run.yaml").write_text(
        yaml.safe_dump({**BASE, "sft": {"trajectories": "demos.jsonl"}, "output_dir": "runs/a"})
    )
    monkeypatch.chdir(tmp_path)  # anywhere else
    config = load_config("project/run.yaml")
    assert config.base_dir == folder.resolve()
    assert config.out_dir == folder.resolve() / "runs" / "a"
    assert config.resolve_path("demos.jsonl") == folder.resolve() / "demos.jsonl"
    assert config.resolve_path("/abs/x") == Path("/abs/x")
    from hone.train._pipeline import load_backend

    with pytest.raises(Exception, match=str(folder.resolve() / "no-model")):
        load_backend("hf:no-model", field="model", base_dir=config.base_dir)


def test_toml_config_loads(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(
        'model = "tiny:"\ntasks = "m:tasks"\nprogram = "m:program"\nreward = "m:reward"\n'
        '[rl]\ngroup_size = 4\n[rl.trainer]\nloss_type = "grpo"\n'
    )
    config = load_config(path)
    assert isinstance(config, TrainingRunConfig)
    assert config.rl is not None and config.rl.group_size == 4
    assert config.rl.trainer.loss_type == "grpo"
    assert config.base_dir == tmp_path.resolve()


EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "training"


@pytest.mark.parametrize("name", ["say_number.yaml", "key_chain.yaml"])
def test_the_example_configs_load_and_are_the_ones_in_the_docs(name: str) -> None:
    path = EXAMPLES / name
    config = load_config(path)
    assert config.sft is not None and config.rl is not None
    guide = (EXAMPLES.parents[1] / "docs" / "training.md").read_text()
    assert path.read_text() in guide, f"docs/training.md must show {name} verbatim"


def test_the_walk_through_shows_the_example_module_verbatim() -> None:
    """Every python block marked ``<!-- key_chain.py -->`` in docs/training.md is a piece of
    examples/training/key_chain.py, so the guide and the example cannot drift apart."""
    guide = (EXAMPLES.parents[1] / "docs" / "training.md").read_text().splitlines()
    module = (EXAMPLES / "key_chain.py").read_text()
    blocks, i = [], 0
    while i < len(guide):
        if guide[i].strip() == "<!-- key_chain.py -->":
            start = i + 2  # the line after the opening fence
            end = guide.index("```", start)
            blocks.append("\n".join(guide[start:end]))
            i = end
        i += 1
    assert len(blocks) >= 3
    for block in blocks:
        assert block in module, block[:200]
