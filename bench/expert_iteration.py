"""Expert iteration (search → imitate what search found) vs GRPO, from the demo's SFT model.

Both arms start from the same SFT model (the demo's recipe at a smaller size: teacher
demonstrations → tokenizer and tiny model → SFT), see no teacher data after that, and sample
the same number of episodes:

* **expert iteration** — each round, AB-MCTS-A searches each of ``tasks_per_round`` training
  tasks over whole agent episodes (:func:`hone.search.episode_search`: ``budget`` expansions,
  a new episode or a finished episode's last turn retried with a fresh seed), the best solved
  episode per task is kept (:func:`hone.search.best_episodes`) and imitated with
  :func:`hone.train.train_sft` (:func:`hone.search.aexpert_iteration`);
* **GRPO** — :func:`hone.train.train_rl` with the demo's settings, ``steps × tasks_per_step ×
  group_size`` equal to the episodes expert iteration sampled;
* **GRPO + search successes** — :func:`hone.train.train_rl` with a ``SearchAssist``: GRPO's
  settings, and each task whose group of rollouts has no success is searched as expert
  iteration searches
  (same algorithm and budget); the best solved episode joins the group. Search episodes
  count toward the same budget, so this arm takes fewer RL steps.

Each arm's model is evaluated greedily on held-out tasks with the demo's agent and reward
(the demo's own evaluation), per seed. The seeds drive the task draws, the searches, the
sampling and the training order; the SFT starting point is the same for every seed (seed 0's).
``--arms`` runs a subset of the arms (``expert``, ``grpo``, ``search``; default all three).
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import functools
import math
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from bench._common import Options, bench_main, console, print_table
from bench._search_countdown import (
    CACHE,
    QUICK_SFT,
    THREADS,
    SFTSizes,
    aheld_out,
    countdown_graph,
    countdown_input,
    exact,
    held_out,
    policy,
    sft_start,
)

NAME = "expert_iteration"
DESCRIPTION = (
    "expert iteration (AB-MCTS-A over agent episodes -> SFT on what it found) vs GRPO vs GRPO "
    "with search successes in unsolved groups, at equal sampled episodes, from the demo's SFT "
    "model, 3 seeds"
)
SEEDS = (0, 1, 2)


@dataclass(frozen=True, slots=True)
class Sizes:
    """The run's sizes (per seed)."""

    sft: SFTSizes = field(default_factory=SFTSizes)
    rounds: int = 3
    tasks_per_round: int = 16
    budget: int = 8
    sft_steps: int = 8
    sft_batch: int = 16
    sft_lr: float = 3e-4
    group_size: int = 8
    tasks_per_step: int = 8
    rl_lr: float = 3e-4

    @property
    def episodes(self) -> int:
        """Episodes each arm samples."""
        return self.rounds * self.tasks_per_round * self.budget

    @property
    def rl_steps(self) -> int:
        """GRPO steps for the same episodes."""
        return self.episodes // (self.group_size * self.tasks_per_step)


QUICK = Sizes(
    sft=QUICK_SFT,
    rounds=2,
    tasks_per_round=2,
    budget=2,
    sft_steps=1,
    group_size=2,
    tasks_per_step=2,
)


def _expert(
    sizes: Sizes, seed: int, start: tuple[Any, Any], tasks: list[Any], test: list[Any]
) -> dict[str, Any]:
    from hone.rewards import reward_fn
    from hone.search import ABMCTSA, ExpertRound, aexpert_iteration, episode_search
    from hone.train import LRSchedule, SFTConfig, Trainer, TrainerConfig

    model, tokenizer = copy.deepcopy(start[0]), start[1]
    trainer_config = TrainerConfig(
        lr=sizes.sft_lr,
        schedule=LRSchedule(kind="constant"),
        adam_betas=(0.9, 0.98),
        micro_batch_size=8,
        seed=seed,
    )
    trainer = Trainer(model, tokenizer, config=trainer_config)
    search = episode_search(
        countdown_graph(max_tokens=sizes.sft.max_tokens),
        reward_fn(exact),
        ABMCTSA(),
        budget=sizes.budget,
        make_input=countdown_input,
        on_done="retry_last",
        concurrency=2,
    )
    backend = policy(model, tokenizer, width=64, version=lambda: trainer.step)

    async def evaluate(_: Any) -> float:
        return await aheld_out(backend, test, seed, sizes.sft.max_tokens)

    def on_round(r: ExpertRound) -> None:
        console.print(
            f"  seed {seed} expert round {r.round}: solved {r.solved}/{r.tasks} tasks, "
            f"{r.episodes} episodes, {r.model_calls} model calls, imitated {r.imitated}, "
            f"loss {r.sft_loss:.3f}, held-out {r.eval_success:.3f} ({r.seconds:.0f} s)"
        )

    started = time.perf_counter()
    result = asyncio.run(
        aexpert_iteration(
            trainer,
            tasks,
            search,
            rounds=sizes.rounds,
            sft=SFTConfig(
                max_steps=sizes.sft_steps, batch_size=sizes.sft_batch, trainer=trainer_config
            ),
            tasks_per_round=sizes.tasks_per_round,
            policy=backend,
            evaluate=evaluate,
            search_concurrency=8,
            seed=seed,
            on_round=on_round,
        )
    )
    return {
        "start": _json(result.initial_eval),
        "final": _json(result.rounds[-1].eval_success),
        "episodes": result.episodes_sampled,
        "rounds": [{k: _json(v) for k, v in r.to_row().items()} for r in result.rounds],
        "seconds": round(time.perf_counter() - started, 1),
    }


