"""RL on recorded episodes (``rl.trajectories``): a gateway's scored sessions, grouped by the
task their rewards named, trained on with the recorded logprobs as the behaviour policy's;
stale sessions and groups without a signal counted; bad files refused before a model loads."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest
import torch
import yaml
from openai import OpenAI
from transformers import AutoModelForCausalLM

from hone.errors import TrainingConfigError
from hone.models import ModelBackend, load_model
from hone.serve import GatewayStore, create_gateway_app, running_server
from hone.train import (
    EvalConfig,
    RecordedCounts,
    RLConfig,
    SearchAssist,
    TrainerConfig,
    load_config,
    load_recorded,
    run_training,
    train_rl,
)
from hone.trajectory import Episode, read_episodes, write_jsonl

from .conftest import make_trainer, say_number, toy_reward

#: (session, task_id, reward, policy version) of the recorded traffic. Groups ``a``, ``b`` and
#: ``c`` have a signal; ``a`` also holds two sessions of version 0 (stale under
#: max_staleness 1, the newest version being 2); ``flat`` scored all alike; ``single`` one
#: session; ``old`` only stale sessions.
PLAN = [
    *[(f"a{i}", "a", r, 2) for i, r in enumerate([1.0, 0.0, 0.0, 0.0])],
    *[(f"b{i}", "b", r, 2) for i, r in enumerate([1.0, 1.0, 0.0, 0.0])],
    *[(f"c{i}", "c", r, 2) for i, r in enumerate([0.0, 1.0, 0.5, 0.0])],
    ("a-old0", "a", 1.0, 0),
    ("a-old1", "a", 0.0, 0),
    *[(f"flat{i}", "flat", 0.0, 2) for i in range(3)],
    ("single0", "single", 1.0, 2),
    ("old0", "old", 1.0, 0),
    ("old1", "old", 0.0, 0),
]
EXPECTED = RecordedCounts(
    read=20,
    other_roles=0,
    unscored=0,
    stale=4,
    groups=6,
    single_groups=2,
    flat_groups=1,
    trained_groups=3,
    trained_episodes=12,
    policy_version=2,
)

TASK_MODULE = """
from hone.models import SamplingOptions, make_request

TASKS = {"train": [{"id": "n1", "n": 1}], "eval": [{"id": "e5", "n": 5}, {"id": "e6", "n": 6}]}


async def program(task, model):
    request = make_request(f"Say the number {task['n']}.", options=SamplingOptions(max_tokens=4))
    completion = await model.complete(request)
    return [*request.messages, completion.message]


def reward(episode):
    return float(episode.final_text.strip() == str(episode.task["n"]))
"""


@pytest.fixture(scope="module")
def gateway_db(small_tiny_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A gateway's database: PLAN's sessions through a gateway over the small tiny model (one
    call each, exact ids and logprobs), scored afterwards over HTTP."""
    db = tmp_path_factory.mktemp("gateway") / "gateway.db"
    model = load_model(f"tiny:{small_tiny_dir}")
    with GatewayStore(db) as store:
        app = create_gateway_app(model, store, model_name="policy")
        with running_server(app) as url:
            root = url.removesuffix("/v1")
            for session, _, _, version in PLAN:
                model.set_policy_version(version)  # type: ignore[attr-defined]
                client = OpenAI(base_url=f"{root}/sessions/{session}/v1", api_key="none")
                client.chat.completions.create(
                    model="policy",
                    messages=[{"role": "user", "content": "Say the number 3."}],
                    max_tokens=4,
                )
            for session, task, reward, _ in PLAN:
                body = {"reward": reward, "task_id": task}
                httpx.post(f"{root}/sessions/{session}/reward", json=body).raise_for_status()
    return db


def _config(tmp_path: Path, rl: dict[str, Any], **top: Any) -> dict[str, Any]:
    (tmp_path / "recorded_task.py").write_text(TASK_MODULE)
    return {
        "model": "tiny:",
        "tasks": "recorded_task:TASKS",
        "program": "recorded_task:program",
        "reward": "recorded_task:reward",
        "output_dir": "run",
        "base_dir": str(tmp_path),
        "rl": rl,
        **top,
    }


