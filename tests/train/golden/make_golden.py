"""Write ``vectors.json``: GRPO-family losses computed by TRL's own ``GRPOTrainer._compute_loss``.

Run with TRL 1.16 installed (``pip install 'hone[bench]'``)::

    python tests/train/golden/make_golden.py

TRL's loss lives in a method of a 3,000-line trainer. We call that method unchanged on a
lightweight stand-in object that carries only the attributes the method reads; its
``_get_per_token_logps_and_entropies`` returns our fixed log-probabilities instead of running a
model. TRL therefore computes the ratio, clipping, KL, aggregation, metrics and (through autograd)
the gradient with respect to the log-probabilities exactly as in training, with one process, one
gradient-accumulation step and ``steps_per_generation = 1``. hone's ``GSPO`` is TRL's
``loss_type="grpo"`` with ``importance_sampling_level="sequence"``.
"""

from __future__ import annotations

import json
from collections import defaultdict
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import torch
import trl
from trl.trainer.grpo_trainer import GRPOTrainer

OUT = Path(__file__).with_name("vectors.json")
B, T = 4, 6

TRL_METRICS = {
    "clip_ratio/low_mean": "clip_low",
    "clip_ratio/high_mean": "clip_high",
    "clip_ratio/region_mean": "clip_region",
    "cispo_clip_ratio": "clip_high",
    "kl": "kl",
}


