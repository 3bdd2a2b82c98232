"""hone's policy_loss against vectors computed by TRL 1.16's own GRPOTrainer._compute_loss."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import torch

from hone.train import policy_loss

VECTORS = json.loads((Path(__file__).parent / "golden" / "vectors.json").read_text())["vectors"]


@pytest.mark.parametrize("vector", VECTORS, ids=[v["config"]["name"] for v in VECTORS])
def test_policy_loss_matches_trl(vector: dict[str, Any]) -> None:
    config, inputs, expected = vector["config"], vector["inputs"], vector["expected"]
    x = {key: torch.tensor(value, dtype=torch.float64) for key, value in inputs.items()}
    logp = x["logp"].clone().requires_grad_(True)
    loss, metrics = policy_loss(
        logp,
        x["old_logp"] if config["old_logp"] else None,
        x["advantages"],
        x["mask"],
        loss_type=config["loss_type"],
        eps_low=config["eps_low"],
        eps_high=config["eps_high"],
        beta=config["beta"],
        ref_logp=x["ref_logp"] if config["beta"] != 0.0 else None,
        kl_ratio_correction=config["kl_ratio_correction"],
        max_completion_length=config["max_completion_length"],
        num_items_in_batch=config["num_items_in_batch"],
    )
    loss.backward()
    assert loss.item() == pytest.approx(expected["loss"], abs=1e-6, rel=0)
    assert logp.grad is not None
    torch.testing.assert_close(
        logp.grad, torch.tensor(expected["grad_logp"], dtype=torch.float64), atol=1e-6, rtol=0
    )
    for name, value in expected["metrics"].items():
        assert getattr(metrics, name) == pytest.approx(value, abs=1e-6), name


def test_vectors_cover_every_loss_type() -> None:
    covered = {v["config"]["loss_type"] for v in VECTORS}
    assert covered == {"grpo", "bnpo", "dr_grpo", "dapo", "gspo", "cispo"}
