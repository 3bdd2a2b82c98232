"""The gateway demonstration, measured: production traffic trains the policy.

1. **The policy in production**: the built-in tiny model after a short imitation of a perfect
   teacher (``examples/gateway/base.yaml``), so it says the asked number only some of the time.
2. **Before**: ``examples/gateway/agent.py`` (plain ``openai`` SDK, no hone; run as a
   subprocess) sends it the held-out requests (two phrasings it never trains on, numbers
   0-9) through a gateway; ``score.py`` (plain HTTP, another subprocess) scores the sessions;
   the success rate is the mean reward.
3. **Traffic**: the same agent on the production requests (six other phrasings) at
   temperature 1, through a gateway recording to its own database, scored later by
   ``score.py``.
4. **Training**: ``examples/gateway/train.yaml`` (SFT on the sessions rewarded 1.0, on the
   recorded token ids) through ``hone.train.run_training``, as ``hone train`` runs it.
5. **After**: step 2 again with the trained model.
6. **Control**: the same SFT on every scored session, the rewards ignored, then step 2: what
   the scores add over imitating the traffic as it was.

Steps 3 to 6 are repeated for three seeds (the traffic's sampling and the training's
shuffling change with the seed); every run starts from the same policy, built with seed 0: the
teacher-imitation run learns to copy the number abruptly, after a seed-dependent number of
steps, and with seed 0 ``base.yaml``'s 250 steps stop just before, where it is right about
a fifth of the time.

Held-out success is measured two ways: sampled (temperature 1, several conversations per
request) and greedy (temperature 0, one per request). Evaluation sessions go to their own
databases, so they are never trained on.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench._common import Options, bench_main, console, print_table

NAME = "gateway_training"
DESCRIPTION = "plain-openai agent through the gateway, scored later, trains the tiny policy"
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "gateway"


@dataclass(frozen=True)
class Size:
    """How much of everything a run does."""

    base_steps: int | None  # SFT steps of the starting policy (None: base.yaml's)
    train_samples: int  # conversations per production request (6 phrasings x 10 numbers)
    eval_samples: int  # sampled conversations per held-out request (2 phrasings x 10)
    sft_epochs: int


FULL = Size(base_steps=None, train_samples=8, eval_samples=4, sft_epochs=4)
QUICK = Size(base_steps=2, train_samples=1, eval_samples=1, sft_epochs=1)
SEEDS = (0, 1, 2)


@contextmanager
def _gateway(model_dir: Path, db: Path, version: str) -> Iterator[str]:
    """A gateway over the local checkpoint, recording to ``db``; yields its root URL."""
    from hone.models import BatchingModel, load_model
    from hone.serve import GatewayStore, create_gateway_app, running_server

    model = BatchingModel(load_model(f"hf:{model_dir}"), max_batch=16, max_in_flight=1)
    with GatewayStore(db) as store:
        app = create_gateway_app(model, store, model_name="policy", policy_version=version)
        with running_server(app) as url:
            yield url.removesuffix("/v1")


def _script(name: str, *args: str) -> None:
    done = subprocess.run(
        [sys.executable, str(EXAMPLE / name), *args],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{name} failed ({done.returncode}): {done.stderr[-2000:]}")
    console.print(f"  {name}: {done.stdout.strip()}")


def _traffic(root: str, phrasings: str, samples: int, temperature: float, prefix: str) -> None:
    common = ["--gateway", root]
    _script(
        "agent.py", *common, "--phrasings", phrasings, "--samples", str(samples),
        "--temperature", str(temperature), "--prefix", prefix,
    )  # fmt: skip
    _script("score.py", *common, "--prefix", prefix)


def _success(db: Path, prefix: str) -> dict[str, Any]:
    from hone.serve import GatewayStore

    with GatewayStore(db) as store:
        rewards = [s.reward for s in store.sessions(rewarded=True) if s.id.startswith(prefix)]
        calls = sum(s.calls for s in store.sessions() if s.id.startswith(prefix))
    scored = [r for r in rewards if r is not None]
    rate = sum(scored) / len(scored) if scored else 0.0
    return {"sessions": len(scored), "calls": calls, "success": round(rate, 4)}


def _evaluate(model_dir: Path, db: Path, size: Size, version: str) -> dict[str, Any]:
    with _gateway(model_dir, db, version) as root:
        _traffic(root, "held-out", size.eval_samples, 1.0, "sampled")
        _traffic(root, "held-out", 1, 0.0, "greedy")
    return {"sampled": _success(db, "sampled"), "greedy": _success(db, "greedy")}


def _train(config_name: str, overrides: dict[str, Any]) -> tuple[Path, float]:
    from hone.train import load_config, run_training

    start = time.perf_counter()
    config = load_config(EXAMPLE / config_name, overrides=overrides)
    result = run_training(config)
    return result.model_dir, time.perf_counter() - start


def _token_coverage(db: Path) -> dict[str, Any]:
    from hone.serve import GatewayStore

    with GatewayStore(db) as store:
        episodes = store.episodes()
        kept = store.episodes(min_reward=1.0)
    calls = [c for e in episodes for c in e.calls]
    return {
        "scored_sessions": len(episodes),
        "sessions_rewarded_1": len(kept),
        "calls": len(calls),
        "calls_with_token_ids": sum(c.has_tokens for c in calls),
    }


def _train_on_traffic(
    base_dir: Path, traffic_db: Path, out: Path, size: Size, seed: int, min_reward: float | None
) -> tuple[Path, float]:
    """``train.yaml`` on the traffic database, keeping sessions rewarded ``min_reward``."""
    overrides = {
        "model": f"hf:{base_dir}",
        "output_dir": str(out),
        "seed": seed,
        "sft": {
            "trajectories": str(traffic_db),
            "epochs": size.sft_epochs,
            "min_reward": min_reward,
        },
    }
    return _train("train.yaml", overrides)


def _base(work: Path, size: Size) -> dict[str, Any]:
    """Steps 1 and 2, once: the starting policy (seed 0, so every run starts from the same
    one) and its held-out success."""
    console.print("1. the policy in production (a teacher, briefly)")
    overrides: dict[str, Any] = {"output_dir": str(work / "base"), "seed": 0}
    if size.base_steps is not None:
        overrides["sft"] = {"max_steps": size.base_steps}
    base_dir, trained_s = _train("base.yaml", overrides)
    console.print("2. before: held-out requests through the gateway")
    start = time.perf_counter()
    before = _evaluate(base_dir, work / "eval-before.db", size, "base")
    timings = {"base_training_s": trained_s, "eval_before_s": time.perf_counter() - start}
    return {"dir": base_dir, "before": before, "timings_s": _rounded(timings)}


def _one_seed(work: Path, base_dir: Path, size: Size, seed: int, quick: bool) -> dict[str, Any]:
    """Steps 3 to 6 with one seed (the traffic's sampling and the training's); timed."""
    timings: dict[str, float] = {}
    console.print(f"[bold]seed {seed}[/bold]\n3. production traffic through the gateway, scored")
    traffic_db = work / "gateway.db"
    start = time.perf_counter()
    with _gateway(base_dir, traffic_db, "base") as root:
        _traffic(root, "train", size.train_samples, 1.0, "user")
    timings["traffic_s"] = time.perf_counter() - start
    traffic = {**_success(traffic_db, "user"), **_token_coverage(traffic_db)}

    console.print("4. train on the best scored sessions (examples/gateway/train.yaml)")
    # A quick run's starting policy succeeds too rarely to keep only the best.
    best = 0.0 if quick else 1.0
    trained_dir, timings["training_s"] = _train_on_traffic(
        base_dir, traffic_db, work / "trained", size, seed, best
    )
    console.print("5. after: the same held-out requests, the trained policy")
    start = time.perf_counter()
    after = _evaluate(trained_dir, work / "eval-after.db", size, "trained")
    timings["eval_after_s"] = time.perf_counter() - start

    control = None
    if not quick:  # the same code path as step 4: a quick run skips it
        console.print("6. control: the same SFT on every scored session, rewards ignored")
        control_dir, timings["control_training_s"] = _train_on_traffic(
            base_dir, traffic_db, work / "control", size, seed, None
        )
        control = _evaluate(control_dir, work / "eval-control.db", size, "control")
    return {
        "seed": seed,
        "after": after,
        "control_all_sessions": control,
        "traffic": traffic,
        "timings_s": _rounded(timings),
    }


def _rounded(timings: dict[str, float]) -> dict[str, float]:
    return {k: round(v, 1) for k, v in timings.items()}


def _success_of(run: dict[str, Any], phase: str, measure: str) -> float | None:
    return None if run[phase] is None else run[phase][measure]["success"]


def _mean(runs: list[dict[str, Any]], phase: str, measure: str) -> float | None:
    values = [v for r in runs if (v := _success_of(r, phase, measure)) is not None]
    return round(sum(values) / len(values), 4) if values else None


def run(options: Options) -> dict[str, Any]:
    """The starting policy once, then the traffic, training and evaluation once per seed."""
    import torch

    # One torch thread: the tiny model's ops are too small to gain from two, and on a shared
    # machine two threads contend (measured: 0.27 s against 4.8 s per training step).
    torch.set_num_threads(1)
    size = QUICK if options.quick else FULL
    seeds = (0,) if options.quick else SEEDS
    base = _base(options.workdir, size)
    runs = [
        _one_seed(options.workdir / f"seed-{s}", base["dir"], size, s, options.quick) for s in seeds
    ]
    phases = ("after", "control_all_sessions")
    measures = ("sampled", "greedy")
    rows: list[tuple[Any, ...]] = [
        ("before (all seeds)", *(base["before"][m]["success"] for m in measures))
    ]
    rows += [
        (f"seed {r['seed']} {p}", *(_success_of(r, p, m) for m in measures))
        for p in phases
        for r in runs
    ]
    mean = {p: {m: _mean(runs, p, m) for m in measures} for p in phases}
    rows += [(f"mean {p}", *mean[p].values()) for p in phases]
    columns = ["held-out success", "sampled (T=1)", "greedy (T=0)"]
    print_table("before and after training on the scored traffic", columns, rows)
    sessions = {m: base["before"][m]["sessions"] for m in measures}
    return {
        "size": size.__dict__,
        "torch_threads": 1,
        "seeds": list(seeds),
        "held_out_sessions": sessions,
        "before": base["before"],
        "base_timings_s": base["timings_s"],
        "mean": mean,
        "runs": runs,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """``python -m bench gateway_training [--quick]``."""
    return bench_main(NAME, DESCRIPTION, run, argv)