def test_the_config_round_trips_and_refuses_rollout_settings(tmp_path: Path) -> None:
    rl = {"trajectories": "gateway.db", "max_staleness": 2, "policy_version": 7, "steps": 5}
    path = tmp_path / "run.yaml"
    path.write_text(yaml.safe_dump(_config(tmp_path, {**rl, "tasks_per_step": 3})))
    config = load_config(path)
    assert config.rl is not None and config.rl.trajectories == "gateway.db"
    loaded = config.rl
    assert (loaded.max_staleness, loaded.policy_version, loaded.tasks_per_step) == (2, 7, 3)
    assert config.resolve_path(config.rl.trajectories) == tmp_path.resolve() / "gateway.db"
    again = load_config(config.model_dump(mode="json"))
    assert again == config

    with pytest.raises(TrainingConfigError, match=r"rl\.trajectories .* group_size, temperature"):
        load_config(_config(tmp_path, {**rl, "group_size": 4, "temperature": 0.7}))
    with pytest.raises(TrainingConfigError, match=r"publish"):
        load_config(_config(tmp_path, {**rl, "publish": {"base_url": "http://x/v1"}}))
    with pytest.raises(TrainingConfigError, match=r"rl\.policy_version .* needs rl\.trajectories"):
        load_config(_config(tmp_path, {"policy_version": 3}))
    with pytest.raises(TrainingConfigError, match=r"reward is missing: RL on rl\.trajectories"):
        load_config(_config(tmp_path, rl, reward=None))
    # The rollout loop's own settings stay valid without trajectories.
    assert load_config(_config(tmp_path, {"group_size": 4, "temperature": 0.7})).rl is not None


def test_rl_on_a_gateways_sessions_trains_and_counts(
    gateway_db: Path, small_tiny_dir: Path, tmp_path: Path
) -> None:
    before = hashlib.sha256(gateway_db.read_bytes()).hexdigest()
    rl = {
        "trajectories": str(gateway_db),
        "max_staleness": 1,
        "tasks_per_step": 3,
        "steps": 2,
        "min_signal": 0.9,
        "trainer": {"lr": 1e-3, "micro_batch_size": 8},
        "eval": {"every": 1},
    }
    config = load_config(_config(tmp_path, rl, model=f"tiny:{small_tiny_dir}"))
    result = run_training(config)

    assert result.steps == 2 and result.recorded == EXPECTED
    saved = json.loads((tmp_path / "run" / "recorded.json").read_text())
    assert saved == EXPECTED.to_dict()
    rows = result.rows
    assert [row["step"] for row in rows] == [0, 1, 2]
    assert all("eval_success" in row for row in rows)  # the baseline and every step
    for row in rows[1:]:  # each step: the three groups with a signal, stale sessions dropped
        assert (row["groups"], row["skipped_groups"]) == (3, 0)
        assert (row["episodes"], row["stale_episodes"], row["excluded_episodes"]) == (14, 2, 2)
        assert (row["samples"], row["policy_lag"]) == (12, 2)
        assert math.isfinite(row["loss"]) and row["rollout_s"] == 0
    assert result.best_dir is not None and (result.best_dir / "config.json").is_file()
    (warning,) = [w for w in result.warnings if w.kind == "no_signal"]
    assert "only 3 of 6 recorded groups" in warning.message

    assert result.trainer is not None
    start = AutoModelForCausalLM.from_pretrained(small_tiny_dir)
    trained = dict(result.trainer.model.named_parameters())
    changed = [n for n, p in start.named_parameters() if not torch.equal(p, trained[n])]
    assert changed, "the weights did not change"
    assert hashlib.sha256(gateway_db.read_bytes()).hexdigest() == before


def _fresh_signal_episodes(db: Path) -> list[Episode]:
    return [
        e
        for e in read_episodes(db)
        if e.task_id in ("a", "b", "c") and e.calls[0].policy_version == 2
    ]


@pytest.mark.parametrize("shift", [0.0, 0.5])
async def test_the_importance_ratio_is_against_the_recorded_logprobs(
    gateway_db: Path, small_tiny_dir: Path, tmp_path: Path, shift: float
) -> None:
    """The recorded policy is the trained one: the first step's ratio is 1, or e^shift when
    the recorded logprobs are lowered by ``shift``."""
    episodes = [
        dataclasses.replace(
            e,
            calls=[
                dataclasses.replace(c, logprobs=[lp - shift for lp in c.logprobs or []])
                for c in e.calls
            ],
        )
        for e in _fresh_signal_episodes(gateway_db)
    ]
    path = tmp_path / "sessions.jsonl"
    write_jsonl(episodes, path)
    trainer_config = TrainerConfig(lr=1e-6, micro_batch_size=16)
    config = RLConfig(
        trajectories=str(path), steps=1, tasks_per_step=3, trainer=trainer_config,
        eval=EvalConfig(every=0),
    )  # fmt: skip
    trainer = make_trainer(small_tiny_dir, trainer_config)
    recorded = load_recorded(path, config=config)
    result = await train_rl(trainer, say_number, recorded, toy_reward, config=config)
    update = result.metrics[-1].update
    assert update is not None and update.loss_metrics.ratio_mean is not None
    assert update.loss_metrics.ratio_mean == pytest.approx(math.exp(shift), rel=0.02)


