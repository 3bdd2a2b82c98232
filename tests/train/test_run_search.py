"""GRPO with search successes (``train_rl(search=SearchAssist(...))``) on the toy task and a
small random model: unsolved groups are searched, a success joins each, the update runs on the
mixed groups, search episodes count toward the episode budget (across a resume), are kept in
the run's store, and unusable ones are skipped."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from hone.checkpoint import InMemorySaver
from hone.errors import TrainingConfigError
from hone.graph import END, START, MessagesState, StateGraph, get_model
from hone.messages import UserMessage
from hone.models import ChatRequest, ModelBackend, OpenAICompatibleModel, ScriptedModel
from hone.rewards import reward_fn
from hone.search import ABMCTSA, episode_search
from hone.serve import AdapterPool, create_app, running_server
from hone.train import (
    EvalConfig,
    LoraConfig,
    LoRAPublisher,
    RayConfig,
    RLConfig,
    RLStepMetrics,
    RolesConfig,
    RunResult,
    SearchAssist,
    SearchConfig,
    StepReport,
    TrainerConfig,
    load_config,
    run_training,
    train_rl,
)
from hone.train._policy import policy_backend
from hone.trajectory import Episode, RecordingModel, TrajectoryStore, rollout

from .conftest import make_trainer, say_number

CONFIG = RLConfig(
    group_size=2,
    tasks_per_step=2,
    steps=3,
    max_tokens=4,
    trainer=TrainerConfig(lr=1e-3, micro_batch_size=4),
    eval=EvalConfig(every=0),
    truncation_penalty=0.0,
)
LORA = TrainerConfig(lr=1e-3, micro_batch_size=4, lora=LoraConfig(r=4))
ONE_STEP = CONFIG.model_copy(update={"steps": 1})
TASKS = [{"id": "a", "n": 2}, {"id": "b", "n": 3}, {"id": "c", "n": 4}]


@reward_fn
def found_reward(episode: Episode) -> float:
    """1 for what the fake search marked, 0 for every rollout: every group needs search."""
    return float(episode.metadata.get("found", False))


async def fake_search(task: Any, policy: ModelBackend, seed: int) -> list[Episode]:
    """Two real episodes of the policy (token ids, logprobs, version); the second 'solved'."""
    tries = [await rollout(say_number, task, RecordingModel(policy), seed=seed + i) for i in (0, 1)]
    tries[1][0].metadata["found"] = True
    return [episode for episodes in tries for episode in episodes]


async def _agent(state: MessagesState) -> dict[str, Any]:
    completion = await get_model().complete(ChatRequest(messages=tuple(state["messages"])))
    return {"messages": [completion.message]}


def answer_graph() -> Any:
    """One model call per run: enough for a search over episodes."""
    builder = StateGraph(MessagesState)
    builder.add_node("agent", _agent)
    builder.add_edge(START, "agent")
    builder.add_edge("agent", END)
    return builder.compile(checkpointer=InMemorySaver())


def _train(
    tiny_dir: Path,
    search: SearchAssist | None,
    *,
    config: RLConfig = CONFIG,
    tasks: list[dict[str, Any]] = TASKS,
    reward: Any = found_reward,
    trainer: Any = None,
    **options: Any,
) -> RunResult:
    """``train_rl`` on the toy task (a fresh trainer over the small model unless given)."""
    trainer = trainer if trainer is not None else make_trainer(tiny_dir, config.trainer)
    return asyncio.run(
        train_rl(trainer, say_number, tasks, reward, config=config, search=search, **options)
    )


def _metrics(reports: list[StepReport]) -> list[RLStepMetrics]:
    out = []
    for report in reports:
        assert isinstance(report.metrics, RLStepMetrics)
        out.append(report.metrics)
    return out


def test_unsolved_groups_get_a_search_success_and_train(small_tiny_dir: Path) -> None:
    reports: list[StepReport] = []
    result = _train(
        small_tiny_dir,
        SearchAssist(fake_search, max_episodes=13, per_search=2),
        on_step=reports.append,
    )
    steps = _metrics(reports)
    assert result.metrics == steps and len(steps) == 2  # a third step's rollouts do not fit
    assert result.steps == 2 and result.episodes_sampled == 12
    first, second = (s.search for s in steps)
    assert first is not None and second is not None
    assert (first.rollouts, first.unsolved, first.searched, first.episodes) == (4, 2, 2, 4)
    assert first.solved == 2 and first.joined == 2 and first.skipped == 0
    assert first.rollout_success == 0.0
    rl = steps[0].rollout
    assert rl is not None and rl.groups == 2 and rl.skipped_groups == 0 and rl.episodes == 6
    assert steps[0].update is not None and steps[0].updates == 1
    assert first.episodes_sampled == 8
    # step 2: 8 + 4 rollouts = 12 of 13, no room for a search of 2: no signal, no update
    assert (second.rollouts, second.searched, second.joined) == (4, 0, 0)
    assert steps[1].update is None and second.episodes_sampled == 12
    # every joined episode is a search episode, re-grouped and marked; its logprobs as recorded
    outcome = result.search
    assert outcome is not None and len(outcome.joined) == 2 and len(outcome.episodes) == 4
    by_id = {e.id: e for e in outcome.episodes}
    for joined in outcome.joined:
        original = by_id[joined.id]
        assert original.metadata["found"] and "mixed_in" not in original.metadata
        assert joined.metadata["mixed_in"]["source"] == "search"
        assert joined.group_id != original.group_id and joined.reward == 1.0
        assert joined.calls[0].logprobs == original.calls[0].logprobs
        assert joined.calls[0].policy_version == 0
    row = steps[0].to_row()
    assert row["search_joined"] == 2.0 and row["episodes_sampled"] == 8.0 and "loss" in row


def test_a_searched_run_evaluates_keeps_its_episodes_and_resumes_its_budget(
    small_tiny_dir: Path, tmp_path: Path
) -> None:
    """What the second RL loop used to lack: evaluation, the episode store, checkpoints,
    and a budget that survives a resume."""
    config = CONFIG.model_copy(
        update={"eval": EvalConfig(every=1, tasks=2), "checkpoint_every": 1, "steps": 3}
    )
    assist = SearchAssist(fake_search, max_episodes=17, per_search=2)
    first = _train(
        small_tiny_dir,
        assist,
        config=config.model_copy(update={"steps": 1}),
        eval_tasks=TASKS,
        output_dir=tmp_path,
    )
    assert first.steps == 1 and first.episodes_sampled == 8 and first.final_eval is not None
    resumed = _train(
        small_tiny_dir, assist, config=config, eval_tasks=TASKS, output_dir=tmp_path, resume=True
    )
    # 8 sampled before the resume; step 2 samples 4 + 4 = 16; step 3's rollouts (4) exceed 17
    assert resumed.steps == 2 and resumed.episodes_sampled == 16
    [step] = resumed.metrics
    assert step.search is not None and step.search.episodes_sampled == 16
    assert step.eval is not None and step.search.joined == 2
    with TrajectoryStore(tmp_path / "trajectories.db") as store:
        rollouts = store.query(run="rl")
        searched = store.query(run="search")
    assert len(rollouts) == 8 and len(searched) == 8  # nothing sampled is lost
    assert sum(bool(e.metadata.get("found")) for e in searched) == 4  # one per search


def test_episodes_without_token_ids_are_skipped_and_counted(small_tiny_dir: Path) -> None:
    scripted = episode_search(
        answer_graph(),
        reward_fn(lambda e: 1.0),
        ABMCTSA(),
        budget=2,
        make_input=lambda task: {"messages": [UserMessage(content=f"Say {task['n']}.")]},
    )

    async def search(task: Any, policy: ModelBackend, seed: int) -> list[Episode]:
        episodes = await scripted(task, ScriptedModel(["answer 1"], when_exhausted="cycle"), seed)
        for episode in episodes:  # as a backend without token ids (LangChain's) records them
            for call in episode.calls:
                call.token_ids = call.prompt_token_ids = call.logprobs = None
        return episodes

    result = _train(
        small_tiny_dir,
        SearchAssist(search),
        config=ONE_STEP,
        reward=reward_fn(lambda e: 1.0 if e.metadata.get("search") else 0.0),
    )
    [step] = result.metrics
    searched = step.search
    assert searched is not None and searched.searched == 2 and searched.solved == 2
    assert searched.skipped == 2 and searched.joined == 0 and step.update is None
    assert result.search is not None and len(result.search.episodes) == 4
    assert all("token ids" in why for _, why in result.search.skipped)
    assert result.episodes_sampled == 4 + 4  # rollouts and every search episode are counted


def test_settings_it_cannot_honour_are_refused(small_tiny_dir: Path) -> None:
    with pytest.raises(TrainingConfigError, match="needs per_search"):
        SearchAssist(fake_search, max_episodes=8)
    with pytest.raises(TrainingConfigError, match="concurrency"):
        SearchAssist(fake_search, concurrency=0)
    with pytest.raises(TrainingConfigError, match="mode"):
        SearchAssist(fake_search, mode="swap")  # type: ignore[arg-type]
    with pytest.raises(TrainingConfigError, match="max_episodes"):
        SearchAssist(fake_search, max_episodes=0, per_search=2)
    roles = CONFIG.model_copy(update={"roles": RolesConfig(names=["a", "b"])})
    with pytest.raises(TrainingConfigError, match="one role"):
        _train(small_tiny_dir, SearchAssist(fake_search), config=roles)


def test_the_search_samples_from_the_rollout_model(small_tiny_dir: Path) -> None:
    """Rollouts and searches share one backend: a given ``rollout_model`` (a generation
    server, say) serves both, not recorded twice."""
    from hone.train._policy import policy_backend

    trainer = make_trainer(small_tiny_dir, CONFIG.trainer)
    served = policy_backend(trainer)
    seen: list[ModelBackend] = []

    async def search(task: Any, policy: ModelBackend, seed: int) -> list[Episode]:
        seen.append(policy)
        return await fake_search(task, policy, seed)

    result = _train(
        small_tiny_dir, SearchAssist(search), config=ONE_STEP, trainer=trainer, rollout_model=served
    )
    assert seen == [served, served]
    [step] = result.metrics
    assert step.search is not None and step.search.joined == 2 and step.update is not None


def test_a_search_that_raises_is_counted_and_training_goes_on(small_tiny_dir: Path) -> None:
    async def search(task: Any, policy: ModelBackend, seed: int) -> list[Episode]:
        if task["id"] == "a":
            raise ConnectionError("the model server went away")
        return await fake_search(task, policy, seed)

    result = _train(small_tiny_dir, SearchAssist(search), config=ONE_STEP, tasks=TASKS[:2])
    [step] = result.metrics
    searched = step.search
    assert searched is not None and (searched.searched, searched.failed) == (2, 1)
    assert searched.joined == 1 and step.update is not None  # task b's group still trains
    assert step.to_row()["search_failed"] == 1.0


def test_a_search_that_returns_no_episode_list_is_refused_by_name(small_tiny_dir: Path) -> None:
    async def search(task: Any, policy: ModelBackend, seed: int) -> Any:
        return {"episodes": []}

    with pytest.raises(TrainingConfigError, match="returned dict, not a list of Episodes"):
        _train(small_tiny_dir, SearchAssist(search), config=ONE_STEP)


SEARCH_MODULE = """
from hone.models import SamplingOptions, make_request
from hone.trajectory import RecordingModel, rollout

