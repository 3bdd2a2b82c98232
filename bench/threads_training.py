"""Task trees vs a flat agent, *trained*: SFT on a scripted teacher, then RL, over 3 seeds.

The task is ``hone.threads.LookupSuite``'s (add up the values stored under N keys; here 4-6
keys, looked up in groups of 2: N + N/2 + 1 tool calls). Two agents get the same treatment
on the built-in tiny model (a fresh random Qwen2 per seed):

* ``tree`` — a thread decoded as one request (``run_threads``, the thread grammar), pruned with
  ``PruneRule(stack)``; SFT samples are the tree teacher's threads, each ONE sample with its
  4-D visibility mask and gap positions (``hone.threads.result_samples``);
* ``flat`` — a flat ReAct agent (``run_flat``, Hermes tool calls, no grammar); SFT samples are
  the flat teacher's conversations (``LookupSuite.flat_teacher``), one sample each.

Equal training budget: the same SFT steps × episodes per step (the teacher's episodes of the
same training tasks), the same RL steps × tasks × samples per task, the same optimizer and
learning rate. The reward of an RL episode is 1 for the right total plus up to 0.5 for the
intended tool calls it made in order, plus up to 0.1 for calling the intended tools in order
whatever the arguments (partial credit, so a group is rarely all zeros). After
training each agent answers held-out tasks greedily.

Measured per seed and arm: the SFT loss curve, RL reward per step, held-out success, how many
intended calls it made in order, and the context per model-written token and KV entries at the
end — of the intended solution (teacher-forced, the same for every weight) and of the agent's
own held-out episodes. Tokens processed as tool calls grow and throughput are ``bench threads``.
"""

from __future__ import annotations

import random
import statistics
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from bench._common import Options, bench_main, console, print_table, ratio

NAME = "threads_training"
DESCRIPTION = (
    "task trees + pruning vs flat after SFT and RL on the tiny model: success, context, KV"
)


@dataclass(frozen=True, slots=True)
class Size:
    """How big the comparison is."""

    seeds: tuple[int, ...] = (0, 1, 2)
    lookups: tuple[int, int] = (4, 6)
    group: int = 2
    stack: int = 0
    train_tasks: int = 12
    eval_tasks: int = 8
    sft_steps: int = 24
    sft_batch: int = 4
    rl_steps: int = 3
    rl_tasks: int = 2
    rl_group: int = 4
    lr: float = 2e-3
    quick: bool = False


QUICK = Size(
    seeds=(0,), lookups=(2, 2), train_tasks=2, eval_tasks=1, sft_steps=2, sft_batch=2,
    rl_steps=1, rl_tasks=1, rl_group=2, quick=True,
)  # fmt: skip


def _model_dir(workdir: Path, seed: int, quick: bool) -> Path:
    from hone.models._tiny_corpus import default_corpus
    from hone.models.tiny import TinyConfig, build_tiny_model

    path = workdir / f"tiny-{seed}"
    if not (path / "config.json").is_file():
        if quick:
            config = TinyConfig(
                hidden_size=32, layers=1, heads=2, kv_heads=1, intermediate=64, vocab_size=512,
                max_position=4096, seed=seed,
            )  # fmt: skip
            build_tiny_model(path, corpus=default_corpus(300), config=config)
        else:  # the built-in shape; gap positions: a 6-lookup thread is ~2,600 tokens long
            build_tiny_model(path, config=TinyConfig(max_position=4096, seed=seed))
    return path


def _load(path: Path) -> tuple[Any, Any]:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    return (
        AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32),
        AutoTokenizer.from_pretrained(path),
    )


def _arms(suite: Any, size: Size) -> list[Any]:
    from bench._threads_arms import FlatArm, TreeArm

    return [
        TreeArm(suite, stack=size.stack, max_tokens=1),
        FlatArm(suite, max_call_tokens=1, extra_steps=2),
    ]


def _budgets(arm: Any, samples: Sequence[Any]) -> None:
    """Give the sampler room: 1.5× the teacher's longest episode after the prompt (tree: one
    request; flat: per call, 1.5× the longest reply)."""
    if arm.name == "tree":
        arm.max_tokens = int(1.5 * max(len(s.input_ids) - s.loss_mask.index(True) for s in samples))
    else:
        arm.max_call_tokens = int(1.5 * max(_longest_reply(s.loss_mask) for s in samples))


def _longest_reply(mask: Sequence[bool]) -> int:
    """The longest run of learned tokens (one reply) in a flat sample."""
    longest = run = 0
    for learned in mask:
        run = run + 1 if learned else 0
        longest = max(longest, run)
    return longest


