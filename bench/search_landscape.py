"""Search quality and per-node overhead on synthetic landscapes: hone vs TreeQuest 0.3.3.

Each landscape has two actions ("a", "b"). A GEN call (``generate(None)``) draws a fresh
answer whose score follows a Beta distribution; a CONT call (``generate(parent)``) refines the
parent: ``score = clip(parent + gain(depth) + noise)``, where the gain is positive down to a
known best depth and negative below it. So each landscape has a known best shape:

* ``wide`` — refining lowers the expected score (best depth 1): width should win, though the
  noise still lets a refinement beat a top answer now and then;
* ``deep`` — refining helps down to depth 6 and GEN scores are low: depth wins;
* ``mixed`` — refining helps down to depth 3: some width, some depth.

The *same generator functions* run through both libraries, in one process, side by side:
hone's ``ABMCTSA``, ``ABMCTSM`` and ``MCTS`` against TreeQuest's ``ABMCTSA``, ``ABMCTSM`` and
``StandardMCTS``, plus repeated sampling (GEN only). Every run goes to the largest budget and
the best score is read at each budget along the way (these searches do not depend on the total
budget). *Overhead per node* is a run's wall time minus the time spent inside the generators,
divided by the nodes generated. TreeQuest runs with ``step(..., inplace=True)`` (no deep copy
per step, its fastest mode); one extra row shows its default ``step`` (deep copy).

TreeQuest's AB-MCTS-M runs NUTS at every node of every selection path (seconds per node), so it
runs only at the smallest budget, on a few seeds of one landscape; hone's runs beside it on the
same seeds for the overhead ratio.
"""

from __future__ import annotations

import logging
import math
import random
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench._common import Options, bench_main, console, print_table, ratio

NAME = "search_landscape"
DESCRIPTION = (
    "best score and per-node overhead on synthetic landscapes: hone vs TreeQuest "
    "(AB-MCTS-A, AB-MCTS-M, MCTS) and repeated sampling"
)

State = tuple[float, int]  # (score, depth)


@dataclass(frozen=True)
class Landscape:
    """GEN scores ~ Beta(alpha, beta) per action; CONT adds gain (until best_depth) + noise."""

    name: str
    gen: dict[str, tuple[float, float]]
    gain: dict[str, float]
    best_depth: int
    drop: float
    noise: float

    def describe(self) -> dict[str, Any]:
        """The landscape as JSON data."""
        return {
            "name": self.name,
            "gen_beta": {a: list(ab) for a, ab in self.gen.items()},
            "gain": dict(self.gain),
            "best_depth": self.best_depth,
            "drop": self.drop,
            "noise": self.noise,
        }

    def generators(self, rng: random.Random, clock: list[float]) -> dict[str, Callable[[Any], Any]]:
        """One generator per action; each adds the seconds it runs to ``clock[0]``."""

        def make(action: str) -> Callable[[State | None], tuple[State, float]]:
            alpha, beta = self.gen[action]
            gain = self.gain[action]

            def generate(parent: State | None) -> tuple[State, float]:
                start = time.perf_counter()
                if parent is None:
                    score, depth = rng.betavariate(alpha, beta), 1
                else:
                    step = gain if parent[1] < self.best_depth else -self.drop
                    score = parent[0] + step + rng.gauss(0.0, self.noise)
                    depth = parent[1] + 1
                score = min(1.0, max(0.0, score))
                clock[0] += time.perf_counter() - start
                return (score, depth), score

            return generate

        return {action: make(action) for action in self.gen}


LANDSCAPES = (
    Landscape("wide", {"a": (2.0, 5.0), "b": (1.5, 6.0)}, {"a": -0.02, "b": -0.03}, 1, 0.03, 0.05),
    Landscape("deep", {"a": (2.0, 8.0), "b": (2.0, 9.0)}, {"a": 0.06, "b": 0.03}, 6, 0.05, 0.03),
    Landscape("mixed", {"a": (2.0, 5.0), "b": (2.0, 6.0)}, {"a": 0.04, "b": 0.03}, 3, 0.04, 0.05),
)


@dataclass(frozen=True)
class Contender:
    """One algorithm of one library: ``run(generators, budget, seed) -> scores in order``."""

    name: str
    library: str
    run: Callable[[dict[str, Callable[[Any], Any]], int, int], list[float]]


