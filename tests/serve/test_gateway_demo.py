"""The gateway demonstration at toy size: the plain-openai agent and the scorer of
``examples/gateway`` run as separate programs against a gateway over the built-in tiny model,
and ``train.yaml`` trains on the recorded sessions (figures: ``python -m bench
gateway_training``)."""

from __future__ import annotations

import ast
import dataclasses
import math
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("torch")

from transformers import AutoModelForCausalLM, AutoTokenizer

from hone.models import BatchingModel, load_model
from hone.models.tiny import ensure_tiny_model
from hone.serve import GatewayStore, create_gateway_app, running_server
from hone.train import Trainer, TrainerConfig, build_rl_batch, load_config, run_training

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "gateway"


def _script(name: str, *args: str) -> str:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE / name), *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    names |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    return {name.partition(".")[0] for name in names}


@pytest.mark.parametrize("script", ["agent.py", "score.py"])
def test_the_agent_and_the_scorer_import_no_hone(script: str) -> None:
    found = _imports(EXAMPLE / script)
    assert "hone" not in found
    assert found >= ({"openai"} if script == "agent.py" else {"httpx"})


@pytest.fixture
def one_thread() -> Iterator[None]:
    """One torch thread: the tiny model gains nothing from two, and two contend on a busy CI
    machine."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.mark.slow
@pytest.mark.usefixtures("one_thread")
def test_agent_traffic_scored_later_trains_the_policy(tmp_path: Path) -> None:
    db = tmp_path / "gateway.db"
    model = BatchingModel(load_model("tiny:"), max_batch=16, max_in_flight=1)
    with GatewayStore(db) as store:
        app = create_gateway_app(model, store, model_name="policy", policy_version=0)
        with running_server(app) as url:
            root = url.removesuffix("/v1")
            args = ["--gateway", root, "--phrasings", "held-out", "--samples", "2"]
            said = _script("agent.py", *args)
            assert "40 conversations through the gateway" in said
            scored = _script("score.py", "--gateway", root)
            assert "scored 40 sessions" in scored
        episodes = store.episodes()
    assert len(episodes) == 40
    for episode in episodes:
        (call,) = episode.calls
        assert call.has_tokens and call.policy_version == 0
        asked = episode.task["n"]
        assert call.messages[0]["content"].count(str(asked)) == 1
        assert episode.reward == float(episode.final_answer.strip() == str(asked))

    # RL on the recorded sessions (off-policy): grouped by the task the scorer named, with the
    # recorded logprobs as the behaviour policy's for the importance ratio. The untrained
    # model's rewards are all 0, so give each task's two sessions different ones here.
    assert {e.group_id for e in episodes} == {e.task_id for e in episodes}
    ordered = sorted(episodes, key=lambda e: (e.task_id, e.id))
    varied = [dataclasses.replace(e, reward=float(i % 2)) for i, e in enumerate(ordered)]
    batch = build_rl_batch(varied)
    assert batch.samples and len(batch.samples) == 40
    assert all(s.old_logprobs is not None and any(s.old_logprobs) for s in batch.samples)
    path = ensure_tiny_model()
    policy = AutoModelForCausalLM.from_pretrained(path)
    trainer = Trainer(
        policy, AutoTokenizer.from_pretrained(path), config=TrainerConfig(loss_type="dapo")
    )
    assert math.isfinite(trainer.train_step(batch.samples).loss)

    # The untrained model rarely succeeds, so keep every session here (min_reward 0).
    config = load_config(
        EXAMPLE / "train.yaml",
        overrides={
            "model": "tiny:",
            "output_dir": str(tmp_path / "trained"),
            "sft": {"trajectories": str(db), "min_reward": 0.0, "max_steps": 2},
        },
    )
    result = run_training(config)
    assert result.sft is not None and result.sft.episodes == 40 and result.sft.steps == 2
    assert result.model_dir is not None and (result.model_dir / "config.json").is_file()