def _train_arm(
    arm: Any, path: Path, train: Any, held_out: Any, size: Size, seed: int
) -> dict[str, Any]:
    """SFT, RL and the held-out evaluation of one arm from the seed's fresh model."""
    from hone.models import SamplingOptions, TransformersModel
    from hone.threads import result_samples
    from hone.train import Trainer, TrainerConfig

    started = time.perf_counter()
    model, tokenizer = _load(path)
    config = TrainerConfig(lr=size.lr, micro_batch_size=2, seed=seed, max_grad_norm=1.0)
    trainer = Trainer(model, tokenizer, config=config)
    # Teacher forcing only needs the token ids (SFT ignores the recorded logprobs); the flat
    # teacher's conversations reuse the KV states of earlier turns.
    base = TransformersModel(
        model, tokenizer, prefix_cache_tokens=0 if arm.name == "tree" else 1 << 16
    )
    teacher = arm.teacher(base, train)
    samples = [s for r in teacher for s in result_samples(r)]
    _budgets(arm, samples)
    intended = [arm.outcome(t, r) for t, r in zip(train.tasks, teacher, strict=True)]
    label = f"    seed {seed} {arm.name:4}"
    sft_losses = _sft(trainer, samples, size, seed, label, started)
    sft_seconds = time.perf_counter() - started
    rl_curve = []
    for step in range(size.rl_steps):
        rl_curve.append(_rl_step(arm, trainer, tokenizer, train, size, seed * 1000 + step, step))
        console.print(
            f"{label} RL step {step + 1}/{size.rl_steps}: reward "
            f"{rl_curve[-1]['mean_reward']:.3f}, calls right {rl_curve[-1]['calls_right']} "
            f"({time.perf_counter() - started:.0f} s)"
        )
    train_seconds = time.perf_counter() - started
    policy = _policy(trainer, tokenizer, arm)
    greedy = SamplingOptions(temperature=0.0)
    results = arm.sample(policy, held_out, range(len(held_out.tasks)), greedy)
    own = [arm.outcome(t, r) for t, r in zip(held_out.tasks, results, strict=True)]
    seconds = time.perf_counter() - started
    console.print(
        f"{label} held out: {sum(o.success for o in own)}/{len(own)} right, calls right "
        f"{statistics.mean(o.calls_right for o in own):.2f} of "
        f"{statistics.mean(o.calls_intended for o in own):.1f} ({seconds:.0f} s)"
    )
    learned = sum(s.num_loss_tokens for s in samples) * size.sft_steps * size.sft_batch
    return {
        "sft_loss": sft_losses,
        "rl": rl_curve,
        "trained_tokens": {
            "sft": learned // len(samples),
            "sequence_tokens_mean": round(statistics.mean(len(s.input_ids) for s in samples), 1),
        },
        "held_out": _summary(own),
        "held_out_example": _text(results[0])[:400],
        "intended": _summary(intended),
        "seconds": {
            "sft": round(sft_seconds, 1),
            "train": round(train_seconds, 1),
            "total": round(seconds, 1),
        },
    }


def _sft(
    trainer: Any, samples: Sequence[Any], size: Size, seed: int, label: str, started: float
) -> list[float]:
    """``size.sft_steps`` steps of ``size.sft_batch`` samples, in shuffled epochs."""
    rng = random.Random(seed)
    order: list[int] = []
    losses = []
    for step in range(size.sft_steps):
        if len(order) < size.sft_batch:
            fresh = list(range(len(samples)))
            rng.shuffle(fresh)
            order += fresh
        batch, order = order[: size.sft_batch], order[size.sft_batch :]
        losses.append(round(trainer.sft_step([samples[i] for i in batch]).loss, 4))
        if step % 6 == 5 or step == size.sft_steps - 1:
            console.print(
                f"{label} SFT step {step + 1:3}/{size.sft_steps} loss {losses[-1]:.3f} "
                f"({time.perf_counter() - started:.0f} s)"
            )
    return losses


def _rl_step(
    arm: Any, trainer: Any, tokenizer: Any, train: Any, size: Size, seed: int, step: int
) -> dict[str, Any]:
    """Sample ``size.rl_group`` episodes of ``size.rl_tasks`` tasks, score them, and take one
    GRPO step on the episodes with a nonzero advantage."""
    import torch

    from hone.models import SamplingOptions
    from hone.threads import result_samples
    from hone.train import group_advantages

    tasks = [(step * size.rl_tasks + j) % len(train.tasks) for j in range(size.rl_tasks)]
    picks = [t for t in tasks for _ in range(size.rl_group)]
    policy = _policy(trainer, tokenizer, arm)
    results = arm.sample(policy, train, picks, SamplingOptions(temperature=1.0, seed=seed))
    outcomes = [arm.outcome(train.tasks[t], r) for t, r in zip(picks, results, strict=True)]
    rewards = torch.tensor([o.reward for o in outcomes])
    advantages = group_advantages(rewards, size.rl_group).tolist()
    rl_samples = [
        s
        for r, a, t in zip(results, advantages, picks, strict=True)
        if a != 0
        for s in result_samples(r, advantage=a, group_id=t)
    ]
    loss = trainer.train_step(rl_samples).loss if rl_samples else None
    return {
        "mean_reward": round(float(rewards.mean()), 4),
        "calls_made": round(statistics.mean(o.calls_made for o in outcomes), 2),
        "trained_episodes": sum(1 for a in advantages if a != 0),
        "success": sum(o.success for o in outcomes) / len(outcomes),
        "calls_right": round(statistics.mean(o.calls_right for o in outcomes), 2),
        "loss": None if loss is None else round(loss, 4),
    }


