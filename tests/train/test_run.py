"""The RL loop end to end on a tiny random Qwen2: the baseline evaluation, honest counts,
keep-best, loadable checkpoints, resume, warnings, and refusals."""

from __future__ import annotations

import json
import shutil
from collections.abc import Sequence
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hone.errors import CapabilityError, TrainingConfigError
from hone.models import ChatRequest, Completion, ScriptedModel, load_model
from hone.rewards import reward_fn
from hone.train import EvalConfig, RLConfig, TrainerConfig, build_rl_batch, train_rl
from hone.train._run import tasks_for_step
from hone.trajectory import Episode, ModelCall, TrajectoryStore

TRAINER = TrainerConfig(lr=1e-3, micro_batch_size=4)
RL = RLConfig(
    group_size=2, tasks_per_step=4, steps=2, max_tokens=4, trainer=TRAINER, eval=EvalConfig(every=1)
)


@pytest.fixture
def tiny_dir(small_tiny_dir: Path) -> Path:
    return small_tiny_dir


@pytest.fixture
def make_trainer(toy: SimpleNamespace) -> Any:
    return toy.make_trainer


@pytest.fixture
def say_number(toy: SimpleNamespace) -> Any:
    return toy.program


@pytest.fixture
def toy_reward(toy: SimpleNamespace) -> Any:
    return toy.reward


TASKS = [{"id": "none", "n": 0}, {"id": "flat", "n": 1}, {"id": "a", "n": 2}, {"id": "b", "n": 3}]


async def test_train_rl_end_to_end(
    tiny_dir: Path, tmp_path: Path, make_trainer: Any, say_number: Any, toy_reward: Any
) -> None:
    trainer = make_trainer(tiny_dir, TRAINER)
    result = await train_rl(
        trainer, say_number, TASKS, toy_reward, config=RL, eval_tasks=TASKS[2:], output_dir=tmp_path
    )
    assert result.steps == 2 and trainer.step == 2
    baseline, first = result.metrics[0], result.metrics[1]
    assert baseline.step == 0 and baseline.rollout is None and baseline.eval is not None
    assert first.rollout is not None and first.update is not None
    assert first.rollout.excluded == 2  # the 'none' group: 2 rollouts, never scored as 0
    assert first.rollout.skipped_groups == 2  # 'none' (no scored episode) and 'flat' (no variance)
    assert first.rollout.groups == 4 and first.rollout.samples == 4
    assert first.rollout.counts.calls == 8
    # flat: 0.5, 0.5; 'a' and 'b': rollout 0 scores 1, rollout 1 only on an exact answer
    row = first.to_row()
    assert {
        "loss",
        "clip_high",
        "ratio_mean",
        "grad_norm",
        "eval_success",
        "truncated_calls",
    } <= set(row)
    for name in ("metrics.jsonl", "metrics.csv", "metrics.png", "trajectories.db"):
        assert (tmp_path / name).is_file(), name
    rows = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in rows] == [0.0, 1.0, 2.0]
    assert load_model(f"hf:{tmp_path / 'model'}").name == "model"
    # Keep-best: the best evaluation's model is saved and loadable, as is every checkpoint's.
    assert result.best_dir == tmp_path / "best" and result.best_step in (0, 1, 2)
    assert load_model(f"hf:{result.best_dir}").name == "best"
    assert load_model(f"hf:{tmp_path / 'checkpoints' / 'step-2' / 'model'}").name == "model"
    with TrajectoryStore(tmp_path / "trajectories.db") as store:
        assert store.count(run="rl") == 16


async def test_truncated_calls_are_counted_and_penalised(
    tiny_dir: Path, make_trainer: Any, say_number: Any, toy_reward: Any
) -> None:
    """max_tokens=1 cuts every answer off: counted, and the training reward pays 1 less."""
    config = RL.model_copy(update={"max_tokens": 1, "steps": 1, "eval": EvalConfig(every=0)})

    @reward_fn
    def spy(episode: Episode) -> float:
        return 1.0

    result = await train_rl(
        make_trainer(tiny_dir, TRAINER), say_number, TASKS[2:], spy, config=config
    )
    step = result.metrics[0]
    assert step.rollout is not None
    assert step.rollout.counts.truncated_calls == step.rollout.counts.calls == 8
    assert step.rollout.reward_mean == 0.0  # 1.0 − the default penalty of 1.0
    off = config.model_copy(update={"truncation_penalty": 0.0})
    again = await train_rl(make_trainer(tiny_dir, TRAINER), say_number, TASKS[2:], spy, config=off)
    assert again.metrics[0].rollout is not None and again.metrics[0].rollout.reward_mean == 1.0


