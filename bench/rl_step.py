"""One RL step (generation + loss + backward + optimizer step), hone vs TRL's ``GRPOTrainer``.

Both sides load the same saved tiny Qwen2 and run, on CPU with the same thread count, steps of
P prompts × G rollouts with the same sampling (temperature 1, no top-k/top-p), the same loss
(``dapo``, beta = 0, no reference model), AdamW at lr 1e-5 and gradient clipping at 1.0,
one optimizer step per generation, the whole step in one micro-batch, and no gradient
checkpointing (TRL's default turns it on, which also slows its generation).

* **single** — prompt → one completion of at most ``L`` tokens.
* **multi** — a three-turn tool task (``add`` twice, then the answer). hone runs ``arun_agent``
  rollouts through ``RecordingModel(BatchingModel(TransformersModel(policy)))``, so the
  concurrent rollouts' calls batch into one generation per turn, and each turn reuses the KV
  states its conversation left at the previous one (the share of prompt tokens reused is
  reported as ``prefix_reuse``; the states are dropped at every optimizer step, since the
  weights change). TRL uses its native tool loop
  (``GRPOTrainer(tools=[add])``, ``max_tool_calling_iterations=2``), which also regenerates
  every row with a pending tool call as one batch. The model is first taught the transcript
  format by a short SFT run, so both sides really call the tool.

The two run interleaved in one process: a TRL callback runs one hone step after every TRL
step, so machine load hits both alike. **Throughput** = (tokens the policy sampled + tokens of
the sequences the loss covered, prompts and tool results included, padding excluded) / wall
time of the step. The first steps are warm-up; figures are medians of the measured steps.
"""

from __future__ import annotations

import logging
import os
import statistics
import time
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from bench._common import Options, bench_main, console, print_table, ratio
from bench._rl_common import (
    HoneRL,
    StepFigures,
    add,
    base_model,
    describe,
    load,
    score,
    single_turn_tasks,
    tool_model,
    tool_tasks,
)
from hone.models import PrefixCacheStats

NAME = "rl_step"
DESCRIPTION = "tokens/s of one RL step (generate + train), hone vs TRL GRPOTrainer, on CPU"
TARGETS = {"single": 1.2, "multi": 1.5}