def _policy(trainer: Any, tokenizer: Any, arm: Any) -> Any:
    """The trainer's current weights behind a fresh backend (no stale KV states)."""
    from hone.models import TransformersModel

    trainer.model.eval()
    return TransformersModel(
        trainer.model, tokenizer, prefix_cache_tokens=0 if arm.name == "tree" else 1 << 16
    )


def _text(result: Any) -> str:
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


def _summary(outcomes: Sequence[Any]) -> dict[str, Any]:
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


def _mean_sd(values: Sequence[float]) -> dict[str, float]:
    return {
        "mean": round(statistics.mean(values), 4),
        "sd": round(statistics.stdev(values), 4) if len(values) > 1 else 0.0,
    }


def _aggregate(runs: dict[str, dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for arm in ("tree", "flat"):
        seeds = [runs[s][arm] for s in runs]
        out[arm] = {
            key: _mean_sd([r[part][key] for r in seeds])
            for part, key in [
                ("held_out", "success"),
                ("held_out", "calls_right_fraction"),
                ("held_out", "context_per_token"),
                ("held_out", "kv_end"),
            ]
        }
        out[arm]["intended_context_per_token"] = _mean_sd(
            [r["intended"]["context_per_token"] for r in seeds]
        )
        out[arm]["intended_kv_end"] = _mean_sd([r["intended"]["kv_end"] for r in seeds])
        out[arm]["final_sft_loss"] = _mean_sd([r["sft_loss"][-1] for r in seeds])
        out[arm]["seconds"] = _mean_sd([r["seconds"]["total"] for r in seeds])
    tree, flat = out["tree"], out["flat"]
    out["ratios_tree_over_flat"] = {
        key: ratio(tree[key]["mean"], flat[key]["mean"])
        for key in ("intended_context_per_token", "intended_kv_end", "context_per_token", "kv_end")
    }
    return out


def run(options: Options) -> dict[str, Any]:
    """Train both arms for every seed; print the tables."""
    import logging

    import torch

    from hone.threads import LookupSuite

    logging.getLogger("transformers").setLevel(logging.ERROR)
    torch.set_num_threads(1)  # the tiny model gains nothing from more on a shared machine
    size = QUICK if options.quick else Size()
    runs: dict[str, dict[str, Any]] = {}
    started = time.perf_counter()
    for seed in size.seeds:
        path = _model_dir(options.workdir, seed, size.quick)
        train = LookupSuite(
            size.train_tasks, lookups=size.lookups, group_size=size.group, seed=100 + seed
        )
        held_out = LookupSuite(
            size.eval_tasks, lookups=size.lookups, group_size=size.group, seed=200 + seed
        )
        runs[str(seed)] = {}
        for arm in _arms(train, size):
            console.print(
                f"  seed {seed}, {arm.name} ({time.perf_counter() - started:.0f} s so far)"
            )
            runs[str(seed)][arm.name] = _train_arm(arm, path, train, held_out, size, seed)
    summary = _aggregate(runs)
    _print(summary)
    plain = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(size).items()}
    return {"size": plain, "runs": runs, "summary": summary}


def _print(summary: dict[str, Any]) -> None:
    def cell(arm: str, key: str) -> str:
        value = summary[arm][key]
        return f"{value['mean']:.3g} ± {value['sd']:.2g}"

    keys = [
        ("success", "held-out success"),
        ("calls_right_fraction", "intended calls made in order (fraction)"),
        ("final_sft_loss", "final SFT loss"),
        ("intended_context_per_token", "context per model token, intended solution"),
        ("intended_kv_end", "KV entries at the end, intended solution"),
        ("context_per_token", "context per model token, own held-out episodes"),
        ("kv_end", "KV entries at the end, own held-out episodes"),
        ("seconds", "seconds per seed (SFT + RL + eval)"),
    ]
    ratios = summary["ratios_tree_over_flat"]
    print_table(
        "tree + pruning vs flat (mean ± sd over seeds)",
        ["measure", "tree", "flat", "tree / flat"],
        [[label, cell("tree", k), cell("flat", k), ratios.get(k)] for k, label in keys],
    )


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """``python -m bench threads_training [--quick]``."""
    return bench_main(NAME, DESCRIPTION, run, argv)


if __name__ == "__main__":
    main()
