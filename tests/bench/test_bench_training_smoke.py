"""The training-overhead benchmark compares like with like (its quick runs are in test_bench_smoke).

The figures of a quick run mean nothing; this keeps the benchmarks from rotting and checks
that what they write is consistent with what they measured.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

pytest.importorskip("torch")
pytest.importorskip("trl", reason="rl_step compares hone with TRL's GRPOTrainer")

# The bench package lives at the repository root, next to tests/ (not installed).
ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench._rl_common import QUICK_TINY  # noqa: E402

from bench import train_overhead  # noqa: E402


def test_bare_step_matches_hone_update(tmp_path: Path) -> None:
    """The bare step computes the same loss as hone: one step from equal weights lands on
    equal weights, so the overhead benchmark compares like with like."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from hone.models.tiny import build_tiny_model
    from hone.train import Trainer, TrainerConfig, collate

    path = build_tiny_model(tmp_path / "tiny", config=QUICK_TINY)
    tokenizer = AutoTokenizer.from_pretrained(path)
    hone_model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    bare_model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32)
    samples = train_overhead.make_samples(4, 10, 8, len(tokenizer))
    config = TrainerConfig(loss_type="dapo", lr=1e-3, micro_batch_size=2, eps_low=0.2)
    Trainer(hone_model, tokenizer, config=config).train_step(samples)
    batches = [collate(samples[i : i + 2], pad_id=tokenizer.pad_token_id) for i in (0, 2)]
    bare = train_overhead.BareStep(bare_model, batches, sum(s.num_loss_tokens for s in samples))
    bare.optimizer.param_groups[0]["lr"] = 1e-3
    bare()
    for (name, a), b in zip(hone_model.named_parameters(), bare_model.parameters(), strict=True):
        assert torch.allclose(a, b, atol=1e-6), name
