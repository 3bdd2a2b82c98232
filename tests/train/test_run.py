"""The RL orchestrator end to end on a tiny random Qwen2: runs, writes, excludes None rewards,
skips flat groups, resumes; SFT from a trajectory file; refusals and config errors."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from hone.errors import CapabilityError, TrainingConfigError
from hone.messages import AnyMessage
from hone.models import (
    ChatRequest,
    Completion,
    ModelBackend,
    SamplingOptions,
    ScriptedModel,
    StreamEvent,
    make_request,
)
from hone.models._tiny_corpus import default_corpus
from hone.models.tiny import TinyConfig, build_tiny_model
from hone.rewards import reward_fn
from hone.train import (
    RLConfig,
    SFTConfig,
    Trainer,
    TrainerConfig,
    build_rl_batch,
    load_config,
    run_training,
    train_rl,
    train_sft,
)
from hone.train._run import tasks_for_step
from hone.trajectory import Episode, ModelCall, rollout_batch, write_jsonl

SMALL = TinyConfig(
    hidden_size=32, layers=1, heads=2, kv_heads=1, intermediate=64, max_position=256, vocab_size=512
)


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small random tiny model saved once for the module."""
    return build_tiny_model(
        tmp_path_factory.mktemp("tiny-run"), corpus=default_corpus(200), config=SMALL
    )


def make_trainer(tiny_dir: Path, **changes: Any) -> Trainer:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_dir)
    tokenizer = AutoTokenizer.from_pretrained(tiny_dir)
    return Trainer(model, tokenizer, config=TrainerConfig(lr=1e-3, micro_batch_size=4, **changes))


TASKS = [{"id": "none", "n": 0}, {"id": "flat", "n": 1}, {"id": "a", "n": 2}, {"id": "b", "n": 3}]


async def say_number(task: dict[str, Any], model: ModelBackend) -> list[AnyMessage]:
    """The toy agent: one call answering "Say the number N"."""
    request = make_request(f"Say the number {task['n']}.", options=SamplingOptions(max_tokens=4))
    completion = await model.complete(request)
    return [*request.messages, completion.message]


@reward_fn
def toy_reward(episode: Episode) -> float | None:
    """Exact match, plus controlled cases: 'none' has no reward, 'flat' is always 0.5, and
    other tasks alternate 0/1 by rollout so groups have variance whatever the model says."""
    if episode.task_id == "none":
        return None
    if episode.task_id == "flat":
        return 0.5
    exact = episode.final_text.strip() == str(episode.task["n"])
    return float(exact or episode.metadata["rollout_index"] % 2 == 0)


RL = RLConfig(group_size=2, tasks_per_step=4, steps=2, max_tokens=4, eval_every=1)


async def test_train_rl_end_to_end(tiny_dir: Path, tmp_path: Path) -> None:
    trainer = make_trainer(tiny_dir)
    result = await train_rl(
        trainer, say_number, TASKS, toy_reward, config=RL, eval_tasks=TASKS[2:], output_dir=tmp_path
    )
    assert result.steps == 2 and trainer.step == 2
    first = result.metrics[0]
    assert first["excluded_episodes"] == 2.0  # the 'none' group: 2 rollouts, never scored as 0
    assert first["skipped_groups"] == 2.0  # 'none' (no scored episode) and 'flat' (no variance)
    assert first["groups"] == 4.0 and first["samples"] == 4.0
    # flat: 0.5, 0.5; 'a' and 'b': rollout 0 scores 1, rollout 1 only on an exact answer
    assert 0.5 <= first["reward"] <= 4.0 / 6.0
    assert {"loss", "clip_high", "ratio_mean", "grad_norm", "eval_success", "tokens_per_s"} <= set(
        first
    )
    for name in ("metrics.jsonl", "metrics.csv", "metrics.png", "trajectories.db"):
        assert (tmp_path / name).is_file(), name
    assert (tmp_path / "model" / "config.json").is_file()
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [1.0, 2.0]
    from hone.models import load_model

    assert load_model(f"hf:{tmp_path / 'model'}").name == "model"


async def test_resume_continues_to_the_same_step_count(tiny_dir: Path, tmp_path: Path) -> None:
    config = RL.model_copy(update={"checkpoint_every": 1, "eval_every": 0})
    await train_rl(
        make_trainer(tiny_dir),
        say_number,
        TASKS,
        toy_reward,
        config=config,
        output_dir=tmp_path,
        save_model=False,
    )
    with pytest.raises(TrainingConfigError, match="already holds a run"):
        await train_rl(
            make_trainer(tiny_dir),
            say_number,
            TASKS,
            toy_reward,
            config=config,
            output_dir=tmp_path,
        )
    # Lose the last checkpoint: the resumed run redoes step 2 from step 1's checkpoint.
    import shutil

    shutil.rmtree(tmp_path / "checkpoints" / "step-2")
    trainer = make_trainer(tiny_dir)
    longer = config.model_copy(update={"steps": 3})
    result = await train_rl(
        trainer,
        say_number,
        TASKS,
        toy_reward,
        config=longer,
        output_dir=tmp_path,
        resume=True,
        save_model=False,
    )
    assert result.steps == 3 and trainer.step == 3
    assert [row["step"] for row in result.metrics] == [1.0, 2.0, 3.0]
    csv_lines = (tmp_path / "metrics.csv").read_text().strip().splitlines()
    assert len(csv_lines) == 4  # header + one row per step, none repeated