async def test_train_rl_refuses_recorded_episodes_with_rollout_settings(
    gateway_db: Path, small_tiny_dir: Path
) -> None:
    config = RLConfig(trajectories=str(gateway_db), steps=1)
    recorded = load_recorded(gateway_db, config=config)
    trainer = make_trainer(small_tiny_dir, config.trainer)
    rolling = RLConfig(steps=1, group_size=4)
    with pytest.raises(TrainingConfigError, match="rollout settings group_size"):
        await train_rl(trainer, say_number, recorded, toy_reward, config=rolling)
    with pytest.raises(TrainingConfigError, match="pass load_recorded"):
        await train_rl(trainer, say_number, [{"n": 1}], toy_reward, config=config)
    stricter = RLConfig(trajectories=str(gateway_db), steps=1, max_staleness=0)
    with pytest.raises(TrainingConfigError, match="max_staleness=None"):
        await train_rl(trainer, say_number, recorded, toy_reward, config=stricter)
    with pytest.raises(TrainingConfigError, match="recorded episodes have no rollouts"):
        await train_rl(
            trainer, say_number, recorded, toy_reward, config=config, search=SearchAssist(_none)
        )


async def _none(task: Any, policy: ModelBackend, seed: int) -> list[Episode]:
    return []


def _refused(tmp_path: Path, rl: dict[str, Any], match: str) -> str:
    """The error of a run on ``rl``; its model cannot load, so the file is checked first."""
    config = load_config(_config(tmp_path, {"steps": 1, **rl}, model="tiny:no-such-model"))
    with pytest.raises(TrainingConfigError, match=match) as caught:
        run_training(config)
    return str(caught.value)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    _refused(tmp_path, {"trajectories": "gateway.db"}, r"rl\.trajectories: no file at .*gateway")


def test_a_sqlite_file_that_is_no_store_is_refused_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    db = tmp_path / "data" / "app.db"
    with sqlite3.connect(db) as conn:
        conn.execute("CREATE TABLE users (id INTEGER)")
    conn.close()
    before = db.read_bytes()
    rl = {"trajectories": "data/app.db"}
    _refused(tmp_path, rl, r"not a trajectory store: .*\(tables: users\)")
    assert db.read_bytes() == before
    assert [p.name for p in db.parent.iterdir()] == ["app.db"]  # no journal files either
    db.write_bytes(b"not sqlite at all" * 100)
    _refused(tmp_path, rl, "is not a SQLite database")


def test_episodes_without_token_ids_are_named(gateway_db: Path, tmp_path: Path) -> None:
    episodes = _fresh_signal_episodes(gateway_db)
    stripped = {episodes[0].id, episodes[5].id}
    write_jsonl(
        [
            dataclasses.replace(e, calls=[dataclasses.replace(c, token_ids=None) for c in e.calls])
            if e.id in stripped
            else e
            for e in episodes
        ],
        tmp_path / "sessions.jsonl",
    )
    message = _refused(
        tmp_path, {"trajectories": "sessions.jsonl"}, r"2 of 12 scored episodes .* lack"
    )
    assert all(i in message for i in stripped)


def test_all_sessions_stale_is_refused(gateway_db: Path, tmp_path: Path) -> None:
    rl = {"trajectories": str(gateway_db), "max_staleness": 1, "policy_version": 9}
    _refused(tmp_path, rl, r"all 20 scored episodes .* are stale: .* versions 0\.\.2")


def test_no_group_with_a_signal_is_refused(gateway_db: Path, tmp_path: Path) -> None:
    alone = [
        dataclasses.replace(e, group_id=e.id, task_id=e.id)
        for e in _fresh_signal_episodes(gateway_db)
    ]
    write_jsonl(alone, tmp_path / "sessions.jsonl")
    _refused(
        tmp_path,
        {"trajectories": "sessions.jsonl"},
        r"none of the 12 groups .* 12 have fewer than two fresh episodes and 0 equal",
    )


def test_the_gateway_example_trains_rl_on_its_sessions() -> None:
    example = Path(__file__).resolve().parents[2] / "examples" / "gateway"
    config = load_config(example / "train_rl.yaml")
    assert config.rl is not None and config.sft is None
    assert config.resolve_path(config.rl.trajectories or "") == example / "runs" / "gateway.db"
    guide = (example.parents[1] / "docs" / "gateway.md").read_text()
    assert "examples/gateway/train_rl.yaml" in guide
