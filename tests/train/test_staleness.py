"""Policy versions through the RL loop: every call records the version that generated it,
stale episodes are dropped (and counted) under ``max_staleness``, the importance ratio is taken
against the recorded behaviour logprobs, and the loop runs against ``hone serve`` with a LoRA
publisher (vLLM's path, on CPU) — with a failing publisher it warns and goes on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from hone.errors import PublishError
from hone.models import OpenAICompatibleModel
from hone.models._transformers import TransformersModel
from hone.serve import AdapterPool
from hone.train import (
    EvalConfig,
    LoraConfig,
    LoRAPublisher,
    PublishedPolicy,
    RLConfig,
    TrainerConfig,
    build_rl_batch,
    policy_loss,
    train_rl,
)
from hone.train._policy import policy_backend
from hone.trajectory import Episode, ModelCall

from .conftest import TASKS, make_trainer, say_number, toy_reward

LORA = TrainerConfig(lr=1e-3, micro_batch_size=4, lora=LoraConfig(r=4))
RL = RLConfig(
    group_size=2,
    tasks_per_step=2,
    steps=2,
    max_tokens=4,
    trainer=LORA,
    eval=EvalConfig(every=0),
    truncation_penalty=0.0,
)


def call(version: int | str | None, logprob: float = -1.0) -> ModelCall:
    return ModelCall(
        index=0,
        role="agent",
        model="m",
        messages=[],
        output={"role": "assistant", "content": "x"},
        prompt_token_ids=[1, 2, 3],
        token_ids=[4, 5],
        logprobs=[logprob, logprob],
        policy_version=version,
    )


def episode(group: str, reward: float, version: int | str | None) -> Episode:
    return Episode(task_id=group, group_id=group, reward=reward, calls=[call(version)])


def test_stale_episodes_are_dropped_and_counted() -> None:
    episodes = [
        episode("g1", 1.0, 5),
        episode("g1", 0.0, 5),
        episode("g2", 1.0, 2),  # 3 versions behind 5
        episode("g2", 0.0, 4),
        episode("g3", 1.0, "tiny-v1"),  # not an integer: never stale
        episode("g3", 0.0, None),
    ]
    kept = build_rl_batch(episodes, policy_version=5, max_staleness=2)
    assert kept.metrics.stale == 1 and kept.metrics.policy_lag == 3
    # g2 lost its stale member, so one scored episode is left: no baseline, no signal.
    assert kept.metrics.skipped_groups == 1 and kept.metrics.samples == 4
    assert kept.metrics.excluded == 1
    row = kept.metrics.to_row()
    assert row["stale_episodes"] == 1.0 and row["policy_lag"] == 3.0
    everything = build_rl_batch(episodes, policy_version=5)
    assert everything.metrics.stale == 0 and everything.metrics.samples == 6
    assert everything.metrics.policy_lag == 3
    exact = build_rl_batch(episodes, policy_version=5, max_staleness=3)
    assert exact.metrics.stale == 0


def test_importance_ratio_uses_the_recorded_behaviour_logprobs() -> None:
    batch = build_rl_batch([episode("g", 1.0, 0), episode("g", 0.0, 0)])
    assert [s.old_logprobs for s in batch.samples] == [[0.0, 0.0, 0.0, -1.0, -1.0]] * 2
    # The learner now gives the sampled tokens log p = -0.5: ratio exp(-0.5 - -1) = e^0.5.
    logp = torch.full((2, 2), -0.5, dtype=torch.float64)
    old = torch.full((2, 2), -1.0, dtype=torch.float64)
    mask = torch.ones(2, 2, dtype=torch.float64)
    _, metrics = policy_loss(
        logp, old, torch.tensor([1.0, -1.0]), mask, loss_type="grpo", eps_high=10.0
    )
    assert metrics.ratio_mean == pytest.approx(float(torch.exp(torch.tensor(0.5))))


async def test_completions_record_the_trainers_step(small_tiny_dir: Path) -> None:
    trainer = make_trainer(small_tiny_dir)
    backend = policy_backend(trainer)
    episodes = await _one_step(trainer, backend)
    assert {c.policy_version for e in episodes for c in e.calls} == {0}
    plain = TransformersModel(trainer.model, trainer.tokenizer)
    assert plain.policy_version == 0
    with torch.no_grad():
        next(trainer.model.parameters()).add_(0.01)  # a weight change it can see
    reply = await plain.complete(_request())
    assert reply.policy_version == 1
    plain.set_policy_version("v-fixed")
    assert (await plain.complete(_request())).policy_version == "v-fixed"


def _request() -> Any:
    from hone.models import SamplingOptions, make_request

    return make_request("hi", options=SamplingOptions(max_tokens=2))


async def _one_step(trainer: Any, backend: Any) -> list[Episode]:
    from hone.trajectory import RecordingModel, rollout_batch

    batch = await rollout_batch(say_number, TASKS[2:], RecordingModel(backend), group_size=2)
    return batch.episodes


async def test_train_rl_against_a_server_with_a_lora_publisher(
    small_tiny_dir: Path, tmp_path: Path, lora_server: tuple[str, AdapterPool]
) -> None:
    url, pool = lora_server
    trainer = make_trainer(small_tiny_dir, LORA)
    policy = OpenAICompatibleModel("tiny", base_url=url)
    publisher = LoRAPublisher(url, base_name="tiny", folder=tmp_path, policy=policy, keep=2)
    config = RL.model_copy(update={"max_staleness": 0})
    result = await train_rl(
        trainer,
        say_number,
        TASKS[2:],
        toy_reward,
        config=config,
        rollout_model=policy,
        publisher=publisher,
        output_dir=tmp_path / "run",
    )
    assert trainer.step == 2 and policy.name == "tiny-v2"
    assert pool.names() == ["tiny-v1", "tiny-v2"]  # v0 (before the first step) unloaded
    for step in result.metrics:
        assert step.rollout is not None and step.rollout.policy_lag == 0
        assert step.rollout.stale == 0
        assert step.publish_s is not None and not step.publish_failed
    from hone.trajectory import TrajectoryStore

    with TrajectoryStore(tmp_path / "run" / "trajectories.db") as store:
        versions = {c.policy_version for e in store.query() for c in e.calls}
    assert versions == {0, 1}  # step 1 sampled from v0, step 2 from v1


class FailingPublisher:
    """A publisher whose server never takes a new version."""

    def __init__(self) -> None:
        self.calls = 0

    def publish(self, trainer: Any, version: int) -> PublishedPolicy:
        self.calls += 1
        raise PublishError(f"load_lora_adapter timed out for version {version}")

    def close(self) -> None:
        pass


async def test_a_failing_publisher_warns_and_training_goes_on(small_tiny_dir: Path) -> None:
    trainer = make_trainer(small_tiny_dir, LORA)
    publisher = FailingPublisher()
    result = await train_rl(
        trainer, say_number, TASKS[2:], toy_reward, config=RL, publisher=publisher
    )
    assert trainer.step == 2 and publisher.calls == 3  # before step 1, after each update
    assert all(m.publish_failed for m in result.metrics)
    assert result.metrics[-1].to_row()["publish_failed"] == 1.0
    warning = next(w for w in result.warnings if w.kind == "publish_failed")
    assert "3 policy publishes failed" in warning.message
