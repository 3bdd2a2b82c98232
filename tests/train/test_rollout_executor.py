"""Where training rollouts run: ``rl.executor: local | ray``, the refusal of Ray without a
server, and one RL step whose rollouts run in Ray actors against the served live policy."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from hone.errors import TrainingConfigError
from hone.models import OpenAICompatibleModel
from hone.train import EvalConfig, RayConfig, RLConfig, TrainerConfig, load_config, train_rl
from hone.train._policy import policy_backend
from hone.trajectory import RayExecutor, TrajectoryStore

TRAINER = TrainerConfig(lr=1e-3, micro_batch_size=4)
TASKS = [{"id": "a", "n": 2}, {"id": "b", "n": 3}]
CONFIG: dict[str, Any] = {
    "model": "tiny:",
    "tasks": "toy_tasks:TASKS",
    "program": "toy_tasks:program",
    "reward": "toy_tasks:reward",
}


def test_the_default_is_in_process() -> None:
    assert RLConfig().executor == "local"
    assert RLConfig().rollout_executor(served=False) is None


def test_ray_rollouts_need_a_server_to_call() -> None:
    with pytest.raises(TrainingConfigError, match=r"rl\.executor: ray runs rollouts in Ray"):
        load_config({**CONFIG, "rl": {"executor": "ray"}})
    with pytest.raises(TrainingConfigError, match="weights never travel through Ray"):
        RLConfig(executor="ray").rollout_executor(served=False)


def test_the_ray_settings_reach_the_executor() -> None:
    config = load_config(
        {
            **CONFIG,
            "rl": {
                "executor": "ray",
                "rollout_model": "openai-compatible:http://127.0.0.1:8000/v1#policy",
                "ray": {
                    "address": "auto",
                    "actors": 4,
                    "actor_concurrency": 3,
                    "runtime_env": {"working_dir": "."},
                },
            },
        }
    )
    assert config.rl is not None and config.rl.ray == RayConfig(
        address="auto", actors=4, actor_concurrency=3, runtime_env={"working_dir": "."}
    )
    executor = config.rl.rollout_executor(served=True)
    assert isinstance(executor, RayExecutor) and not executor.started
    assert (executor.address, executor.actors, executor.actor_concurrency) == ("auto", 4, 3)
    assert executor.runtime_env == {"working_dir": "."}


def test_unknown_executors_and_bad_counts_are_named() -> None:
    with pytest.raises(TrainingConfigError, match=r"rl\.executor"):
        load_config({**CONFIG, "rl": {"executor": "dask"}})
    with pytest.raises(TrainingConfigError, match=r"rl\.ray\.actors"):
        load_config({**CONFIG, "rl": {"ray": {"actors": 0}}})


async def test_train_rl_refuses_ray_without_a_rollout_model(
    small_tiny_dir: Path, toy: SimpleNamespace
) -> None:
    config = RLConfig(group_size=2, tasks_per_step=2, steps=1, trainer=TRAINER, executor="ray")
    trainer = toy.make_trainer(small_tiny_dir, TRAINER)
    with pytest.raises(
        TrainingConfigError, match=r"Set rl\.rollout_model \(train_rl's rollout_model=\)"
    ):
        await train_rl(trainer, toy.program, TASKS, toy.reward, config=config)


@pytest.mark.slow
@pytest.mark.timeout(240)
async def test_an_rl_step_with_ray_rollouts_against_the_served_policy(
    small_tiny_dir: Path, toy: SimpleNamespace, tmp_path: Path
) -> None:
    pytest.importorskip("ray")
    from hone.serve import create_app, running_server

    trainer = toy.make_trainer(small_tiny_dir, TRAINER)
    config = RLConfig(
        group_size=2,
        tasks_per_step=2,
        steps=1,
        max_tokens=4,
        trainer=TRAINER,
        eval=EvalConfig(every=0),
        executor="ray",
        ray=RayConfig(actors=2, actor_cpus=0.5),
    )
    # The server samples from the live weights, as a publisher keeps a vLLM server current.
    app = create_app(policy_backend(trainer), model_name="policy")
    with running_server(app) as url:
        served = OpenAICompatibleModel("policy", base_url=url, max_retries=0)
        result = await train_rl(
            trainer,
            toy.program,
            TASKS,
            toy.reward,
            config=config,
            rollout_model=served,
            output_dir=tmp_path,
        )
    step = result.metrics[0]
    assert result.steps == 1 and trainer.step == 1 and step.update is not None
    assert step.rollout is not None and step.rollout.failed == 0 and step.rollout.samples > 0
    with TrajectoryStore(tmp_path / "trajectories.db") as store:
        episodes = store.query(run="rl")
    assert len(episodes) == 4
    assert all(c.token_ids and c.prompt_token_ids for e in episodes for c in e.calls)