def _hone(make: Callable[[], Any]) -> Callable[[dict[str, Any], int, int], list[float]]:
    def run(generators: dict[str, Any], budget: int, seed: int) -> list[float]:
        algo = make()
        state = algo.init_tree(seed=seed)
        for _ in range(budget):
            state = algo.step(state, generators)
        return [n.score for n in state.nodes[1:]]

    return run


def _treequest(
    make: Callable[[], Any], *, inplace: bool = True
) -> Callable[[dict[str, Any], int, int], list[float]]:
    def run(generators: dict[str, Any], budget: int, seed: int) -> list[float]:
        import numpy as np

        np.random.seed(seed)  # TreeQuest draws from numpy's and Python's global generators
        random.seed(seed)
        algo = make()
        state = algo.init_tree()
        for _ in range(budget):
            state = algo.step(state, generators, inplace=inplace)
        return [score for _, score in algo.get_state_score_pairs(state)]

    return run


def _repeated(generators: dict[str, Any], budget: int, seed: int) -> list[float]:
    actions = sorted(generators)
    return [generators[actions[i % len(actions)]](None)[1] for i in range(budget)]


def contenders() -> list[Contender]:
    """Every algorithm compared (TreeQuest's AB-MCTS-M is run separately)."""
    import treequest as tq

    from hone.search import ABMCTSA, MCTS

    return [
        Contender("repeated sampling", "—", _repeated),
        Contender("AB-MCTS-A", "hone", _hone(ABMCTSA)),
        Contender("AB-MCTS-A", "treequest", _treequest(tq.ABMCTSA)),
        Contender("AB-MCTS-A beta", "hone", _hone(lambda: ABMCTSA("beta"))),
        Contender("AB-MCTS-A beta", "treequest", _treequest(lambda: tq.ABMCTSA(dist_type="beta"))),
        Contender("MCTS", "hone", _hone(MCTS)),
        Contender("MCTS", "treequest", _treequest(tq.StandardMCTS)),
        Contender("AB-MCTS-M", "hone", _hone(_hone_m)),
    ]


def _hone_m() -> Any:
    from hone.search import ABMCTSM

    return ABMCTSM()


def _measure(
    contender: Contender, landscape: Landscape, budget: int, seed: int
) -> tuple[list[float], float]:
    """The scores of one run, and its overhead per node in seconds (generators excluded)."""
    clock = [0.0]
    generators = landscape.generators(random.Random(f"{landscape.name}-{seed}"), clock)
    start = time.perf_counter()
    scores = contender.run(generators, budget, seed)
    total = time.perf_counter() - start
    return scores, max(0.0, total - clock[0]) / max(1, len(scores))


def _best_at(scores: list[float], budgets: list[int]) -> dict[int, float]:
    best: dict[int, float] = {}
    running = -math.inf
    for i, score in enumerate(scores, start=1):
        running = max(running, score)
        if i in budgets:
            best[i] = running
    return best


def _summary(values: list[float]) -> dict[str, float]:
    mean = statistics.fmean(values)
    half = 1.96 * statistics.stdev(values) / math.sqrt(len(values)) if len(values) > 1 else 0.0
    return {"mean": round(mean, 4), "ci95": round(half, 4)}


