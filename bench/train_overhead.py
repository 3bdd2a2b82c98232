"""hone's ``Trainer.train_step`` vs a bare torch step over exactly the same tokens.

The batch: B sequences (a masked prompt, then a sampled completion with its logprobs and one
advantage per sequence), cut into micro-batches of M. The **bare** step is what one writes by
hand: for each micro-batch of pre-padded tensors, a forward (skipping the logits of the
prompt positions, like hone), ``log_softmax`` + ``gather``, the clipped ratio loss of
``dapo`` summed over the masked tokens and divided by the step's token count, backward; then
gradient clipping, AdamW and ``zero_grad``. The bare side gets its tensors padded once, before
timing, so hone's collation and bookkeeping all count as overhead. The two models start from
the same weights and the steps alternate, so machine load hits both alike.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from collections.abc import Sequence
from typing import Any

import torch

from bench._common import Options, bench_main, console, print_table, ratio
from bench._rl_common import base_model, load
from hone import _compute
from hone.train import Batch, Trainer, TrainerConfig, TrainingSample, collate

NAME = "train_overhead"
DESCRIPTION = "ms per optimizer step: hone Trainer.train_step vs a bare torch step, same tokens"
TARGET = 1.2
EPS = 0.2


def make_samples(count: int, prompt: int, completion: int, vocab: int) -> list[TrainingSample]:
    """``count`` sequences of varied length with a masked prompt and a sampled completion."""
    rng = random.Random(0)
    samples = []
    for i in range(count):
        p = prompt - rng.randrange(prompt // 4 + 1)
        c = completion - rng.randrange(completion // 2 + 1)
        ids = [rng.randrange(vocab) for _ in range(p + c)]
        samples.append(
            TrainingSample(
                input_ids=ids,
                loss_mask=[False] * p + [True] * c,
                old_logprobs=[0.0] * p + [-rng.uniform(5.0, 9.0) for _ in range(c)],
                advantage=rng.uniform(-1.0, 1.0),
                group_id=i // 4,
            )
        )
    return samples


class BareStep:
    """The hand-written step: pre-padded tensors, one loss expression, plain AdamW."""

    def __init__(self, model: Any, batches: list[Batch], num_tokens: int) -> None:
        self.model = model
        self.batches = batches
        self.num_tokens = float(num_tokens)
        self.optimizer = torch.optim.AdamW(model.parameters(), lr=1e-5, weight_decay=0.0)
        # First position any sample of a micro-batch learns from (as hone computes it).
        self.starts = [int(b.mask.sum(0).nonzero()[0].item()) for b in batches]

    def __call__(self) -> None:
        self.model.train()
        for batch, start in zip(self.batches, self.starts, strict=True):
            keep = batch.inputs.shape[1] - start
            logits = self.model(
                input_ids=batch.inputs,
                attention_mask=batch.attention_mask,
                use_cache=False,
                logits_to_keep=keep,
            ).logits  # (b, keep, V)
            logp = torch.log_softmax(logits.float(), dim=-1)
            logp = logp.gather(-1, batch.targets[:, start:, None]).squeeze(-1)  # (b, keep)
            old = batch.old_logprobs[:, start:] if batch.old_logprobs is not None else logp.detach()
            adv = batch.advantages[:, None]  # (b, 1)
            ratio_ = torch.exp(logp - old)
            per_token = -torch.min(ratio_ * adv, ratio_.clamp(1 - EPS, 1 + EPS) * adv)
            loss = (per_token * batch.mask[:, start:]).sum() / self.num_tokens
            torch.autograd.backward(loss)
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)


def _sizes(quick: bool) -> dict[str, int]:
    if quick:
        return {"samples": 4, "micro_batch": 2, "prompt": 12, "completion": 12, "steps": 2}
    return {"samples": 16, "micro_batch": 4, "prompt": 160, "completion": 96, "steps": 9}


def run(options: Options) -> dict[str, Any]:
    """Alternate hone and bare steps; report median ms/step and the ratio."""
    threads = min(2, os.cpu_count() or 1)
    torch.set_num_threads(threads)
    console.print(f"torch threads: {threads} (both sides)")
    sizes = _sizes(options.quick)
    path = base_model(options.workdir, options.quick)
    hone_model, tokenizer = load(path)
    bare_model, _ = load(path)
    samples = make_samples(sizes["samples"], sizes["prompt"], sizes["completion"], len(tokenizer))
    config = TrainerConfig(
        loss_type="dapo", lr=1e-5, micro_batch_size=sizes["micro_batch"], eps_low=EPS
    )
    trainer = Trainer(hone_model, tokenizer, config=config)
    chunks = [
        samples[i : i + sizes["micro_batch"]] for i in range(0, len(samples), sizes["micro_batch"])
    ]
    pad = tokenizer.pad_token_id
    bare = BareStep(
        bare_model,
        [collate(chunk, pad_id=pad) for chunk in chunks],
        sum(s.num_loss_tokens for s in samples),
    )

    def bare_step() -> None:
        _compute.call(bare)

    hone_times: list[float] = []
    bare_times: list[float] = []
    for step in range(sizes["steps"] + 1):  # step 0 warms both up
        # train_step runs on hone's compute thread; the bare step goes there too, since torch
        # ops on two OS threads slow each other down on CPU (see hone._compute).
        sides = ((hone_times, lambda: trainer.train_step(samples)), (bare_times, bare_step))
        for times, fn in sides:
            start = time.perf_counter()
            fn()
            if step:
                times.append(time.perf_counter() - start)
    hone_ms = statistics.median(hone_times) * 1000
    bare_ms = statistics.median(bare_times) * 1000
    overhead = ratio(hone_ms, bare_ms)
    met = overhead is not None and overhead <= TARGET
    print_table(
        f"one optimizer step, {sizes['samples']} sequences in micro-batches of "
        f"{sizes['micro_batch']} (median of {sizes['steps']})",
        ["side", "ms/step", "hone/bare", "target"],
        [
            [
                "hone Trainer.train_step",
                round(hone_ms),
                overhead,
                f"≤{TARGET}× {'met' if met else 'MISSED'}",
            ],
            ["bare torch", round(bare_ms), None, ""],
        ],
    )
    return {
        "torch_threads": threads,
        "sizes": sizes,
        "trained_tokens": sum(len(s.input_ids) for s in samples),
        "loss_tokens": sum(s.num_loss_tokens for s in samples),
        "hone_ms": round(hone_ms, 2),
        "bare_ms": round(bare_ms, 2),
        "hone_ms_steps": [round(t * 1000, 2) for t in hone_times],
        "bare_ms_steps": [round(t * 1000, 2) for t in bare_times],
        "ratio": overhead,
        "target": TARGET,
        "target_met": met,
    }


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    """``python -m bench train_overhead [--quick] [--out PATH] [--workdir DIR]``."""
    return bench_main(NAME, DESCRIPTION, run, argv)
