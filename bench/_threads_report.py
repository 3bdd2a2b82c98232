"""The summaries and the table of ``bench threads_training`` (per-episode outcomes averaged
per seed, seeds averaged per arm, tree / flat ratios)."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from typing import Any

from bench._common import print_table, ratio


def episode_text(result: Any) -> str:
    """What an episode wrote: the thread, or the flat agent's turns after the prompt."""
    if hasattr(result, "text"):
        return str(result.text)
    from hone.messages import AssistantMessage, ToolMessage, text_of

    parts = []
    for m in result.messages:
        if isinstance(m, AssistantMessage):
            calls = "".join(f" <call {c.name} {c.arguments}>" for c in m.tool_calls)
            parts.append(f"[assistant] {text_of(m.content)}{calls}")
        elif isinstance(m, ToolMessage):
            parts.append(f"[tool] {text_of(m.content)[:60]}")
    return "\n".join(parts)


def summary(outcomes: Sequence[Any]) -> dict[str, Any]:
    stops: dict[str, int] = {}
    for o in outcomes:
        stops[o.stop] = stops.get(o.stop, 0) + 1
    return {
        "success": round(sum(o.success for o in outcomes) / len(outcomes), 4),
        "calls_right": round(statistics.mean(o.calls_right for o in outcomes), 3),
        "calls_right_fraction": round(
            statistics.mean(o.calls_right / o.calls_intended for o in outcomes), 4
        ),
        "calls_intended": round(statistics.mean(o.calls_intended for o in outcomes), 2),
        "calls_made": round(statistics.mean(o.calls_made for o in outcomes), 2),
        "names_right": round(statistics.mean(o.names_right for o in outcomes), 2),
        "context_per_token": round(statistics.mean(o.context_per_token for o in outcomes), 1),
        "kv_end": round(statistics.mean(o.kv_end for o in outcomes), 1),
        "model_tokens": round(statistics.mean(o.model_tokens for o in outcomes), 1),
        "stops": stops,
    }


def mean_sd(values: Sequence[float]) -> dict[str, float]:
    return {
        "mean": round(statistics.mean(values), 4),
        "sd": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
    }


def aggregate(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for arm in ("tree", "flat"):
        seeds = [runs[s][arm] for s in runs]
        out[arm] = {
            key: mean_sd([r[part][key] for r in seeds])
            for part, key in [
                ("held_out", "success"),
                ("held_out", "calls_right_fraction"),
                ("held_out", "context_per_token"),
                ("held_out", "kv_end"),
            ]
        }
        out[arm]["success_after_sft"] = mean_sd([r["held_out_after_sft"]["success"] for r in seeds])
        out[arm]["intended_context_per_token"] = mean_sd(
            [r["intended"]["context_per_token"] for r in seeds]
        )
        out[arm]["intended_kv_end"] = mean_sd([r["intended"]["kv_end"] for r in seeds])
        out[arm]["final_sft_loss"] = mean_sd([r["sft_curve"][-1]["train_loss"] for r in seeds])
        for kind in ("digits", "other"):
            out[arm][f"held_out_nll_{kind}"] = mean_sd([r["sft_curve"][-1][kind] for r in seeds])
        out[arm]["learned_tokens"] = mean_sd([r["trained_tokens"]["sft"] for r in seeds])
        out[arm]["seconds"] = mean_sd([r["seconds"]["total"] for r in seeds])
    tree, flat = out["tree"], out["flat"]
    out["ratios_tree_over_flat"] = {
        key: ratio(tree[key]["mean"], flat[key]["mean"])
        for key in (
            "intended_context_per_token", "intended_kv_end", "context_per_token", "kv_end",
            "learned_tokens", "seconds",
        )
    }  # fmt: skip
    return out


def print_summary(summary: dict[str, Any]) -> None:
    def cell(arm: str, key: str) -> str:
        value = summary[arm][key]
        return f"{value['mean']:.3g} ± {value['sd']:.2g}"

    keys = [
        ("success_after_sft", "held-out success after SFT"),
        ("success", "held-out success after RL"),
        ("calls_right_fraction", "intended calls made in order (fraction)"),
        ("final_sft_loss", "SFT loss, last steps"),
        ("held_out_nll_digits", "held-out NLL, digits (uniform guess 2.30)"),
        ("held_out_nll_other", "held-out NLL, other tokens"),
        ("learned_tokens", "learned tokens in SFT"),
        ("intended_context_per_token", "context per model token, intended solution"),
        ("intended_kv_end", "KV entries at the end, intended solution"),
        ("context_per_token", "context per model token, own held-out episodes"),
        ("kv_end", "KV entries at the end, own held-out episodes"),
        ("seconds", "seconds per seed (teachers, SFT, RL, evals)"),
    ]
    ratios = summary["ratios_tree_over_flat"]
    print_table(
        "tree + pruning vs flat (mean ± sd over seeds)",
        ["measure", "tree", "flat", "tree / flat"],
        [[label, cell("tree", k), cell("flat", k), ratios.get(k)] for k, label in keys],
    )