async def test_no_learning_signal_is_a_warning(
    tiny_dir: Path, make_trainer: Any, say_number: Any, toy_reward: Any
) -> None:
    flat = reward_fn(lambda episode: 0.5)
    config = RL.model_copy(update={"eval": EvalConfig(every=0)})
    result = await train_rl(make_trainer(tiny_dir, TRAINER), say_number, TASKS, flat, config=config)
    assert all(m.update is None for m in result.metrics)
    kinds = {w.kind: w.message for w in result.warnings}
    assert "0 of 2 RL steps" in kinds["no_signal"]
    # The random model rambles until max_tokens from the first step on: a length problem.
    assert "from the first step on" in kinds["degenerate_output"]


async def test_resume_continues_from_the_checkpoint(
    tiny_dir: Path, tmp_path: Path, make_trainer: Any, say_number: Any, toy_reward: Any
) -> None:
    config = RL.model_copy(update={"checkpoint_every": 1, "eval": EvalConfig(every=0)})
    await train_rl(
        make_trainer(tiny_dir, TRAINER), say_number, TASKS, toy_reward, config=config,
        output_dir=tmp_path, save_model=False,
    )  # fmt: skip
    with pytest.raises(TrainingConfigError, match="already holds a run"):
        await train_rl(
            make_trainer(tiny_dir, TRAINER), say_number, TASKS, toy_reward, config=config,
            output_dir=tmp_path,
        )  # fmt: skip
    # Lose the last checkpoint: the resumed run redoes step 2 from step 1's checkpoint.
    shutil.rmtree(tmp_path / "checkpoints" / "step-2")
    trainer = make_trainer(tiny_dir, TRAINER)
    longer = config.model_copy(update={"steps": 3})
    result = await train_rl(
        trainer, say_number, TASKS, toy_reward, config=longer, output_dir=tmp_path, resume=True,
        save_model=False,
    )  # fmt: skip
    assert result.steps == 3 and trainer.step == 3
    assert [m.step for m in result.metrics] == [2, 3]
    assert [row["step"] for row in result.rows] == [1.0, 2.0, 3.0]
    csv_lines = (tmp_path / "metrics.csv").read_text().strip().splitlines()
    assert len(csv_lines) == 4  # header + one row per step, none repeated


async def test_train_rl_refuses_a_trainer_built_from_other_settings(
    tiny_dir: Path, make_trainer: Any, say_number: Any, toy_reward: Any
) -> None:
    trainer = make_trainer(tiny_dir, TrainerConfig(lr=5e-4))
    with pytest.raises(
        TrainingConfigError, match=r"rl\.trainer differs .*\(lr, micro_batch_size\)"
    ):
        await train_rl(trainer, say_number, TASKS, toy_reward, config=RL)


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


async def test_rl_refuses_a_backend_without_token_ids(
    tiny_dir: Path, make_trainer: Any, say_number: Any, toy_reward: Any
) -> None:
    config = RL.model_copy(update={"eval": EvalConfig(every=0)})
    with pytest.raises(CapabilityError, match=r"'remote' gave no prompt token ids.*SFT"):
        await train_rl(
            make_trainer(tiny_dir, TRAINER), say_number, TASKS, toy_reward, config=config,
            rollout_model=NoTokens(),
        )  # fmt: skip


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
    assert batch.metrics.excluded == 1 and batch.metrics.skipped_groups == 2
    assert batch.metrics.samples == 2 and len(batch.samples) == 2
    assert batch.metrics.reward_mean == pytest.approx(1.0)
    advantages = sorted(float(s.advantage) for s in batch.samples)  # type: ignore[arg-type]
    assert advantages == pytest.approx([-0.7071, 0.7071], abs=1e-3)


def test_task_order_is_a_seeded_permutation_per_epoch() -> None:
    tasks = list(range(6))
    first_epoch = tasks_for_step(tasks, 0, 3, seed=1) + tasks_for_step(tasks, 1, 3, seed=1)
    assert sorted(first_epoch) == tasks
    assert tasks_for_step(tasks, 1, 3, seed=1) == tasks_for_step(tasks, 1, 3, seed=1)
