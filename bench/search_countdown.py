"""Test-time search over whole countdown episodes with the demo's SFT model, at equal budget.

Every strategy gets the same number of *expansions* per task (one agent run each: a new
episode from the task's start, or a refinement of a finished one: a critique, "That scored
0.40 out of 1. Try again.", added to its conversation before the agent runs on). Each
expansion is an :class:`~hone.search.EpisodeSearch` generator call: a fork of a graph
checkpoint, recorded as a trainable episode. The strategies:

* repeated sampling: every expansion a new episode; the answer picked by the guide score
  (best-of-N) and, separately, by a majority vote over the submitted values
  (self-consistency, no verifier);
* refinement: one episode, then each expansion refines the latest;
* MCTS (UCT), AB-MCTS-A (Gaussian), AB-MCTS-M: the tree search decides, at every step,
  between a new episode (GEN at the root) and refining one (CONT).

The search is guided by a *closeness* score (1 − |value − target| / target of the submitted
expression; 1 exactly when solved). Reported separately: **oracle pass@k** (some expansion
solved the task, by the exact reward) and the **selected answer's accuracy** (the answer the
strategy picks is right). Model calls and tokens are counted too: expansions are equal, model
calls are close but not identical (an episode takes 1 to 8 turns). Figures at budget 4 are
read from the first 4 expansions of each run (the searches do not depend on the total budget
but for the calls in flight).
"""

from __future__ import annotations

import asyncio
import contextlib
import statistics
import time
from collections import Counter
from typing import Any

from bench._common import Options, bench_main, console, print_table
from bench._search_countdown import (
    CACHE,
    QUICK_SFT,
    THREADS,
    SFTSizes,
    closeness,
    countdown_graph,
    countdown_input,
    exact,
    held_out,
    last_submitted,
    policy,
    sft_start,
)

NAME = "search_countdown"
DESCRIPTION = (
    "countdown with the demo's SFT model: repeated sampling, refinement, MCTS, AB-MCTS-A/M "
    "over whole agent episodes at equal expansions; oracle pass@k vs selected accuracy"
)
SEED = 0
STRATEGIES = ("repeated", "refine", "mcts", "ab-mcts-a", "ab-mcts-m")


def _sizes(quick: bool) -> dict[str, Any]:
    if quick:
        return {"sft": QUICK_SFT, "tasks": 3, "budget": 3, "checkpoints": (2, 3), "parallel": 3}
    return {"sft": SFTSizes(), "tasks": 40, "budget": 8, "checkpoints": (4, 8), "parallel": 20}


async def _flat(searcher: Any, budget: int, refine: bool) -> None:
    from hone.errors import SearchError

    if not refine:

        async def one() -> None:
            with contextlib.suppress(SearchError):  # recorded as a failed episode
                await searcher.agenerate(None)

        await asyncio.gather(*(one() for _ in range(budget)))
        return
    latest: Any = None
    for _ in range(budget):
        with contextlib.suppress(SearchError):  # on failure: refine the same one again
            latest, _, _ = await searcher.agenerate(latest)


def _tree(name: str) -> Any:
    from hone.search import ABMCTSA, ABMCTSM, MCTS

    return {"mcts": MCTS, "ab-mcts-a": ABMCTSA, "ab-mcts-m": ABMCTSM}[name]()


async def _one_task(name: str, task: Any, backend: Any, graph: Any, budget: int) -> list[Any]:
    from hone.rewards import reward_fn
    from hone.search import EpisodeSearch, asearch

    searcher = EpisodeSearch(
        graph,
        task,
        backend,
        reward_fn(closeness),
        make_input=countdown_input,
        seed=SEED,
        recursion_limit=20,
    )
    if name in ("repeated", "refine"):
        await _flat(searcher, budget, refine=name == "refine")
    else:
        await asearch(
            _tree(name), {"agent": searcher.agenerate}, budget=budget, seed=SEED, concurrency=2
        )
    episodes = list(searcher.episodes.values())
    episodes.sort(key=lambda e: e.metadata["search"]["index"])
    return episodes


def _vote(episodes: list[Any]) -> float:
    """Self-consistency: the most frequent submitted value (ties: the first seen)."""
    from hone.demo import task_from_record
    from hone.demo.countdown import evaluate_expression

    values: list[tuple[int, Any]] = []
    for e in episodes:
        submitted = last_submitted(e.messages)
        if submitted is None:
            continue
        value = evaluate_expression(submitted, task_from_record(e.task).numbers)
        if isinstance(value, int):
            values.append((value, e))
    if not values:
        return 0.0
    winner, _ = Counter(v for v, _ in values).most_common(1)[0]
    return float(winner == task_from_record(values[0][1].task).target)


