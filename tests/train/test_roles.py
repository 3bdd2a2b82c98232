"""Training per role: rewards per role, a reward given only where it informs, roles trained or
frozen, advantage pools, a shared policy versus one policy per role, and a toy solver–judge
training step on the tiny model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import torch

from hone.agents import create_solver_judge, roles_of, solver_role
from hone.errors import TrainingConfigError
from hone.models import SamplingOptions, make_request
from hone.rewards import RewardResult, only_when, reward_fn
from hone.train import EvalConfig, RLConfig, RolesConfig, TrainerConfig, build_rl_batch, train_rl
from hone.trajectory import Episode, ModelCall, graph_program

TRAINER = TrainerConfig(lr=1e-2, micro_batch_size=8)


def episode(role: str, group: str, reward: float | None, *, n: int = 3) -> Episode:
    """A scored episode of ``role`` with one call of ``n`` sampled tokens."""
    call = ModelCall(
        index=0,
        role=role,
        model="m",
        messages=[],
        output={"role": "assistant", "content": "x"},
        prompt_token_ids=[1, 2],
        token_ids=list(range(3, 3 + n)),
        logprobs=[-1.0] * n,
    )
    return Episode(
        task_id=group, task=group, role=role, calls=[call], group_id=group, reward=reward
    )


# --- RolesConfig -------------------------------------------------------------------------


def test_roles_config_matches_patterns() -> None:
    roles = RolesConfig(
        names=("solver_0", "solver_1", "judge"),
        train=("solver_*",),
        pools={"solver_*": "solver"},
        weights={"judge": 0.5},
    )
    assert roles.trained("solver_1") and not roles.trained("judge")
    assert roles.pool("solver_0") == roles.pool("solver_1") == "solver"
    assert roles.pool("judge") == "judge"
    assert roles.weight("judge") == 0.5 and roles.weight("solver_0") == 1.0
    assert RolesConfig().trained("anything")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"train": ()}, "no role would be trained"),
        ({"weights": {"judge": 0.0}}, "must be > 0"),
        ({"names": ("a", "a")}, "distinct"),
    ],
)
def test_bad_roles_config_is_refused(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(TrainingConfigError, match=message):
        RolesConfig(**kwargs)


def test_a_train_pattern_naming_no_role_is_refused() -> None:
    with pytest.raises(TrainingConfigError, match=r"\['jduge'\] match none"):
        RolesConfig(names=("solver_0", "judge"), train=("jduge",)).check_names()


def test_roles_load_from_a_config_dict() -> None:
    config = RLConfig.model_validate(
        {"roles": {"names": ["s", "j"], "train": ["s"], "pools": {"s*": "s"}}}
    )
    assert config.roles.names == ("s", "j") and not config.roles.trained("j")


# --- the per-role advantage estimator ------------------------------------------------------


def test_frozen_roles_give_no_samples_and_roles_are_grouped_apart() -> None:
    episodes = [
        episode("solver", "g", 1.0),
        episode("solver", "g", 0.0),
        episode("judge", "g", 1.0),
        episode("judge", "g", 0.0),
    ]
    both = build_rl_batch(episodes, roles=RolesConfig())
    assert both.roles == ["solver", "solver", "judge", "judge"]
    assert both.metrics.groups == 2  # (g, solver) and (g, judge)
    only = build_rl_batch(episodes, roles=RolesConfig(train=("solver",)))
    assert only.roles == ["solver", "solver"] and only.metrics.episodes == 2


def test_a_pool_gives_several_roles_one_baseline() -> None:
    # Alone, solver_0's rewards are flat (no signal) and so are solver_1's; pooled, they vary.
    episodes = [
        episode("solver_0", "g", 1.0),
        episode("solver_0", "g", 1.0),
        episode("solver_1", "g", 0.0),
        episode("solver_1", "g", 0.0),
    ]
    apart = build_rl_batch(episodes)
    assert apart.samples == [] and apart.metrics.skipped_groups == 2
    pooled = build_rl_batch(episodes, roles=RolesConfig(pools={"solver_*": "solver"}))
    assert pooled.metrics.groups == 1 and len(pooled.samples) == 4
    advantages = [s.advantage for s in pooled.samples]
    assert advantages[0] == advantages[1] > 0 > advantages[2] == advantages[3]


def test_advantages_are_normalised_within_each_role() -> None:
    # The judge's rewards are on another scale: its advantages are normalised on their own.
    episodes = [
        episode("solver", "g", 1.0),
        episode("solver", "g", 0.0),
        episode("judge", "g", 10.0),
        episode("judge", "g", -10.0),
    ]
    batch = build_rl_batch(episodes, roles=RolesConfig(weights={"judge": 0.25}))
    solver, judge = batch.samples[0], batch.samples[2]
    assert solver.advantage == pytest.approx(judge.advantage, rel=1e-3)  # eps aside
    assert (solver.weight, judge.weight) == (1.0, 0.25)


# --- a reward only where it informs ----------------------------------------------------------


def mixed(ep: Episode) -> bool:
    return len(set(ep.output["correct"])) > 1


@reward_fn
def picked_right(ep: Episode) -> float:
    return float(ep.output["correct"][ep.output["choice"]])


async def test_only_when_leaves_other_episodes_unscored_not_zero() -> None:
    eps = [episode("judge", "g", None) for _ in range(3)]
    outputs = [
        {"correct": [True, False], "choice": 0},
        {"correct": [True, True], "choice": 1},
        {"correct": [False, True], "choice": 0},
    ]
    for ep, out in zip(eps, outputs, strict=True):
        ep.output = out
    gated = only_when(picked_right, mixed, reason="its candidates agree in correctness")
    results = await gated.score(eps)
    assert [r.value for r in results] == [1.0, None, 0.0]
    assert results[1].error == "not rewarded: its candidates agree in correctness"
    for ep, result in zip(eps, results, strict=True):
        ep.reward = result.value
    batch = build_rl_batch(eps)
    assert batch.metrics.excluded == 1 and len(batch.samples) == 2


async def test_only_when_reports_a_condition_that_raises() -> None:
    ep = episode("judge", "g", None)
    [result] = await only_when(picked_right, lambda e: e.output["missing"]).score([ep])
    assert result.value is None and result.error is not None and "raised" in result.error


# --- train_rl: roles trained, shared or separate policies -----------------------------------


async def two_roles(task: dict[str, Any], models: dict[str, Any]) -> dict[str, int]:
    """Two roles answering "Say the number N" one after the other."""
    request = make_request(f"Say the number {task['n']}.", options=SamplingOptions(max_tokens=4))
    for role in ("a", "b"):
        await models[role].complete(request)
    return {"n": task["n"]}


@reward_fn
def alternating(ep: Episode) -> float:
    """Varies within every group, whatever the model says."""
    return float(ep.metadata["rollout_index"] % 2 == 0)


TASKS = [{"id": f"t{i}", "n": i} for i in range(4)]


def rl_config(**roles: Any) -> RLConfig:
    return RLConfig(
        group_size=2,
        tasks_per_step=2,
        steps=1,
        max_tokens=4,
        trainer=TRAINER,
        truncation_penalty=0.0,
        eval=EvalConfig(every=0),
        roles=RolesConfig(names=("a", "b"), **roles),
    )


def weights(trainer: Any) -> list[torch.Tensor]:
    return [p.detach().clone() for p in trainer.model.parameters()]


def same(before: list[torch.Tensor], trainer: Any) -> bool:
    return all(torch.equal(b, p) for b, p in zip(before, trainer.model.parameters(), strict=True))


async def test_one_policy_per_role_trains_only_the_chosen_role(
    small_tiny_dir: Path, toy: Any
) -> None:
    ta, tb = toy.make_trainer(small_tiny_dir, TRAINER), toy.make_trainer(small_tiny_dir, TRAINER)
    before_a, before_b = weights(ta), weights(tb)
    result = await train_rl(
        {"a": ta, "b": tb}, two_roles, TASKS, alternating, config=rl_config(train=("a",))
    )
    assert (ta.step, tb.step) == (1, 0)
    assert not same(before_a, ta) and same(before_b, tb)
    [step] = result.metrics
    assert step.rollout is not None and step.rollout.episodes == 4  # role a's only
    assert result.trainer is ta


def hf_model(backend: Any) -> Any:
    """The Hugging Face model under a chain of wrappers (``.backend``)."""
    while not hasattr(backend, "model"):
        backend = backend.backend
    return backend.model


async def test_one_policy_per_role_samples_each_role_from_its_own_model(
    small_tiny_dir: Path, toy: Any
) -> None:
    ta, tb = toy.make_trainer(small_tiny_dir, TRAINER), toy.make_trainer(small_tiny_dir, TRAINER)
    seen: dict[str, set[int]] = {"a": set(), "b": set()}

    async def program(task: dict[str, Any], models: dict[str, Any]) -> None:
        for role in ("a", "b"):
            seen[role].add(id(hf_model(models[role])))
        await two_roles(task, models)

    await train_rl({"a": ta, "b": tb}, program, TASKS, alternating, config=rl_config())
    assert seen == {"a": {id(ta.model)}, "b": {id(tb.model)}}
    assert (ta.step, tb.step) == (1, 1)


async def test_a_shared_policy_takes_the_samples_of_every_trained_role(
    small_tiny_dir: Path, toy: Any
) -> None:
    trainer = toy.make_trainer(small_tiny_dir, TRAINER)
    both = await train_rl(trainer, two_roles, TASKS, alternating, config=rl_config())
    one = await train_rl(
        toy.make_trainer(small_tiny_dir, TRAINER),
        two_roles,
        TASKS,
        alternating,
        config=rl_config(train=("b",)),
    )
    assert both.metrics[0].update is not None and one.metrics[0].update is not None
    assert both.metrics[0].update.num_samples == 8 and one.metrics[0].update.num_samples == 4
    assert trainer.step == 1


async def test_rewards_per_role(small_tiny_dir: Path, toy: Any) -> None:
    # Role b's reward is flat: no signal, so only role a's samples train the shared policy.
    flat = reward_fn(lambda ep: RewardResult(value=0.5))
    result = await train_rl(
        toy.make_trainer(small_tiny_dir, TRAINER),
        two_roles,
        TASKS,
        {"a": alternating, "b": flat},
        config=rl_config(),
    )
    [step] = result.metrics
    assert step.rollout is not None and step.rollout.skipped_groups == 2
    assert step.update is not None and step.update.num_samples == 4


async def test_a_mapping_of_trainers_must_name_the_roles(small_tiny_dir: Path, toy: Any) -> None:
    ta = toy.make_trainer(small_tiny_dir, TRAINER)
    with pytest.raises(TrainingConfigError, match=r"roles\.names"):
        await train_rl({"a": ta}, two_roles, TASKS, alternating, config=rl_config())
    tb = toy.make_trainer(small_tiny_dir, TRAINER)
    with pytest.raises(TrainingConfigError, match="keeps the run in memory"):
        await train_rl(
            {"a": ta, "b": tb},
            two_roles,
            TASKS,
            alternating,
            config=rl_config(),
            output_dir=small_tiny_dir / "run",
        )


# --- a toy solver–judge training step ---------------------------------------------------------


async def test_a_solver_judge_training_step_runs_on_the_tiny_model(
    small_tiny_dir: Path, toy: Any
) -> None:
    graph = create_solver_judge([None, None], None, solver_steps=1, max_attempts=1)
    roles = roles_of(graph)
    program = graph_program(graph, make_input=lambda task: {"input": f"Say {task['n']}."})

    @reward_fn
    def judge_reward(ep: Episode) -> float:
        return float(ep.output["choice"] == ep.metadata["rollout_index"] % 2)

    config = RLConfig(
        group_size=2,
        tasks_per_step=1,
        steps=1,
        max_tokens=6,
        trainer=TRAINER,
        truncation_penalty=0.0,
        eval=EvalConfig(every=0),
        roles=RolesConfig(names=roles, pools={"solver_*": "solver"}),
    )
    trainer = toy.make_trainer(small_tiny_dir, TRAINER)
    result = await train_rl(
        trainer,
        program,
        TASKS,
        {solver_role(0): alternating, solver_role(1): alternating, "judge": judge_reward},
        config=config,
    )
    [step] = result.metrics
    assert step.rollout is not None and step.rollout.episodes == 6  # 2 rollouts x 3 roles
    assert step.rollout.groups == 2  # (task, solver) and (task, judge)
    assert trainer.step == 1


async def test_evaluate_scores_each_role_its_own_way() -> None:
    from hone.models import ScriptedModel
    from hone.train import evaluate

    policy = ScriptedModel(["1"], when_exhausted="cycle")
    zero = reward_fn(lambda ep: 0.0)
    one = reward_fn(lambda ep: 1.0)
    result = await evaluate(two_roles, TASKS[:2], policy, {"a": one, "b": zero}, roles=("a", "b"))
    assert sorted((s.task_id, s.reward) for s in result.per_task) == [
        ("t0", 0.0),
        ("t0", 1.0),
        ("t1", 0.0),
        ("t1", 1.0),
    ]
    assert result.success_rate == 0.5