def _rl_config(sizes: Sizes, seed: int) -> Any:
    """The GRPO settings both RL arms use (the demo's)."""
    from hone.train import EvalConfig, RLConfig, TrainerConfig

    return RLConfig(
        group_size=sizes.group_size,
        tasks_per_step=sizes.tasks_per_step,
        steps=max(1, sizes.rl_steps),
        trainer=TrainerConfig(
            lr=sizes.rl_lr,
            adam_betas=(0.9, 0.99),
            micro_batch_size=16,
            max_completion_length=20,
            seed=seed,
        ),
        temperature=1.0,
        max_tokens=sizes.sft.max_tokens,
        truncation_penalty=0.0,
        eval=EvalConfig(every=0),
        checkpoint_every=0,
    )


def _grpo(
    sizes: Sizes, seed: int, start: tuple[Any, Any], tasks: list[Any], test: list[Any]
) -> dict[str, Any]:
    from hone.demo import CountdownAgent, countdown_reward
    from hone.train import StepReport, Trainer, train_rl

    model, tokenizer = copy.deepcopy(start[0]), start[1]
    config = _rl_config(sizes, seed)
    sampled = 0

    def on_step(report: StepReport) -> None:
        nonlocal sampled
        row = report.metrics.to_row()
        sampled += sizes.group_size * sizes.tasks_per_step
        console.print(
            f"  seed {seed} grpo step {report.step}/{report.total}: "
            f"reward={row.get('reward', float('nan')):.3f} episodes={sampled}"
        )

    started = time.perf_counter()
    width = sizes.group_size * sizes.tasks_per_step
    asyncio.run(
        train_rl(
            Trainer(model, tokenizer, config=config.trainer),
            CountdownAgent(max_tokens=sizes.sft.max_tokens),
            tasks,
            countdown_reward,
            config=config,
            seed=seed,
            rollout_model=policy(model, tokenizer, width=width),
            save_model=False,
            on_step=on_step,
        )
    )
    final = held_out(policy(model, tokenizer), test, seed, sizes.sft.max_tokens)
    console.print(f"  seed {seed} grpo: held-out {final:.3f}")
    return {"final": final, "episodes": sampled, "seconds": round(time.perf_counter() - started, 1)}