def _trl_trainer(path: Path, tasks: list[dict[str, Any]], setup: dict[str, Any], out: Path) -> Any:
    """A GRPOTrainer configured like the hone side, counting tokens as it goes."""
    from datasets import Dataset
    from trl import GRPOConfig, GRPOTrainer  # type: ignore[attr-defined]

    class CountingGRPOTrainer(GRPOTrainer):
        """GRPOTrainer that records each step's token counts (no change in behaviour)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.counts: list[tuple[int, int]] = []

        def _generate_and_score_completions(self, inputs: Any) -> Any:
            output = super()._generate_and_score_completions(inputs)
            mask = output["completion_mask"]  # (B, C): 1 up to and including EOS
            tool_mask = output.get("tool_mask")  # (B, C): 0 on tool-result tokens
            sampled = mask if tool_mask is None else mask * tool_mask
            trained = output["prompt_mask"].sum() + mask.sum()
            self.counts.append((int(sampled.sum()), int(trained)))
            return output

    model, tokenizer = load(path)
    multi = setup["turns"] > 1
    if multi:
        from trl.chat_template_utils import qwen3_template

        # The tiny model's template is Qwen-style but not byte-identical to a known one, so TRL
        # cannot pick the parser itself; Qwen3's response template parses its output.
        tokenizer.response_template = qwen3_template
    g, p = setup["group_size"], setup["prompts"]
    rows = [
        {"prompt": [{"role": "user", "content": t["prompt"]}], "target": t["target"]} for t in tasks
    ]

    def reward(completions: list[Any], target: list[int], **_: Any) -> list[float]:
        texts = [c if isinstance(c, str) else (c[-1].get("content") or "") for c in completions]
        return [score(text, t) for text, t in zip(texts, target, strict=True)]

    config = GRPOConfig(
        output_dir=str(out),
        per_device_train_batch_size=p * g,
        gradient_accumulation_steps=1,
        num_generations=g,
        num_iterations=1,
        max_completion_length=setup["trl_max_completion_length"],
        max_tool_calling_iterations=setup["turns"] - 1 if multi else None,
        loss_type="dapo",
        beta=0.0,
        temperature=1.0,
        top_p=1.0,
        top_k=0,
        learning_rate=1e-5,
        max_grad_norm=1.0,
        use_vllm=False,
        # TRL turns this on by default; hone does not checkpoint, so off for a like-for-like step.
        gradient_checkpointing=False,
        bf16=False,
        fp16=False,
        use_cpu=True,
        shuffle_dataset=False,
        max_steps=setup["warmup"] + setup["steps"],
        logging_steps=10_000,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        seed=0,
    )
    return CountingGRPOTrainer(
        model=model,
        reward_funcs=reward,
        args=config,
        train_dataset=Dataset.from_list(rows),
        processing_class=tokenizer,
        tools=[add] if multi else None,
    )


def _interleaved(
    path: Path, tasks: list[dict[str, Any]], setup: dict[str, Any], out: Path
) -> tuple[list[StepFigures], list[StepFigures], PrefixCacheStats]:
    """Alternate TRL and hone steps on the same prompts; returns (hone, trl) figures and
    what hone's prefix cache reused.

    Both sides run on hone's compute thread (``hone._compute``): on CPU, torch ops on two OS
    threads slow each other down about twofold, so mixing threads would measure contention.
    """
    from hone import _compute

    return _compute.call(_alternate, path, tasks, setup, out)


def _alternate(
    path: Path, tasks: list[dict[str, Any]], setup: dict[str, Any], out: Path
) -> tuple[list[StepFigures], list[StepFigures], PrefixCacheStats]:
    from transformers import TrainerCallback

    hone = HoneRL(
        path,
        group_size=setup["group_size"],
        max_tokens=setup["max_tokens"],
        max_turns=setup["turns"],
    )
    trainer = _trl_trainer(path, tasks, setup, out)
    p = setup["prompts"]
    hone_steps: list[StepFigures] = []
    trl_steps: list[StepFigures] = []

    class Interleave(TrainerCallback):
        started = time.perf_counter()

        def on_step_end(self, args: Any, state: Any, control: Any, **_: Any) -> None:
            seconds = time.perf_counter() - self.started
            sampled, trained = trainer.counts[-1]
            trl_steps.append(StepFigures(seconds, sampled, trained, calls=0))
            i = state.global_step - 1  # TRL's step i used prompts [i*P, (i+1)*P)
            hone_steps.append(hone.step(tasks[i * p : (i + 1) * p]))
            console.print(
                f"  {setup['kind']} step {i + 1}: hone {hone_steps[-1].tokens_per_s:.0f} tok/s, "
                f"TRL {trl_steps[-1].tokens_per_s:.0f} tok/s"
            )
            self.started = time.perf_counter()

    callback = Interleave()
    trainer.add_callback(callback)
    callback.started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        trainer.train()
    warmup = setup["warmup"]
    return hone_steps[warmup:], trl_steps[warmup:], hone.local.prefix_cache_stats


def _setup(kind: str, quick: bool) -> dict[str, Any]:
    single = kind == "single"
    return {
        "kind": kind,
        "prompts": 2 if quick else 4,
        "group_size": 2 if quick else 4,
        "turns": 1 if single else 3,
        # hone: tokens per model call; TRL: the whole completion, tool results included.
        "max_tokens": (8 if quick else 64) if single else (8 if quick else 40),
        "trl_max_completion_length": (8 if quick else 64) if single else (40 if quick else 160),
        "warmup": 1 if quick else 2,
        "steps": 1 if quick else 5,
    }


def _run_kind(kind: str, options: Options) -> dict[str, Any]:
    setup = _setup(kind, options.quick)
    if kind == "single":
        path = base_model(options.workdir, options.quick)
        make = single_turn_tasks
    else:
        path = tool_model(options.workdir, options.quick, steps=2 if options.quick else 150)
        make = tool_tasks
    tasks = make(setup["prompts"] * (setup["warmup"] + setup["steps"]))
    hone, trl, reuse = _interleaved(path, tasks, setup, options.workdir / f"trl-{kind}")
    result: dict[str, Any] = {"setup": setup, "hone": describe(hone), "trl": describe(trl)}
    result["prefix_reuse"] = {
        "reused_tokens": reuse.reused_tokens,
        "prompt_tokens": reuse.prompt_tokens,
        "rate": round(reuse.reuse_rate, 3),
    }
    result["calls_per_rollout_hone"] = round(
        statistics.mean(f.calls for f in hone) / (setup["prompts"] * setup["group_size"]), 2
    )
    result["ratio_tokens_per_s"] = ratio(
        result["hone"]["median_tokens_per_s"], result["trl"]["median_tokens_per_s"]
    )
    result["target"] = TARGETS[kind]
    result["target_met"] = (result["ratio_tokens_per_s"] or 0.0) >= TARGETS[kind]
    return result


def run(options: Options) -> dict[str, Any]:
    """Measure both kinds and print the table."""
    threads = min(2, os.cpu_count() or 1)
    torch.set_num_threads(threads)
    torch.manual_seed(0)
    for name in ("transformers", "trl", "hone"):
        logging.getLogger(name).setLevel(logging.ERROR)
    os.environ.setdefault("TRL_EXPERIMENTAL_SILENCE", "1")
    console.print(f"torch threads: {threads} (both sides)")
    results = {kind: _run_kind(kind, options) for kind in ("single", "multi")}
    rows = []
    for kind, r in results.items():
        for side in ("hone", "trl"):
            steps = r[side]["steps"]
            rows.append(
                [
                    f"{kind} / {side}",
                    round(r[side]["median_s"] * 1000),
                    round(statistics.median(s["sampled"] for s in steps)),
                    round(statistics.median(s["trained"] for s in steps)),
                    round(r[side]["median_tokens_per_s"]),
                    r["ratio_tokens_per_s"] if side == "hone" else None,
                    f"≥{r['target']}× {'met' if r['target_met'] else 'MISSED'}"
                    if side == "hone"
                    else "",
                ]
            )
    print_table(
        "one RL step (median of measured steps)",
        ["task / side", "ms/step", "sampled tok", "trained tok", "tok/s", "hone/TRL", "target"],
        rows,
    )
    for kind, r in results.items():
        reuse = r["prefix_reuse"]
        console.print(
            f"hone {kind}: KV states reused for {reuse['reused_tokens']:,} of "
            f"{reuse['prompt_tokens']:,} prompt tokens ({reuse['rate']:.0%})"
        )
    return {"torch_threads": threads, "trl": _trl_version(), **results}


def _trl_version() -> str | None:
    from importlib import metadata

    try:
        return metadata.version("trl")
    except metadata.PackageNotFoundError:
        return None


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """``python -m bench rl_step [--quick] [--out PATH] [--workdir DIR]``."""
    return bench_main(NAME, DESCRIPTION, run, argv)