class NoTokens:
    """A backend like an OpenAI-compatible server that returns no token ids or logprobs."""

    def __init__(self) -> None:
        self.inner = ScriptedModel(["7"], when_exhausted="cycle")

    @property
    def name(self) -> str:
        return "remote"

    async def complete(self, request: ChatRequest) -> Completion:
        done = await self.inner.complete(request)
        return Completion(message=done.message, text=done.text, model="remote")

    async def complete_batch(self, requests: Sequence[ChatRequest]) -> list[Completion]:
        return [await self.complete(r) for r in requests]

    def stream(self, request: ChatRequest) -> Any:
        raise NotImplementedError

    _ = StreamEvent


async def test_rl_refuses_a_backend_without_token_ids(tiny_dir: Path) -> None:
    with pytest.raises(CapabilityError, match=r"token ids.*'remote'.*SFT"):
        await train_rl(
            make_trainer(tiny_dir),
            say_number,
            TASKS,
            toy_reward,
            config=RL,
            rollout_model=NoTokens(),
        )


async def test_sft_from_a_trajectory_file_works_without_token_ids(
    tiny_dir: Path, tmp_path: Path
) -> None:
    batch = await rollout_batch(say_number, TASKS, NoTokens(), group_size=2, seed=0)
    path = tmp_path / "demos.jsonl"
    write_jsonl(batch.episodes, path)
    trainer = make_trainer(tiny_dir, mode="sft")
    from hone.train._run_sft import load_episodes

    episodes = load_episodes(path)
    result = train_sft(trainer, episodes, config=SFTConfig(trajectories=str(path), batch_size=4))
    assert result.episodes == 8 and result.samples == 8 and result.steps == 2
    assert result.prefix_breaks == 0 and result.skipped_calls == 0


def test_flat_and_unscored_groups_are_counted_not_trained() -> None:
    def episode(group: str, reward: float | None) -> Episode:
        call = ModelCall(
            index=0,
            role="agent",
            model="m",
            messages=[],
            output={},
            prompt_token_ids=[1, 2],
            token_ids=[3],
            logprobs=[-0.1],
        )
        return Episode(task_id=group, group_id=group, reward=reward, calls=[call])

    episodes = [episode("a", 1.0), episode("a", 0.0), episode("b", 1.0), episode("b", 1.0)]
    episodes += [episode("c", None), episode("c", 2.0)]
    batch = build_rl_batch(episodes)
    assert batch.stats.excluded == 1 and batch.stats.skipped_groups == 2
    assert batch.stats.samples == 2 and len(batch.samples) == 2
    assert batch.stats.reward_mean == pytest.approx(1.0)
    assert sorted(s.advantage for s in batch.samples) == pytest.approx([-0.7071, 0.7071], abs=1e-3)  # type: ignore[type-var]


def test_task_order_is_a_seeded_permutation_per_epoch() -> None:
    tasks = list(range(6))
    first_epoch = tasks_for_step(tasks, 0, 3, seed=1) + tasks_for_step(tasks, 1, 3, seed=1)
    assert sorted(first_epoch) == tasks
    assert tasks_for_step(tasks, 1, 3, seed=1) == tasks_for_step(tasks, 1, 3, seed=1)


def write_module(tmp_path: Path) -> None:
    (tmp_path / "toy_run.py").write_text(
        "TASKS = {'train': [{'n': 1}], 'eval': [{'n': 2}]}\n"
        "def program(task, model):\n    return None\n"
        "def reward(episode):\n    return 1.0\n"
    )


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"rl": {"loss_type": "ppo"}}, r"rl\.loss_type"),
        ({"rl": {"group_size": 1}}, r"rl\.group_size"),
        ({"reward": None}, "reward is missing"),
        ({"program": "toy_run.program"}, "not an import path"),
        ({"program": "toy_run:nothing"}, "has no attribute 'nothing'"),
        ({"program": "no_such_module:program"}, "cannot import module 'no_such_module'"),
        ({"model": "openai:gpt-4.1"}, "remote model"),
        ({"rl": {"stepz": 3}}, r"rl\.stepz"),
    ],
)
def test_config_errors_name_the_field(tmp_path: Path, changes: dict[str, Any], match: str) -> None:
    write_module(tmp_path)
    config = {
        "model": "tiny:",
        "tasks": "toy_run:TASKS",
        "program": "toy_run:program",
        "reward": "toy_run:reward",
        "output_dir": str(tmp_path / "out"),
        "rl": {"steps": 1},
    }
    path = tmp_path / "run.yaml"
    import yaml

    path.write_text(yaml.safe_dump(config))
    with pytest.raises(TrainingConfigError, match=match):
        run_training(load_config(path, overrides=changes))


def test_toml_config_loads(tmp_path: Path) -> None:
    path = tmp_path / "run.toml"
    path.write_text(
        'model = "tiny:"\ntasks = "m:tasks"\nprogram = "m:program"\nreward = "m:reward"\n'
        '[rl]\ngroup_size = 4\nloss_type = "grpo"\n'
    )
    config = load_config(path)
    assert config.rl is not None and config.rl.group_size == 4 and config.rl.loss_type == "grpo"
    assert config.base_dir == tmp_path.resolve()


EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "training" / "say_number.yaml"


def test_the_example_config_loads_and_is_the_one_in_the_docs() -> None:
    config = load_config(EXAMPLE)
    assert config.sft is not None and config.rl is not None and config.rl.group_size == 4
    guide = (EXAMPLE.parents[2] / "docs" / "training.md").read_text()
    assert EXAMPLE.read_text() in guide, "docs/training.md must show say_number.yaml verbatim"