class _Accelerator:
    """One process: gather and reduce are the identity."""

    num_processes = 1

    def gather(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def gather_for_metrics(self, x: torch.Tensor) -> torch.Tensor:
        return x

    def reduce(self, x: torch.Tensor, reduction: str = "sum") -> torch.Tensor:
        return x


class _TrainerStub:
    """The attributes ``GRPOTrainer._compute_loss`` reads, and nothing else."""

    def __init__(self, case: dict[str, Any], logp: torch.Tensor) -> None:
        hone_type = case["loss_type"]
        self.loss_type = "grpo" if hone_type == "gspo" else hone_type
        self.importance_sampling_level = "sequence" if hone_type == "gspo" else "token"
        self.epsilon_low = case["eps_low"]
        self.epsilon_high = case["eps_high"]
        self.beta = case["beta"]
        self.max_completion_length = case["max_completion_length"]
        self.args = SimpleNamespace(
            use_bias_correction_kl=case["kl_ratio_correction"], delta=None, steps_per_generation=1
        )
        self.top_entropy_quantile = 1.0
        self.off_policy_mask_threshold = None
        self.use_vllm = False
        self.vllm_importance_sampling_correction = False
        self.model = SimpleNamespace(training=True)
        self.current_gradient_accumulation_steps = 1
        self.accelerator = _Accelerator()
        self._entropy_bonus_enabled = False
        self.aux_loss_enabled = False
        self._metrics: dict[str, defaultdict[str, list[float]]] = {
            "train": defaultdict(list),
            "eval": defaultdict(list),
        }
        self._logp = logp

    def _get_per_token_logps_and_entropies(
        self,
        model: Any,
        input_ids: torch.Tensor,
        attention_mask: torch.Tensor,
        logits_to_keep: int,
        **_: Any,
    ) -> tuple[torch.Tensor, torch.Tensor, None]:
        return self._logp, torch.zeros_like(self._logp), None


def _inputs(gen: torch.Generator, case: dict[str, Any]) -> dict[str, torch.Tensor]:
    """Random log-probs with ratios spread enough to hit both clip bounds."""
    logp = -torch.rand(B, T, generator=gen, dtype=torch.float64) * 3 - 0.05
    old = logp + torch.randn(B, T, generator=gen, dtype=torch.float64) * 0.4
    ref = logp + torch.randn(B, T, generator=gen, dtype=torch.float64) * 0.3
    lengths = torch.tensor(case["lengths"])
    mask = (torch.arange(T).unsqueeze(0) < lengths.unsqueeze(1)).long()  # right padding
    if case["per_token_advantages"]:
        adv = torch.randn(B, T, generator=gen, dtype=torch.float64)
    else:
        adv = torch.randn(B, generator=gen, dtype=torch.float64)
    return {"logp": logp, "old_logp": old, "ref_logp": ref, "mask": mask, "advantages": adv}


def _run_trl(case: dict[str, Any], x: dict[str, torch.Tensor]) -> dict[str, Any]:
    logp = x["logp"].clone().requires_grad_(True)
    stub = _TrainerStub(case, logp)
    inputs = {
        "prompt_ids": torch.zeros(B, 1, dtype=torch.long),
        "prompt_mask": torch.ones(B, 1, dtype=torch.long),
        "completion_ids": torch.zeros(B, T, dtype=torch.long),
        "completion_mask": x["mask"],
        "advantages": x["advantages"],
        "num_items_in_batch": torch.tensor(float(case["num_items_in_batch"] or x["mask"].sum())),
    }
    if case["old_logp"]:
        inputs["old_per_token_logps"] = x["old_logp"]
    if case["beta"] != 0.0:
        inputs["ref_per_token_logps"] = x["ref_logp"]
    loss = GRPOTrainer._compute_loss(stub, None, inputs)  # TRL's own code path
    loss.backward()
    metrics = {
        TRL_METRICS[key]: values[-1]
        for key, values in stub._metrics["train"].items()
        if key in TRL_METRICS
    }
    return {"loss": loss.item(), "grad_logp": logp.grad.tolist(), "metrics": metrics}


def _case(name: str, loss_type: str, **overrides: Any) -> dict[str, Any]:
    case: dict[str, Any] = {
        "name": name,
        "loss_type": loss_type,
        "eps_low": 0.2,
        "eps_high": 0.2,
        "beta": 0.0,
        "kl_ratio_correction": True,
        "max_completion_length": T,
        "num_items_in_batch": None,
        "old_logp": True,
        "per_token_advantages": False,
        "lengths": [6, 4, 1, 3],
    }
    case.update(overrides)
    return case


def cases() -> list[dict[str, Any]]:
    """Every configuration the golden test checks."""
    out = []
    for loss_type in ("grpo", "bnpo", "dr_grpo", "dapo", "gspo"):
        out.append(_case(f"{loss_type}", loss_type))
        out.append(_case(f"{loss_type}_asym_eps", loss_type, eps_low=0.1, eps_high=0.28))
        out.append(_case(f"{loss_type}_beta", loss_type, beta=0.04))
    out.append(_case("cispo", "cispo", eps_high=5.0))
    out.append(_case("cispo_tight", "cispo", eps_high=1.1))
    out.append(_case("cispo_beta", "cispo", eps_high=5.0, beta=0.1))
    out.append(_case("grpo_beta_no_kl_correction", "grpo", beta=0.1, kl_ratio_correction=False))
    out.append(_case("dapo_beta_no_kl_correction", "dapo", beta=0.1, kl_ratio_correction=False))
    out.append(_case("dr_grpo_max_len", "dr_grpo", max_completion_length=16))
    out.append(_case("dapo_global_tokens", "dapo", num_items_in_batch=40))
    out.append(_case("cispo_global_tokens", "cispo", eps_high=5.0, num_items_in_batch=40))
    out.append(_case("dapo_per_token_adv", "dapo", per_token_advantages=True))
    out.append(_case("grpo_per_token_adv_beta", "grpo", per_token_advantages=True, beta=0.04))
    out.append(_case("grpo_on_policy", "grpo", old_logp=False, beta=0.04))
    out.append(_case("bnpo_full_mask", "bnpo", lengths=[6, 6, 6, 6]))
    return out


def main() -> None:
    """Compute every case with TRL and write the vectors."""
    gen = torch.Generator().manual_seed(1234)
    vectors = []
    for case in cases():
        x = _inputs(gen, case)
        expected = _run_trl(case, x)
        vectors.append(
            {
                "config": case,
                "inputs": {key: value.tolist() for key, value in x.items()},
                "expected": expected,
            }
        )
    OUT.write_text(
        json.dumps({"trl_version": trl.__version__, "vectors": vectors}, indent=1) + "\n"
    )


if __name__ == "__main__":
    main()