def run(options: Options) -> dict[str, Any]:
    """Run every contender on every landscape and seed; then TreeQuest's AB-MCTS-M."""
    budgets = [8, 16] if options.quick else [8, 16, 32, 64, 128, 256]
    seeds = list(range(2 if options.quick else 20))
    top = budgets[-1]
    quality: dict[str, Any] = {}
    overhead: dict[str, dict[str, float]] = {}
    for landscape in LANDSCAPES:
        rows = []
        for contender in contenders():
            key = f"{contender.library}/{contender.name}"
            best: dict[int, list[float]] = {b: [] for b in budgets}
            costs = []
            for seed in seeds:
                scores, cost = _measure(contender, landscape, top, seed)
                costs.append(cost)
                for b, value in _best_at(scores, budgets).items():
                    best[b].append(value)
            quality.setdefault(landscape.name, {})[key] = {
                str(b): _summary(v) for b, v in best.items()
            }
            overhead.setdefault(key, {})[landscape.name] = statistics.median(costs) * 1e6
            rows.append([key] + [quality[landscape.name][key][str(b)]["mean"] for b in budgets])
            console.print(f"  {landscape.name:6} {key:28} done")
        print_table(
            f"{landscape.name}: mean best score over {len(seeds)} seeds (best depth "
            f"{landscape.best_depth})",
            ["algorithm", *(f"N={b}" for b in budgets)],
            rows,
        )
    deep_copy = _deep_copy_overhead(seeds[:3], top)
    m_vs = _treequest_m(budget=2 if options.quick else 8, seeds=seeds[: 1 if options.quick else 3])
    per_node = {k: round(statistics.fmean(v.values()), 2) for k, v in overhead.items()}
    ratios = {
        "treequest/hone AB-MCTS-A overhead": ratio(
            per_node["treequest/AB-MCTS-A"], per_node["hone/AB-MCTS-A"]
        ),
        "treequest/hone AB-MCTS-A beta overhead": ratio(
            per_node["treequest/AB-MCTS-A beta"], per_node["hone/AB-MCTS-A beta"]
        ),
        "treequest/hone MCTS overhead": ratio(per_node["treequest/MCTS"], per_node["hone/MCTS"]),
        "treequest (deep copy step)/hone AB-MCTS-A overhead": ratio(
            deep_copy, per_node["hone/AB-MCTS-A"]
        ),
        "treequest/hone AB-MCTS-M overhead": ratio(m_vs["treequest_us"], m_vs["hone_us"]),
    }
    print_table(
        f"overhead per node, generators excluded (µs, runs of {top} nodes, median over seeds)",
        ["algorithm", *(land.name for land in LANDSCAPES)],
        [[k, *(round(v[land.name], 1) for land in LANDSCAPES)] for k, v in overhead.items()],
    )
    print_table("overhead ratios (TreeQuest / hone)", ["comparison", "ratio"], list(ratios.items()))
    return {
        "budgets": budgets,
        "seeds": len(seeds),
        "landscapes": [land.describe() for land in LANDSCAPES],
        "quality": quality,
        "overhead_us": overhead,
        "overhead_us_mean": per_node,
        "treequest_a_deep_copy_step_us": round(deep_copy, 2),
        "ab_mcts_m": m_vs,
        "ratios": ratios,
    }


def _deep_copy_overhead(seeds: list[int], budget: int) -> float:
    """TreeQuest AB-MCTS-A with its default ``step`` (the state deep-copied every step), µs."""
    import treequest as tq

    contender = Contender("AB-MCTS-A", "treequest", _treequest(tq.ABMCTSA, inplace=False))
    costs = [_measure(contender, LANDSCAPES[2], budget, seed)[1] for seed in seeds]
    return statistics.median(costs) * 1e6


def _treequest_m(*, budget: int, seeds: list[int]) -> dict[str, Any]:
    """TreeQuest's AB-MCTS-M (NUTS) beside hone's, on the ``mixed`` landscape."""
    import treequest as tq

    logging.getLogger("pymc").setLevel(logging.ERROR)  # "Sampling: [...]" at every node

    landscape = LANDSCAPES[2]
    theirs = Contender(
        "AB-MCTS-M", "treequest", _treequest(lambda: tq.ABMCTSM(max_process_workers=1))
    )
    ours = Contender("AB-MCTS-M", "hone", _hone(_hone_m))
    out: dict[str, Any] = {"budget": budget, "seeds": len(seeds), "landscape": landscape.name}
    for contender, key in ((theirs, "treequest"), (ours, "hone")):
        bests, costs = [], []
        for seed in seeds:
            scores, cost = _measure(contender, landscape, budget, seed)
            bests.append(max(scores))
            costs.append(cost)
        out[f"{key}_us"] = round(statistics.median(costs) * 1e6, 1)
        out[f"{key}_best"] = _summary(bests)
        console.print(f"  AB-MCTS-M {key}: {out[f'{key}_us'] / 1e3:.1f} ms per node")
    print_table(
        f"AB-MCTS-M at N={budget} on {landscape.name} ({len(seeds)} seeds)",
        ["library", "mean best", "overhead per node (ms)"],
        [[k, out[f"{k}_best"]["mean"], out[f"{k}_us"] / 1e3] for k in ("treequest", "hone")],
    )
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Entry point of ``python -m bench search_landscape``."""
    return bench_main(NAME, DESCRIPTION, run, argv)
