"""Run hone's generation-server contract against a real vLLM server (a GPU machine).

vLLM lives in its own environment (its pinned transformers/fastapi differ from hone's); this
script runs in hone's environment, starts ``vllm serve`` from the other one (or uses a server
already running, ``--url``) and checks, over HTTP, what hone's RL path relies on
(``hone.serve.contract``): exact token ids and raw logprobs equal to a local transformers copy
of the same model, LoRA adapters loaded at runtime and picked by ``model=``, unload, a bad
folder refused, pause/resume, and a LoRA publish under load; it prints the swap latency.

Typical use on a GPU machine (two virtual environments: hone's, and one with vllm)::

    python scripts/vllm_check.py --model Qwen/Qwen3-0.6B --vllm /opt/vllm-env/bin/vllm \\
        --device cuda --dtype bfloat16 --out vllm_check.json

    # a 4-bit base (bitsandbytes in both environments):
    python scripts/vllm_check.py --model Qwen/Qwen3-0.6B --vllm /opt/vllm-env/bin/vllm \\
        --device cuda --quantization bitsandbytes --tolerance 0.2

Without ``--adapters`` it makes two random LoRA adapters for the model (peft) in
``--workdir``. With ``--url`` it checks that server instead of starting one (``hone serve
MODEL --max-loras 4`` works too: the smoke test of this script does exactly that on CPU).
Exit status: 0 when every check passed, 1 otherwise. Not checked here: vLLM's NCCL weight
transfer (``hone.train.WeightsPublisher``'s GPU path needs a trainer process group wired to
the server; only its HTTP flow is tested, against a fake server, in CI).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hone.models import VLLMServer, vllm_command
from hone.models._transformers import TransformersModel
from hone.serve.contract import ServerHarness, arun_contract, failures

SERVED = "base"


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    """The command line."""
    parser = argparse.ArgumentParser(description="Check a vLLM server against hone's contract.")
    parser.add_argument("--model", required=True, help="base model path or hub id")
    parser.add_argument("--url", help="a running server's /v1 URL (then no server is started)")
    parser.add_argument("--served-name", default=SERVED, help="the base's id on the server")
    parser.add_argument("--vllm", default="vllm", help="the vllm executable (its own venv)")
    parser.add_argument("--port", type=int, default=8011)
    parser.add_argument("--adapters", nargs="*", default=[], help="NAME=PATH (two or more)")
    parser.add_argument("--rank", type=int, default=8, help="rank of generated adapters")
    parser.add_argument("--device", default="cuda", help="where the local reference runs")
    parser.add_argument("--dtype", default="bfloat16", help="dtype of server and reference")
    parser.add_argument("--quantization", help="e.g. bitsandbytes (base loaded 4-bit)")
    parser.add_argument("--tolerance", type=float, default=5e-2, help="largest logprob gap")
    parser.add_argument("--max-tokens", type=int, default=16)
    parser.add_argument("--startup-timeout", type=float, default=900.0)
    parser.add_argument("--workdir", type=Path, help="where generated adapters go")
    parser.add_argument("--out", type=Path, help="write the results as JSON here")
    return parser.parse_args(argv)


def make_adapters(model: str, workdir: Path, rank: int) -> dict[str, Path]:
    """Two LoRA adapters for ``model`` with random weights (a fresh LoRA equals the base)."""
    import peft
    import torch
    from transformers import AutoModelForCausalLM

    folders = {}
    for index, name in enumerate(("a", "b")):
        base = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32)
        config = peft.LoraConfig(
            r=rank,
            lora_alpha=2 * rank,
            target_modules=["q_proj", "k_proj", "v_proj", "o_proj"],
            task_type="CAUSAL_LM",
        )
        wrapped = peft.get_peft_model(base, config)
        generator = torch.Generator().manual_seed(index)
        with torch.no_grad():
            for key, param in wrapped.named_parameters():
                if "lora_B" in key:
                    param.copy_(torch.randn(param.shape, generator=generator) * 0.01)
        folders[name] = workdir / f"adapter-{name}"
        wrapped.save_pretrained(str(folders[name]))
    return folders


def reference_factory(args: argparse.Namespace, adapters: dict[str, Path]) -> Any:
    """Local transformers copies of the base and of each adapter merged into it."""
    cache: dict[str | None, TransformersModel] = {}

    def reference(adapter: str | None) -> TransformersModel:
        if adapter not in cache:
            kwargs: dict[str, Any] = {}
            if args.quantization == "bitsandbytes":
                from transformers import BitsAndBytesConfig

                kwargs["quantization_config"] = BitsAndBytesConfig(load_in_4bit=True)  # type: ignore[no-untyped-call]
            from transformers import AutoModelForCausalLM, AutoTokenizer

            model: Any = AutoModelForCausalLM.from_pretrained(
                args.model, dtype=args.dtype, **kwargs
            )
            if not kwargs:
                model.to(args.device)
            if adapter is not None:
                import peft

                model = peft.PeftModel.from_pretrained(model, str(adapters[adapter]))
                model = model.merge_and_unload() if not kwargs else model
            tokenizer = AutoTokenizer.from_pretrained(args.model)
            cache[adapter] = TransformersModel(model.eval(), tokenizer, prefix_cache_tokens=0)
        return cache[adapter]

    return reference


def server_for(args: argparse.Namespace, adapters: dict[str, Path]) -> VLLMServer:
    """The server to check: started from ``--vllm``, or the one at ``--url``."""
    if args.url:
        return VLLMServer(args.url, startup_timeout=60)
    extra = ["--dtype", args.dtype, "--max-model-len", "4096"]
    if args.quantization:
        extra += ["--quantization", args.quantization]
    command = vllm_command(
        args.model,
        port=args.port,
        served_name=args.served_name,
        max_loras=max(4, len(adapters)),
        max_lora_rank=max(args.rank, 16),
        extra=extra,
    )
    command[0] = args.vllm
    return VLLMServer(
        f"http://127.0.0.1:{args.port}/v1",
        command=command,
        env={"VLLM_SERVER_DEV_MODE": "1"},  # /pause and /resume are dev-mode routes
        startup_timeout=args.startup_timeout,
    )


def main(argv: Sequence[str] | None = None) -> int:
    """Run the contract; print one line per check; return the exit status."""
    args = parse(argv)
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="hone-vllm-check-"))
    workdir.mkdir(parents=True, exist_ok=True)
    adapters = {
        name: Path(path) for name, _, path in (item.partition("=") for item in args.adapters)
    }
    if len(adapters) < 2:
        adapters = make_adapters(args.model, workdir, args.rank)
    with server_for(args, adapters) as server:
        harness = ServerHarness(
            base_url=server.base_url,
            base_model=args.served_name,
            adapters=adapters,
            reference=reference_factory(args, adapters),
            tolerance=args.tolerance,
            exact_ids=args.quantization is None and args.dtype == "float32",
            max_tokens=args.max_tokens,
        )
        results = asyncio.run(arun_contract(harness))
    for result in results:
        print(result.line())
    if args.out is not None:
        rows = [
            {
                "name": r.name,
                "ok": r.ok,
                "skipped": r.skipped,
                "seconds": r.seconds,
                "error": r.error,
                "measurements": dict(r.measurements),
            }
            for r in results
        ]
        report = {"model": args.model, "url": server.base_url, "results": rows}
        args.out.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 1 if failures(results) else 0


if __name__ == "__main__":
    sys.exit(main())
