"""RLM runs train: SFT on the teacher's root episodes runs, and the trained policy's own RLM
runs record one episode per role, with the tiny model's token ids (toy sizes; the measured
version is ``bench/rlm_training.py``)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("torch")

from hone.models import SamplingOptions, ScriptedModel, TransformersModel
from hone.models._tiny_corpus import default_corpus
from hone.models.tiny import TinyConfig, build_tiny_model
from hone.rlm import RLMBudget, RLMConfig, arun_rlm, rlm_roles
from hone.rlm.ledger import ledger_reader, ledger_reward, ledger_teacher, make_ledger_task
from hone.train import SFTConfig, Trainer, TrainerConfig, train_sft
from hone.trajectory import Episode, rollout, rollout_batch

from ._helpers import code

SMALL = TinyConfig(hidden_size=64, layers=2, heads=2, kv_heads=1, intermediate=128)
PROMPT = "Answer about `context` with one Python block per reply."
RECORDS = 12  # a small ledger: 2,000 characters, a dozen records


@pytest.fixture(scope="module")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small tiny model (the built-in architecture and tokenizer, fewer weights)."""
    return build_tiny_model(
        tmp_path_factory.mktemp("rlm-tiny"), corpus=default_corpus(300), config=SMALL
    )


def _trainer(path: Path, config: SFTConfig) -> Trainer:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(path)
    return Trainer(model, AutoTokenizer.from_pretrained(path), config=config.trainer)


def _program(config: RLMConfig) -> Any:
    async def program(record: dict[str, Any], models: Any) -> Any:
        task = make_ledger_task(record["seed"], chars=record["chars"], records=RECORDS)
        return await arun_rlm(None, task.context, task.question, config=config)

    return program


def _records(seeds: range) -> list[dict[str, Any]]:
    return [make_ledger_task(s, chars=2_000, records=RECORDS).record() for s in seeds]


def _by_role(episodes: list[Episode]) -> dict[str, list[Episode]]:
    out: dict[str, list[Episode]] = {}
    for episode in episodes:
        out.setdefault(episode.role, []).append(episode)
    return out


async def test_sft_on_the_teachers_root_episodes_runs(tiny_dir: Path) -> None:
    config = RLMConfig(max_depth=0, prompt=PROMPT)
    teacher = {"rlm": ledger_teacher(chunk_chars=1_000), "llm_query": ledger_reader()}
    batch = await rollout_batch(
        _program(config), _records(range(3)), teacher, group_size=1, reward=ledger_reward()
    )
    roles = _by_role(batch.episodes)
    assert sorted(roles) == ["llm_query", "rlm"]
    roots = roles["rlm"]
    assert [e.reward for e in roots] == [1.0, 1.0, 1.0]
    assert all(len(e.calls) == 3 for e in roots)  # look, split and read, answer
    assert all(len(e.calls) >= 2 for e in roles["llm_query"])  # one per piece

    sft = SFTConfig(max_steps=3, batch_size=3, trainer=TrainerConfig(lr=1e-3, micro_batch_size=3))
    trainer = _trainer(tiny_dir, sft)
    before = {k: v.clone() for k, v in trainer.model.state_dict().items()}
    result = await train_sft(trainer, roots, config=sft)
    # Each root episode is one sequence (every turn's prompt extends the last): 3 samples.
    assert (result.steps, result.episodes, result.samples) == (3, 3, 3)
    assert result.prefix_breaks == 0 and result.skipped_calls == 0
    assert math.isfinite(result.final_loss)
    after = trainer.model.state_dict()
    assert any(not after[k].equal(before[k]) for k in before)


async def test_the_trained_policys_runs_record_each_role(tiny_dir: Path) -> None:
    # A block the policy can learn in a few dozen steps: one sub-call, then the answer.
    block = code("answer['content'] = llm_query(context[:40])\nanswer['ready'] = True")
    greedy = SamplingOptions(max_tokens=64, temperature=0.0)
    config = RLMConfig(
        max_depth=0, prompt=PROMPT, budget=RLMBudget(max_iterations=1), options=greedy
    )
    teacher = {"rlm": ScriptedModel([block], when_exhausted="cycle"), "llm_query": ledger_reader()}
    batch = await rollout_batch(_program(config), _records(range(4)), teacher, group_size=1)
    roots = _by_role(batch.episodes)["rlm"]

    sft = SFTConfig(max_steps=60, batch_size=4, trainer=TrainerConfig(lr=1e-2, micro_batch_size=4))
    trainer = _trainer(tiny_dir, sft)
    await train_sft(trainer, roots, config=sft)

    policy = TransformersModel(trainer.model, trainer.tokenizer)
    reader = ScriptedModel(["7"], name="reader", when_exhausted="cycle")
    [record] = _records(range(10, 11))
    episodes = await rollout(_program(config), record, {"rlm": policy, "llm_query": reader})
    root, sub = episodes
    assert (root.role, sub.role) == tuple(rlm_roles(0))
    # The trained policy wrote the block: its sub-call went to the llm_query role's model and
    # the answer is the reply.
    assert root.calls[0].output["content"].startswith("```python\nanswer['content'] = llm_query(")
    assert root.stop_reason == "answered" and root.output["answer"] == "7"
    assert len(sub.calls) == 1 and sub.calls[0].role == "llm_query"
    # The root's calls carry the tiny model's own ids: what RL on this role trains on.
    call = root.calls[0]
    assert call.token_ids and call.logprobs and len(call.logprobs) == len(call.token_ids)
    assert PROMPT in trainer.tokenizer.decode(call.prompt_token_ids)