def _searched(
    sizes: Sizes, seed: int, start: tuple[Any, Any], tasks: list[Any], test: list[Any]
) -> dict[str, Any]:
    from hone.demo import CountdownAgent, countdown_reward
    from hone.rewards import reward_fn
    from hone.search import ABMCTSA, episode_search
    from hone.train import RLStepMetrics, SearchAssist, StepReport, Trainer, train_rl

    model, tokenizer = copy.deepcopy(start[0]), start[1]
    config = _rl_config(sizes, seed)  # steps: an upper bound, the episode budget ends it
    trainer = Trainer(model, tokenizer, config=config.trainer)
    search = episode_search(
        countdown_graph(max_tokens=sizes.sft.max_tokens),
        reward_fn(exact),
        ABMCTSA(),
        budget=sizes.budget,
        make_input=countdown_input,
        on_done="retry_last",
        concurrency=2,
    )
    steps: list[RLStepMetrics] = []

    def on_step(report: StepReport) -> None:
        metrics = report.metrics
        if not isinstance(metrics, RLStepMetrics) or metrics.search is None:
            return  # the step-0 evaluation (none is configured)
        steps.append(metrics)
        s, groups = metrics.search, metrics.rollout.groups if metrics.rollout else 0
        console.print(
            f"  seed {seed} grpo+search step {metrics.step}: rollout success "
            f"{s.rollout_success:.3f}, unsolved {s.unsolved}/{groups}, searched {s.searched}, "
            f"solved by search {s.solved}, joined {s.joined}, "
            f"update {'yes' if metrics.update is not None else 'no'}, "
            f"episodes={s.episodes_sampled}"
        )

    started = time.perf_counter()
    result = asyncio.run(
        train_rl(
            trainer,
            CountdownAgent(max_tokens=sizes.sft.max_tokens),
            tasks,
            countdown_reward,
            config=config,
            rollout_model=policy(model, tokenizer, width=64, version=lambda: trainer.step),
            seed=seed,
            on_step=on_step,
            search=SearchAssist(search, max_episodes=sizes.episodes, per_search=sizes.budget),
        )
    )
    final = held_out(policy(model, tokenizer), test, seed, sizes.sft.max_tokens)
    console.print(f"  seed {seed} grpo+search: held-out {final:.3f}")
    per_step = [(m, m.search) for m in steps if m.search is not None]
    return {
        "final": final,
        "episodes": result.episodes_sampled,
        "steps": len(per_step),
        "updates": trainer.step,
        "per_step": [
            {
                "rollout_success": s.rollout_success,
                "unsolved": s.unsolved,
                "searched": s.searched,
                "search_episodes": s.episodes,
                "search_solved": s.solved,
                "joined": s.joined,
                "update": m.update is not None,
            }
            for m, s in per_step
        ],
        "groups_given_search_success": sum(s.joined for _, s in per_step),
        "seconds": round(time.perf_counter() - started, 1),
    }


def _json(value: float) -> float | None:
    """NaN (no step, no evaluation) as JSON null."""
    return None if math.isnan(value) else value


#: The arms, by name: what ``--arms`` chooses from (all by default).
ARMS = {"expert": _expert, "grpo": _grpo, "search": _searched}
LABELS = {"expert": "expert iteration", "grpo": "GRPO", "search": "GRPO + search successes"}


def run(options: Options, arms: Sequence[str] = tuple(ARMS)) -> dict[str, Any]:
    """The chosen arms on every seed."""
    import torch

    torch.set_num_threads(THREADS)
    sizes = QUICK if options.quick else Sizes()
    seeds = SEEDS[:1] if options.quick else SEEDS
    cache = options.workdir if options.quick else CACHE
    console.print("SFT starting point (the demo's recipe, smaller):")
    model, tokenizer, train, test, facts = sft_start(sizes.sft, 0, cache)
    runs = []
    for seed in seeds:
        out: dict[str, Any] = {"seed": seed}
        for arm in arms:
            out[arm] = ARMS[arm](sizes, seed, (model, tokenizer), train, test)
        runs.append(out)
    if "expert" in arms:
        start = runs[0]["expert"]["start"]
    else:
        start = held_out(policy(model, tokenizer), test, 0, sizes.sft.max_tokens)
    rows: list[list[Any]] = []
    for r in runs:
        row = [r["seed"], start, *(r[arm]["final"] for arm in arms)]
        row += [r[arm]["episodes"] for arm in arms]
        if "search" in arms:
            row += [r["search"]["steps"], r["search"]["groups_given_search_success"]]
        rows.append(row + [r[arm]["seconds"] for arm in arms])
    means = {arm: statistics.fmean(r[arm]["final"] for r in runs) for arm in arms}
    rows.append(["mean", start, *means.values()] + [None] * (len(rows[0]) - 2 - len(arms)))
    headers = ["seed", "SFT start", *(LABELS[arm] for arm in arms)]
    headers += [f"{arm} episodes" for arm in arms]
    if "search" in arms:
        headers += ["search RL steps", "groups given a search success"]
    print_table(
        "held-out greedy success (the demo's agent and reward)",
        headers + [f"{arm} s" for arm in arms],
        rows,
    )
    return {
        "sizes": asdict(sizes),
        "sft": {**facts, "held_out_tasks": len(test)},
        "arms": list(arms),
        "runs": runs,
        "mean": {"sft_start": start, **means},
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Command-line entry point: the common options, and ``--arms`` (default: all three)."""
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--arms", nargs="+", choices=list(ARMS), default=list(ARMS))
    known, rest = parser.parse_known_args(argv)
    return bench_main(NAME, DESCRIPTION, functools.partial(run, arms=known.arms), rest)


if __name__ == "__main__":
    main()
