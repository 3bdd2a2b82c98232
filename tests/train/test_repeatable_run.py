"""An RL run is repeatable: the same seed gives the same episodes, metrics and weights, even
when the rollouts' tools take random times (batched generation goes in deterministic waves)."""

from __future__ import annotations

import asyncio
import random
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from hone.messages import AnyMessage, UserMessage
from hone.models import ModelBackend, SamplingOptions, make_request
from hone.train import EvalConfig, RLConfig, TrainerConfig, train_rl
from hone.trajectory import TrajectoryStore

TRAINER = TrainerConfig(lr=3e-3, micro_batch_size=4, seed=0)
RL = RLConfig(
    group_size=3,
    tasks_per_step=3,
    steps=3,
    max_tokens=5,
    temperature=1.0,
    trainer=TRAINER,
    eval=EvalConfig(every=3, at_start=False, keep_best=False),
    checkpoint_every=0,
)
_TIMINGS = ("rollout_s", "tokens_per_s", "train_s", "publish_s")


def _two_turns(jitter: random.Random) -> Any:
    async def program(task: dict[str, Any], model: ModelBackend) -> list[AnyMessage]:
        """Two calls with a pause of random length (a slow tool) before each."""
        options = SamplingOptions(max_tokens=5)
        request = make_request(f"Say the number {task['n']}.", options=options)
        await asyncio.sleep(jitter.random() * 0.01)
        first = await model.complete(request)
        again = [*request.messages, first.message, UserMessage(content="Once more.")]
        await asyncio.sleep(jitter.random() * 0.01)
        second = await model.complete(make_request(again, options=options))
        return [*again, second.message]

    return program


async def _run(
    toy: SimpleNamespace, tiny_dir: Path, out: Path, jitter_seed: int
) -> tuple[Any, Any, Any]:
    """(metrics rows without wall times, every episode's sampled ids and logprobs, weights)."""
    trainer = toy.make_trainer(tiny_dir, TRAINER)
    program = _two_turns(random.Random(jitter_seed))
    result = await train_rl(
        trainer,
        program,
        toy.tasks,
        toy.reward,
        config=RL,
        eval_tasks=toy.tasks[2:],
        seed=4,
        output_dir=out,
    )
    rows = [{k: v for k, v in m.to_row().items() if k not in _TIMINGS} for m in result.metrics]
    with TrajectoryStore(out / "trajectories.db") as store:
        episodes = [
            (e.task_id, e.metadata["rollout_index"], [(c.token_ids, c.logprobs) for c in e.calls])
            for e in store.query(run="rl")
        ]
    return rows, episodes, trainer.model.state_dict()


async def test_the_same_seed_gives_the_same_run(
    toy: SimpleNamespace, small_tiny_dir: Path, tmp_path: Path
) -> None:
    import torch

    rows, episodes, weights = await _run(toy, small_tiny_dir, tmp_path / "a", jitter_seed=0)
    rows_again, episodes_again, weights_again = await _run(
        toy, small_tiny_dir, tmp_path / "b", jitter_seed=1
    )
    assert rows == rows_again
    # Logprobs too, bit for bit: they change with the batch a call shared (padding, shapes).
    assert len(episodes) == 27 and episodes == episodes_again
    assert sum(1 for row in rows if "loss" in row) >= 2  # the weights really changed
    assert all(torch.equal(weights[name], weights_again[name]) for name in weights)