def _score_task(episodes: list[Any], budget: int, vote: bool) -> dict[str, float]:
    first = [e for e in episodes if e.metadata["search"]["index"] < budget]
    done = [e for e in first if e.status != "error" and e.reward is not None]
    best = max(done, key=lambda e: (e.reward, -e.metadata["search"]["index"]), default=None)
    row = {
        "pass": float(any(exact(e) == 1.0 for e in done)),
        "selected": 0.0 if best is None else exact(best),
        "calls": float(sum(e.metadata["search"]["own_calls"] for e in first)),
        "tokens": float(
            sum(
                c.usage.get("completion_tokens", 0)
                for e in first
                for c in e.calls[len(e.calls) - e.metadata["search"]["own_calls"] :]
            )
        ),
        "failed": float(sum(e.status == "error" for e in first)),
        "refinements": float(sum(e.metadata["search"]["kind"] != "root" for e in first)),
    }
    if vote:
        row["vote"] = _vote(done)
    return row


async def _strategy(
    name: str, tasks: list[Any], backend: Any, sizes: dict[str, Any], seconds: dict[str, float]
) -> dict[int, dict[str, float]]:
    graph = countdown_graph(max_tokens=sizes["sft"].max_tokens)
    gate = asyncio.Semaphore(sizes["parallel"])
    started = time.perf_counter()
    done = 0

    async def run(task: Any) -> list[Any]:
        nonlocal done
        async with gate:
            episodes = await _one_task(name, task, backend, graph, sizes["budget"])
        done += 1
        if done % 10 == 0 or done == len(tasks):
            console.print(
                f"  {name}: {done}/{len(tasks)} tasks, {time.perf_counter() - started:.0f} s"
            )
        return episodes

    per_task = await asyncio.gather(*(run(t) for t in tasks))
    seconds[name] = round(time.perf_counter() - started, 1)
    out: dict[int, dict[str, float]] = {}
    for budget in sizes["checkpoints"]:
        rows = [_score_task(e, budget, vote=name == "repeated") for e in per_task]
        out[budget] = {key: statistics.fmean(r[key] for r in rows) for key in rows[0]}
    return out


def run(options: Options) -> dict[str, Any]:
    """Run every strategy on the held-out tasks."""
    import torch

    torch.set_num_threads(THREADS)
    sizes = _sizes(options.quick)
    cache = options.workdir if options.quick else CACHE
    console.print("SFT starting point (the demo's recipe, smaller):")
    model, tokenizer, _, test, facts = sft_start(sizes["sft"], SEED, cache)
    tasks = test[: sizes["tasks"]]
    backend = policy(model, tokenizer, width=64)
    greedy = held_out(backend, test, SEED, sizes["sft"].max_tokens)
    console.print(f"  SFT model: greedy held-out success {greedy:.3f} on {len(test)} tasks")
    seconds: dict[str, float] = {}
    results: dict[str, dict[int, dict[str, float]]] = {}
    for name in STRATEGIES:
        console.print(f"strategy {name} ({len(tasks)} tasks x {sizes['budget']} expansions)")
        results[name] = asyncio.run(_strategy(name, tasks, backend, sizes, seconds))
    rows = []
    for name in STRATEGIES:
        for budget, r in results[name].items():
            rows.append(
                [
                    name,
                    budget,
                    r["pass"],
                    r["selected"],
                    r.get("vote"),
                    r["calls"],
                    r["tokens"],
                    r["refinements"],
                    r["failed"],
                    seconds[name],
                ]
            )
    print_table(
        "countdown, held-out tasks: oracle pass@k and the selected answer's accuracy",
        [
            "strategy",
            "expansions",
            "pass@k",
            "selected",
            "vote",
            "model calls/task",
            "tokens/task",
            "refinements/task",
            "failed/task",
            "seconds",
        ],
        rows,
    )
    return {
        "sizes": {
            **{k: list(v) if isinstance(v, tuple) else v for k, v in sizes.items() if k != "sft"},
            "sft": vars_of(sizes["sft"]),
        },
        "sft": {**facts, "greedy_held_out": greedy, "held_out_tasks": len(test)},
        "strategies": {n: {str(b): r for b, r in res.items()} for n, res in results.items()},
        "seconds": seconds,
    }


def vars_of(sizes: SFTSizes) -> dict[str, Any]:
    """The SFT sizes as JSON data."""
    from dataclasses import asdict

    return asdict(sizes)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Command-line entry point."""
    return bench_main(NAME, DESCRIPTION, run, argv)


if __name__ == "__main__":
    main()
