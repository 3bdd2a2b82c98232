"""Many LoRA adapters over one base model vs one merged model copy per adapter.

The same requests (round-robin over ``N`` adapters, greedy, a fixed token budget) are served
two ways, on the built-in tiny model's architecture (random weights, the default
:class:`~hone.models.tiny.TinyConfig`):

* **multi-LoRA** — one base :class:`~hone.models.TransformersModel` under an
  :class:`~hone.serve.AdapterPool` holding every adapter; concurrent requests for different
  adapters share each batched generation (peft's ``adapter_names=``), the way ``hone serve
  --max-loras`` serves them.
* **merged copies** — each adapter merged into its own copy of the base
  (``merge_and_unload``); each copy generates its own adapter's requests in one batch, the
  copies one after another (hone runs one generation at a time on its compute thread).

Measured: the bytes of model parameters each setup holds, and completion tokens per second
(median of repeats; both setups generate the same tokens, which the run checks). The
unmerged LoRA path costs extra matrix products per layer; merging costs a full copy of the
weights per adapter.
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path
from typing import Any

from bench._common import Options, bench_main, console, print_table, ratio
from hone.models import SamplingOptions, make_request
from hone.models._protocol import ChatRequest, Completion
from hone.models._tiny_corpus import default_corpus
from hone.models._transformers import TransformersModel
from hone.models.tiny import TinyConfig, build_tiny_model
from hone.serve import AdapterPool

NAME = "multi_lora"
DESCRIPTION = "many LoRA adapters over one base (mixed batches) vs a merged model per adapter"

QUICK = TinyConfig(
    hidden_size=32, layers=1, heads=2, kv_heads=1, intermediate=64, max_position=256, vocab_size=512
)
PROMPTS = ["Count to five.", "Name a colour.", "Say hello.", "What is 2 + 3?"]


def _build(workdir: Path, config: TinyConfig, adapters: int, rank: int) -> tuple[Path, list[Path]]:
    import peft
    import torch
    from transformers import AutoModelForCausalLM

    base = build_tiny_model(workdir / "base", corpus=default_corpus(400), config=config)
    folders = []
    for index in range(adapters):
        model = AutoModelForCausalLM.from_pretrained(base)
        lora = peft.LoraConfig(
            r=rank,
            lora_alpha=2 * rank,
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
            task_type="CAUSAL_LM",
        )
        wrapped = peft.get_peft_model(model, lora)
        generator = torch.Generator().manual_seed(index)
        with torch.no_grad():
            for name, param in wrapped.named_parameters():
                if "lora_B" in name:  # B starts at 0: give each adapter its own effect
                    param.copy_(torch.randn(param.shape, generator=generator) * 0.02)
        folder = workdir / f"adapter-{index}"
        wrapped.save_pretrained(str(folder))
        folders.append(folder)
    return base, folders


def _param_bytes(model: Any) -> int:
    return sum(p.numel() * p.element_size() for p in model.parameters())


def _requests(count: int, max_tokens: int) -> list[ChatRequest]:
    options = SamplingOptions(max_tokens=max_tokens, temperature=0.0)
    return [make_request(PROMPTS[i % len(PROMPTS)], options=options) for i in range(count)]


async def _multi(pool: AdapterPool, names: list[str], requests: list[ChatRequest]) -> list[Any]:
    views = [pool.backend(names[i % len(names)]) for i in range(len(requests))]
    return list(
        await asyncio.gather(*(v.complete(r) for v, r in zip(views, requests, strict=True)))
    )


async def _merged(models: list[TransformersModel], requests: list[ChatRequest]) -> list[Completion]:
    out: list[Completion | None] = [None] * len(requests)
    for index, model in enumerate(models):
        mine = list(range(index, len(requests), len(models)))
        for slot, completion in zip(
            mine, await model.complete_batch([requests[i] for i in mine]), strict=True
        ):
            out[slot] = completion
    return [c for c in out if c is not None]


def _timed(fn: Any, repeats: int) -> tuple[float, list[Any]]:
    times, result = [], []
    for _ in range(repeats):
        started = time.perf_counter()
        result = asyncio.run(fn())
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def run(options: Options) -> dict[str, Any]:
    import peft

    config = QUICK if options.quick else TinyConfig()
    adapters, rank = (2, 4) if options.quick else (8, 8)
    count, max_tokens, repeats = (4, 4, 1) if options.quick else (32, 32, 3)
    base_dir, folders = _build(options.workdir, config, adapters, rank)
    requests = _requests(count, max_tokens)
    names = [f"adapter-{i}" for i in range(adapters)]

    base = TransformersModel.from_pretrained(base_dir, prefix_cache_tokens=0)
    pool = AdapterPool(base, max_loaded=adapters, max_batch=count, max_wait_ms=20)

    async def register() -> None:
        for name, folder in zip(names, folders, strict=True):
            await pool.register(name, folder)

    asyncio.run(register())
    multi_bytes = _param_bytes(base.model)
    multi_s, multi_out = _timed(lambda: _multi(pool, names, requests), repeats)

    copies = []
    for folder in folders:
        plain = TransformersModel.from_pretrained(base_dir, prefix_cache_tokens=0)
        merged = peft.PeftModel.from_pretrained(plain.model, str(folder)).merge_and_unload()
        copies.append(TransformersModel(merged.eval(), plain.tokenizer, prefix_cache_tokens=0))
    merged_bytes = sum(_param_bytes(c.model) for c in copies)
    merged_s, merged_out = _timed(lambda: _merged(copies, requests), repeats)

    same = sum(a.token_ids == b.token_ids for a, b in zip(multi_out, merged_out, strict=True))
    tokens = sum(len(c.token_ids or ()) for c in multi_out)
    rows = [
        ["multi-LoRA (one base)", multi_bytes / 2**20, tokens / multi_s, multi_s],
        ["merged copies", merged_bytes / 2**20, tokens / merged_s, merged_s],
    ]
    print_table(
        f"{adapters} adapters (rank {rank}), {count} requests × ≤{max_tokens} tokens, greedy",
        ["setup", "params MiB", "tokens/s", "seconds"],
        rows,
    )
    console.print(f"identical token ids in {same} of {count} replies")
    return {
        "adapters": adapters,
        "rank": rank,
        "requests": count,
        "max_tokens": max_tokens,
        "completion_tokens": tokens,
        "identical_replies": same,
        "multi_lora": {
            "param_bytes": multi_bytes,
            "seconds": multi_s,
            "tokens_per_s": tokens / multi_s,
        },
        "merged": {
            "param_bytes": merged_bytes,
            "seconds": merged_s,
            "tokens_per_s": tokens / merged_s,
        },
        "memory_ratio_merged_over_multi": ratio(merged_bytes, multi_bytes),
        "speed_ratio_multi_over_merged": ratio(merged_s, multi_s),
        "generations_per_run": pool.stats.generations // repeats,
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark."""
    return bench_main(NAME, DESCRIPTION, run, argv)


if __name__ == "__main__":
    main()