TASKS = {"train": [{"id": "a", "n": 2}, {"id": "b", "n": 3}], "eval": [{"id": "e", "n": 4}]}


async def program(task, model):
    request = make_request(f"Say the number {task['n']}.", options=SamplingOptions(max_tokens=4))
    completion = await model.complete(request)
    return [*request.messages, completion.message]


def reward(episode):
    return float(episode.metadata.get("found", False))


async def search(task, policy, seed):
    episodes = await rollout(program, task, RecordingModel(policy), seed=seed)
    episodes[0].metadata["found"] = True
    return episodes


NOT_CALLABLE = 3
"""


def _file_config(tmp_path: Path, search: dict[str, Any], **rl: Any) -> dict[str, Any]:
    (tmp_path / "searched_task.py").write_text(SEARCH_MODULE)
    return {
        "model": "tiny:",
        "tasks": "searched_task:TASKS",
        "program": "searched_task:program",
        "reward": "searched_task:reward",
        "output_dir": "run",
        "base_dir": str(tmp_path),
        "rl": {
            "group_size": 2,
            "tasks_per_step": 2,
            "steps": 2,
            "max_tokens": 4,
            "truncation_penalty": 0.0,
            "trainer": {"lr": 1e-3, "micro_batch_size": 4},
            "eval": {"every": 0},
            "search": search,
            **rl,
        },
    }


def test_hone_train_runs_the_search_a_config_names(small_tiny_dir: Path, tmp_path: Path) -> None:
    search = {"task_search": "searched_task:search", "max_episodes": 7, "per_search": 1}
    config = load_config(_file_config(tmp_path, search) | {"model": f"tiny:{small_tiny_dir}"})
    result = run_training(config)
    assert result.steps == 1 and result.episodes_sampled == 6  # step 2's 4 rollouts exceed 7
    [step] = result.metrics
    assert step.search is not None and step.search.joined == 2 and step.update is not None
    with TrajectoryStore(tmp_path / "run" / "trajectories.db") as store:
        assert len(store.query(run="search")) == 2


def test_a_config_search_is_checked_before_anything_loads(tmp_path: Path) -> None:
    with pytest.raises(TrainingConfigError, match=r"needs rl\.search\.per_search"):
        load_config(_file_config(tmp_path, {"task_search": "m:f", "max_episodes": 4}))
    with pytest.raises(TrainingConfigError, match=r"rl\.search\.task_search='f' is not an import"):
        load_config(_file_config(tmp_path, {"task_search": "f"}))
    not_callable = _file_config(tmp_path, {"task_search": "searched_task:NOT_CALLABLE"})
    with pytest.raises(TrainingConfigError, match="names a int; name a function"):
        run_training(load_config(not_callable))
    with pytest.raises(TrainingConfigError, match="rollout settings search"):
        recorded = _file_config(tmp_path, {"task_search": "searched_task:search"})
        load_config(recorded | {"rl": {"trajectories": "x.db", "search": recorded["rl"]["search"]}})


def test_train_rl_refuses_a_config_search_it_was_not_handed(small_tiny_dir: Path) -> None:
    config = CONFIG.model_copy(update={"search": SearchConfig(task_search="searched_task:search")})
    with pytest.raises(
        TrainingConfigError,
        match=r"rl\.search is built by run_training.*train_rl\(search=SearchAssist",
    ):
        _train(small_tiny_dir, None, config=config)


def test_searches_sample_from_the_published_policy(
    small_tiny_dir: Path, tmp_path: Path, lora_server: tuple[str, AdapterPool]
) -> None:
    """With a LoRA publisher, searches run against the server's live adapter like the
    rollouts: their calls record the version the step sampled from, and with
    ``max_staleness=0`` none of them is dropped as stale."""
    url, pool = lora_server
    trainer = make_trainer(small_tiny_dir, LORA)
    policy = OpenAICompatibleModel("tiny", base_url=url)
    publisher = LoRAPublisher(url, base_name="tiny", folder=tmp_path, policy=policy, keep=2)
    config = CONFIG.model_copy(update={"steps": 2, "trainer": LORA, "max_staleness": 0})
    result = _train(
        small_tiny_dir,
        SearchAssist(fake_search),
        config=config,
        tasks=TASKS[:2],
        trainer=trainer,
        rollout_model=policy,
        publisher=publisher,
        output_dir=tmp_path / "run",
    )
    assert trainer.step == 2 and policy.name == "tiny-v2" and pool.names() == ["tiny-v1", "tiny-v2"]
    for step in result.metrics:
        assert step.search is not None and step.search.joined == 2
        assert step.rollout is not None and step.rollout.stale == 0
        assert step.publish_s is not None and not step.publish_failed
    with TrajectoryStore(tmp_path / "run" / "trajectories.db") as store:
        searched = store.query(run="search")
        rollouts = store.query(run="rl")
    assert len(searched) == 8 and len(rollouts) == 8
    versions = {c.policy_version for e in searched for c in e.calls}
    assert versions == {c.policy_version for e in rollouts for c in e.calls} == {0, 1}


@pytest.mark.slow
@pytest.mark.timeout(240)
def test_searches_run_in_the_trainer_process_beside_ray_rollouts(
    small_tiny_dir: Path, tmp_path: Path
) -> None:
    """Rollouts in Ray actors, searches in the trainer's process, both against the served
    policy: the step trains on the mixed groups and both kinds of episode are stored."""
    pytest.importorskip("ray")
    trainer = make_trainer(small_tiny_dir, CONFIG.trainer)
    config = ONE_STEP.model_copy(
        update={"executor": "ray", "ray": RayConfig(actors=2, actor_cpus=0.5)}
    )
    with running_server(create_app(policy_backend(trainer), model_name="policy")) as url:
        served = OpenAICompatibleModel("policy", base_url=url, max_retries=0)
        result = _train(
            small_tiny_dir,
            SearchAssist(fake_search),
            config=config,
            tasks=TASKS[:2],
            trainer=trainer,
            rollout_model=served,
            output_dir=tmp_path,
        )
    (step,) = result.metrics
    assert step.rollout is not None and step.rollout.failed == 0
    assert step.search is not None and (step.search.searched, step.search.joined) == (2, 2)
    assert step.update is not None and trainer.step == 1
    with TrajectoryStore(tmp_path / "trajectories.db") as store:
        assert len(store.query(run="rl")) == 4 and len(store.query(run="search")) == 4
