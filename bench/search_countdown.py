"""Test-time search over whole countdown episodes with the demo's SFT model, at equal model calls.

Every strategy gets the same budget of *model calls* per task (``Budget(model_calls=24)``),
spent on expansions: each one an agent run of 1 to 8 model calls (a new episode from the
task's start) or a refinement of a finished episode (a critique, "That scored 0.40 out of 1.
Try again.", added to its conversation before the agent runs on: usually one call). Each
expansion is an :class:`~hone.search.EpisodeSearch` generator call: a fork of a graph
checkpoint, recorded as a trainable episode, that reports its own model calls (a
:class:`~hone.search.Cost`). The strategies, each run by hone's own implementation with the
model-call budget:

* repeated sampling (:func:`~hone.search.abest_of_n`): every expansion a new episode; the
  answer picked by the guide score (best-of-N) and, separately, by a majority vote over the
  submitted values (self-consistency, no verifier);
* refinement (:func:`~hone.search.arefine`): one episode, then each expansion refines the
  latest;
* MCTS (UCT), AB-MCTS-A (Gaussian), AB-MCTS-M (:func:`~hone.search.asearch`): the tree search
  decides, at every step, between a new episode (GEN at the root) and refining one (CONT).

The budget is checked before each expansion (two in flight per task for every strategy), so
the last expansions may overshoot it; the overshoot is reported. The search is guided by a
*closeness* score (1 − |value − target| / target of the submitted expression; 1 exactly when
solved). Reported separately: **oracle pass@k** (some expansion solved the task, by the exact
reward) and the **selected answer's accuracy** (the answer the strategy picks is right).
Figures at the smaller budget are read from the same runs: the expansions started before the
earlier ones' model calls reached it (the strategies do not depend on the total budget but
for the calls in flight); figures at the full budget are the whole runs.
"""

from __future__ import annotations

import asyncio
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
    "over whole agent episodes at equal model calls; oracle pass@k vs selected accuracy"
)
SEED = 0
STRATEGIES = ("repeated", "refine", "mcts", "ab-mcts-a", "ab-mcts-m")
#: Expansions in flight per task, for every strategy.
IN_FLIGHT = 2


def _sizes(quick: bool) -> dict[str, Any]:
    if quick:
        return {"sft": QUICK_SFT, "tasks": 3, "budget": 6, "checkpoints": (3, 6), "parallel": 3}
    return {"sft": SFTSizes(), "tasks": 40, "budget": 24, "checkpoints": (12, 24), "parallel": 20}


async def _flat(searcher: Any, budget: int, refine: bool) -> None:
    """Repeated sampling or refinement over episodes, by hone's flat strategies: a candidate
    is an expansion's ``(node state, guide score)``, reported with its model calls."""
    from hone.search import Budget, Sampled, abest_of_n, arefine

    async def expand(parent: Any = None) -> Sampled:
        node, score, cost = await searcher.agenerate(parent)
        return Sampled((node, score), cost)

    def guide(candidate: tuple[Any, float]) -> float:
        return candidate[1]

    limit = Budget(model_calls=budget)
    if refine:
        await arefine(
            expand,
            lambda latest, feedback: expand(latest[0]),
            guide,
            rounds=budget,
            budget=limit,
        )
    else:
        await abest_of_n(expand, guide, n=budget, budget=limit, concurrency=IN_FLIGHT)


def _tree(name: str) -> Any:
    from hone.search import ABMCTSA, ABMCTSM, MCTS

    return {"mcts": MCTS, "ab-mcts-a": ABMCTSA, "ab-mcts-m": ABMCTSM}[name]()


async def _one_task(name: str, task: Any, backend: Any, graph: Any, budget: int) -> list[Any]:
    from hone.rewards import reward_fn
    from hone.search import Budget, EpisodeSearch, asearch

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
            _tree(name),
            {"agent": searcher.agenerate},
            budget=Budget(model_calls=budget),
            seed=SEED,
            concurrency=IN_FLIGHT,
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


def _within(episodes: list[Any], budget: int, *, strict: bool = False) -> list[Any]:
    """The expansions a run with ``budget`` model calls would have started: those started (in
    order) before the earlier ones' model calls reached it; ``strict``: only those whose
    model calls together stay within it (no overshoot)."""
    out: list[Any] = []
    spent = 0
    for e in episodes:
        calls = e.metadata["search"]["own_calls"]
        if spent >= budget or (strict and spent + calls > budget):
            break
        out.append(e)
        spent += calls
    return out


def _score_task(episodes: list[Any], budget: int, *, whole: bool, vote: bool) -> dict[str, float]:
    """One task's figures at ``budget`` model calls: the whole run (``whole``: the run's own
    budget, overshoot included) or the expansions a smaller budget would have started."""
    first = episodes if whole else _within(episodes, budget)
    done = [e for e in first if e.status != "error" and e.reward is not None]
    best = max(done, key=lambda e: (e.reward, -e.metadata["search"]["index"]), default=None)
    calls = sum(e.metadata["search"]["own_calls"] for e in first)
    row = {
        "pass": float(any(exact(e) == 1.0 for e in done)),
        "selected": 0.0 if best is None else exact(best),
        "calls": float(calls),
        "overshoot": float(max(0, calls - budget)),
        "expansions": float(len(first)),
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
    strict = [
        e
        for e in _within(episodes, budget, strict=True)
        if e.status != "error" and e.reward is not None
    ]
    strict_best = max(
        strict, key=lambda e: (e.reward, -e.metadata["search"]["index"]), default=None
    )
    row["pass_strict"] = float(any(exact(e) == 1.0 for e in strict))
    row["selected_strict"] = 0.0 if strict_best is None else exact(strict_best)
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
        whole = budget == sizes["budget"]
        rows = [_score_task(e, budget, whole=whole, vote=name == "repeated") for e in per_task]
        out[budget] = {key: statistics.fmean(r[key] for r in rows) for key in rows[0]}
        out[budget]["overshoot_max"] = max(r["overshoot"] for r in rows)
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
        console.print(f"strategy {name} ({len(tasks)} tasks x {sizes['budget']} model calls)")
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
                    r["pass_strict"],
                    r["selected_strict"],
                    r.get("vote"),
                    r["calls"],
                    r["overshoot_max"],
                    r["expansions"],
                    r["refinements"],
                    r["tokens"],
                    r["failed"],
                    seconds[name],
                ]
            )
    print_table(
        "countdown, held-out tasks, equal model calls: oracle pass@k and the selected answer",
        [
            "strategy",
            "model-call budget",
            "pass@k",
            "selected",
            "pass@k within",
            "selected within",
            "vote",
            "model calls/task",
            "overshoot max",
            "expansions/task",
            "refinements/task",
            "tokens/task",
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
