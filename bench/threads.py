"""Task trees without training: what the single-request runtime and pruning save.

The tasks are ``hone.threads.LookupSuite``'s (add up the values of N keys: N lookups, one
``add`` per group of four, one final ``add``). Scripted teachers write the solutions, so every
setup decodes the same text and the built-in tiny model (random weights, 16,384 positions) only
has to *process* it, token by token, as if it had written it (teacher forcing):

* ``single`` — one decoding request per thread (hone's runtime): tool results are appended to
  the KV cache; pruned with TIM's rule (stack of 2 subtask lists), or not (``single-whole``);
* ``per_call`` — the same threads call by call, re-sending the pruned text after each tool call
  (how a remote model runs them);
* ``flat`` — a flat ReAct agent making the same tool calls, re-sending its whole conversation
  at every call with no KV reuse (``flat``), or with the backend's KV reuse across turns
  (``flat-reuse``).

Measured: tokens processed as the number of tool calls grows (the prompt and every token fed
to the model; for ``flat-reuse``, the tokens actually encoded), context tokens per call and KV
entries at the end, and decoding throughput (model-written tokens per second of wall time)
for a batch of tasks. Plot: ``docs/images/threads_tokens.png``.
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from bench._common import Options, bench_main, console, print_table, ratio

NAME = "threads"
DESCRIPTION = "task trees: tokens processed vs tool calls, KV entries, throughput vs flat"

PLOT = Path(__file__).resolve().parent.parent / "docs" / "images" / "threads_tokens.png"
STACK = 2  # TIM's rule: completed subtask lists kept whole
GROUP = 4  # lookups per group in the scripted solution
TARGETS = {"kv_reduction": 0.5, "throughput_ratio": 1.5}


def _model(options: Options) -> Any:
    import torch

    from hone.models import TransformersModel
    from hone.models._tiny_corpus import default_corpus
    from hone.models.tiny import TinyConfig, build_tiny_model

    # One thread: the tiny model is too small to gain from more, and on a shared machine two
    # OpenMP threads competing with other work make every op several times slower.
    torch.set_num_threads(1)
    if options.quick:
        config = TinyConfig(
            hidden_size=64, layers=2, heads=2, kv_heads=1, intermediate=128, vocab_size=1024,
            max_position=4096,
        )  # fmt: skip
        path = build_tiny_model(options.workdir / "tiny", corpus=default_corpus(600), config=config)
    else:
        # Gap positions are never reused: a 40-lookup thread is ~10,500 tokens long.
        path = build_tiny_model(options.workdir / "tiny", config=TinyConfig(max_position=16_384))
    return TransformersModel.from_pretrained(path, prefix_cache_tokens=0)


def _local(model: Any, *, reuse: bool) -> Any:
    """The same weights behind a fresh backend (fresh KV-reuse statistics)."""
    from hone.models import TransformersModel

    return TransformersModel(
        model.model, model.tokenizer, prefix_cache_tokens=1 << 20 if reuse else 0
    )


def _threads(model: Any, suite: Any, *, prune: bool, per_call: bool = False) -> list[Any]:
    from hone.models import SamplingOptions
    from hone.threads import PruneRule, ThreadOptions, run_threads

    options = ThreadOptions(
        prune=PruneRule(STACK) if prune else None,
        runtime="per_call" if per_call else "single_request",
        sampling=SamplingOptions(max_tokens=32_768),
    )
    results = run_threads(
        model, suite.questions, suite.tools(), options=options, teacher=suite.tree_teacher()
    )
    if not all(suite.check([r.answer for r in results])):
        raise RuntimeError(f"a scripted thread did not finish: {[r.detail for r in results]}")
    return results


def _flat(model: Any, suite: Any, *, reuse: bool) -> tuple[list[Any], int]:
    """Flat runs and the prompt tokens the backend reused from kept KV states."""
    from hone.threads import TeacherForcedModel, run_flat

    local = _local(model, reuse=reuse)
    forced = TeacherForcedModel(local, suite.flat_teacher())
    steps = max(t.tool_calls for t in suite.tasks) + 2
    results = run_flat(forced, suite.questions, suite.tools(), max_steps=steps)
    _check(suite, [r.answer for r in results], "flat")
    return results, local.prefix_cache_stats.reused_tokens


def _check(suite: Any, answers: Sequence[str | None], what: str) -> None:
    if not all(suite.check(answers)):
        raise RuntimeError(f"a scripted {what} run did not reach the right total: {answers}")


def _scaling(model: Any, lookups: Sequence[int]) -> list[dict[str, Any]]:
    from hone.threads import LookupSuite

    rows = []
    for n in lookups:
        suite = LookupSuite(1, lookups=(n, n), group_size=GROUP, seed=n)
        task = suite.tasks[0]
        single = _threads(model, suite, prune=True)[0]
        whole = _threads(model, suite, prune=False)[0]
        per_call = _threads(model, suite, prune=True, per_call=True)[0]
        flat = _flat(model, suite, reuse=False)[0][0]
        reused_flat, reused = _flat(model, suite, reuse=True)
        rows.append(
            {
                "lookups": n,
                "tool_calls": task.tool_calls,
                "processed": {
                    "single": single.stats.processed_tokens,
                    "per_call": per_call.stats.processed_tokens,
                    "flat": flat.stats.processed_tokens,
                    "flat-reuse": reused_flat[0].stats.processed_tokens - reused,
                },
                "context_per_call": {
                    "per_call": round(_mean_prompt(per_call.completions), 1),
                    "flat": round(_mean_prompt(flat.completions), 1),
                },
                "kv_end": {
                    "single": single.stats.kv_entries,
                    "single-whole": whole.stats.kv_entries,
                    "flat": flat.stats.kv_entries,
                },
                "kv_peak": {
                    "single": single.stats.peak_kv_entries,
                    "single-whole": whole.stats.peak_kv_entries,
                },
                "model_tokens": {
                    "single": single.stats.model_tokens,
                    "flat": flat.stats.model_tokens,
                },
            }
        )
        console.print(
            f"  {n:2} lookups ({task.tool_calls} calls): processed {rows[-1]['processed']}, "
            f"KV at end {rows[-1]['kv_end']}"
        )
    return rows


def _mean_prompt(completions: Sequence[Any]) -> float:
    return statistics.mean(c.usage.prompt_tokens for c in completions) if completions else 0.0


def _timed(fn: Callable[[], list[Any]], repeats: int) -> tuple[float, list[Any]]:
    times, results = [], []
    for _ in range(repeats):
        start = time.perf_counter()
        results = fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times), results


def _throughput(model: Any, tasks: int, lookups: tuple[int, int], repeats: int) -> dict[str, Any]:
    from hone.threads import LookupSuite

    suite = LookupSuite(tasks, lookups=lookups, group_size=GROUP, seed=0)
    setups: dict[str, Callable[[], list[Any]]] = {
        "single": lambda: _threads(model, suite, prune=True),
        "single-whole": lambda: _threads(model, suite, prune=False),
        "flat": lambda: _flat(model, suite, reuse=False)[0],
        "flat-reuse": lambda: _flat(model, suite, reuse=True)[0],
    }
    _threads(model, LookupSuite(1, lookups=(2, 2), seed=1), prune=True)  # warm up
    out: dict[str, Any] = {"tasks": tasks, "lookups": list(lookups)}
    for name, fn in setups.items():
        seconds, results = _timed(fn, repeats)
        written = sum(r.stats.model_tokens for r in results)
        out[name] = {
            "seconds": round(seconds, 3),
            "model_tokens": written,
            "tokens_per_s": round(written / seconds, 1),
            "kv_end_mean": round(statistics.mean(r.stats.kv_entries for r in results), 1),
        }
        console.print(f"  {name:12} {seconds:7.2f} s, {written / seconds:8.1f} model tokens/s")
    out["ratio_vs_flat"] = ratio(out["single"]["tokens_per_s"], out["flat"]["tokens_per_s"])
    out["ratio_vs_flat_reuse"] = ratio(
        out["single"]["tokens_per_s"], out["flat-reuse"]["tokens_per_s"]
    )
    return out


def _slope(rows: Sequence[dict[str, Any]], key: str) -> float | None:
    """Log-log slope of tokens processed against tool calls, first to last row."""
    first, last = rows[0], rows[-1]
    if first["tool_calls"] == last["tool_calls"]:
        return None
    rise = math.log(last["processed"][key] / first["processed"][key])
    return round(rise / math.log(last["tool_calls"] / first["tool_calls"]), 2)


def _plot(rows: Sequence[dict[str, Any]], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    calls = [r["tool_calls"] for r in rows]
    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2))
    labels = {
        "flat": "flat agent, re-sending (no KV reuse)",
        "per_call": "threads call by call, re-sending pruned text",
        "flat-reuse": "flat agent with KV reuse across turns",
        "single": "threads, one request (hone)",
    }
    for key, label in labels.items():
        left.plot(calls, [r["processed"][key] for r in rows], marker="o", label=label)
    left.set_xlabel("tool calls in the task")
    left.set_ylabel("tokens processed by the model")
    left.set_title("Tokens processed as tool calls grow")
    kv = {
        "flat": "flat agent: context at its last call",
        "single-whole": "threads, no pruning",
        "single": f"threads, pruned (stack of {STACK})",
    }
    for key, label in kv.items():
        right.plot(calls, [r["kv_end"][key] for r in rows], marker="o", label=label)
    right.set_xlabel("tool calls in the task")
    right.set_ylabel("KV entries when the answer is written")
    right.set_title("Working memory at the end")
    for ax in (left, right):
        ax.set_ylim(bottom=0)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def run(options: Options) -> dict[str, Any]:
    """Scale the number of lookups, then time a batch; print the tables."""
    import logging

    logging.getLogger("transformers").setLevel(logging.ERROR)
    model = _model(options)
    if options.quick:
        lookups, batch, batch_range, repeats = (2, 4), 2, (2, 3), 1
    else:
        lookups, batch, batch_range, repeats = (4, 8, 16, 24, 32, 40), 8, (10, 40), 3
    console.print("scaling: one task per size")
    rows = _scaling(model, lookups)
    console.print(f"throughput: {batch} tasks of {batch_range[0]}-{batch_range[1]} lookups")
    speed = _throughput(model, batch, batch_range, repeats)
    print_table(
        "tokens processed by the model",
        ["tool calls", "single (hone)", "per call", "flat", "flat + KV reuse"],
        [
            [
                r["tool_calls"],
                *(r["processed"][k] for k in ("single", "per_call", "flat", "flat-reuse")),
            ]
            for r in rows
        ],
    )
    print_table(
        "KV entries at the end, and context tokens per call",
        [
            "tool calls",
            "pruned",
            "whole",
            "flat",
            "pruned / whole",
            "ctx/call per-call",
            "ctx/call flat",
        ],
        [
            [
                r["tool_calls"],
                r["kv_end"]["single"],
                r["kv_end"]["single-whole"],
                r["kv_end"]["flat"],
                ratio(r["kv_end"]["single"], r["kv_end"]["single-whole"]),
                r["context_per_call"]["per_call"],
                r["context_per_call"]["flat"],
            ]
            for r in rows
        ],
    )
    print_table(
        "decoding throughput (model-written tokens per second, whole batch)",
        ["setup", "seconds", "model tokens", "tokens/s", "mean KV at end"],
        [
            [
                k,
                speed[k]["seconds"],
                speed[k]["model_tokens"],
                speed[k]["tokens_per_s"],
                speed[k]["kv_end_mean"],
            ]
            for k in ("single", "single-whole", "flat", "flat-reuse")
        ],
    )
    last = rows[-1]
    kv_reduction = 1 - last["kv_end"]["single"] / last["kv_end"]["single-whole"]
    slopes = {k: _slope(rows, k) for k in ("single", "per_call", "flat", "flat-reuse")}
    console.print(
        f"log-log slope of tokens processed vs tool calls: {slopes}; KV entries at the end "
        f"{kv_reduction:.0%} fewer with pruning at {last['tool_calls']} calls (target ≥ 50%); "
        f"throughput {speed['ratio_vs_flat']}× flat re-encoding, "
        f"{speed['ratio_vs_flat_reuse']}× flat with KV reuse (target ≥ 1.5× flat)"
    )
    if not options.quick:
        _plot(rows, PLOT)
        console.print(f"plot written to {PLOT}")
    return {
        "stack_size": STACK,
        "group_size": GROUP,
        "scaling": rows,
        "slopes": slopes,
        "kv_reduction_at_max": round(kv_reduction, 3),
        "throughput": speed,
        "targets": TARGETS,
        "targets_met": {
            "kv_reduction": kv_reduction >= TARGETS["kv_reduction"],
            "throughput_ratio": (speed["ratio_vs_flat"] or 0.0) >= TARGETS["throughput_ratio"],
        },
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """``python -m bench threads [--quick]``."""
    return bench_main(NAME, DESCRIPTION, run, argv)


if __name__ == "__main__":
    main()
