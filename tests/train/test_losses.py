"""Policy and SFT losses on tiny examples worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from hone.errors import TrainingConfigError
from hone.train import policy_loss, sft_loss
from hone.train._losses import token_logprobs

F64 = torch.float64
MASK = torch.tensor([[1.0, 1.0, 1.0], [1.0, 0.0, 0.0]], dtype=F64)  # 3 + 1 tokens
ADV = torch.tensor([1.0, -2.0], dtype=F64)


def _logp(value: float = -1.0) -> torch.Tensor:
    return torch.full((2, 3), value, dtype=F64, requires_grad=True)


@pytest.mark.parametrize(
    ("loss_type", "expected"),
    [
        ("grpo", -(1.0 - 2.0) / 2),  # mean over sequences of −A
        ("gspo", -(1.0 - 2.0) / 2),
        ("bnpo", -(3 * 1.0 - 2.0) / 4),  # token mean
        ("dapo", -(3 * 1.0 - 2.0) / 4),
        ("dr_grpo", -(3 * 1.0 - 2.0) / (2 * 3)),  # sum / (B · T)
    ],
)
def test_ratio_one_gives_minus_mean_advantage(loss_type: str, expected: float) -> None:
    logp = _logp()
    loss, metrics = policy_loss(logp, logp.detach(), ADV, MASK, loss_type=loss_type)  # type: ignore[arg-type]
    assert loss.item() == pytest.approx(expected)
    assert metrics.ratio_mean == pytest.approx(1.0)
    assert metrics.clip_region == 0.0
    assert metrics.num_tokens == 4.0


def test_clipping_caps_positive_and_keeps_negative_advantages() -> None:
    logp = _logp()
    old = logp.detach() - math.log(2.0)  # ratio 2 everywhere
    loss, metrics = policy_loss(logp, old, ADV, MASK, loss_type="dapo")
    # A = +1: −min(2, 1.2) = −1.2 on 3 tokens; A = −2: −min(−4, −2.4) = 4 on 1 token.
    assert loss.item() == pytest.approx((3 * -1.2 + 4.0) / 4)
    assert metrics.clip_high == pytest.approx(0.75)
    assert metrics.clip_low == 0.0
    loss.backward()
    assert logp.grad is not None
    # clipped tokens get no gradient; the unclipped one gets −ρA/N = 2·2/4.
    torch.testing.assert_close(
        logp.grad, torch.tensor([[0.0, 0.0, 0.0], [1.0, 0.0, 0.0]], dtype=F64)
    )


def test_asymmetric_eps_high() -> None:
    logp = _logp()
    old = logp.detach() - math.log(1.25)  # ratio 1.25: inside 1 + 0.28, outside 1 + 0.2
    loss, _ = policy_loss(logp, old, ADV[:1], MASK[:1], loss_type="grpo", eps_high=0.28)
    assert loss.item() == pytest.approx(-1.25)
    loss, _ = policy_loss(logp, old, ADV[:1], MASK[:1], loss_type="grpo")
    assert loss.item() == pytest.approx(-1.2)


def test_gspo_uses_one_length_normalised_ratio_per_sequence() -> None:
    logp = torch.zeros(1, 3, dtype=F64, requires_grad=True)
    old = torch.tensor([[0.0, -0.3, 0.3]], dtype=F64)  # mean log ratio 0 → ρ = 1 for the sequence
    mask = torch.ones(1, 3, dtype=F64)
    _, seq_metrics = policy_loss(logp, old, torch.ones(1, dtype=F64), mask, loss_type="gspo")
    _, tok_metrics = policy_loss(logp, old, torch.ones(1, dtype=F64), mask, loss_type="grpo")
    assert seq_metrics.ratio_mean == pytest.approx(1.0)
    assert tok_metrics.ratio_mean != pytest.approx(1.0)


def test_cispo_gradient_is_clamped_detached_ratio_times_advantage() -> None:
    logp = _logp()
    old = logp.detach() - math.log(3.0)  # ratio 3, clamped to eps_high = 2
    loss, metrics = policy_loss(logp, old, ADV, MASK, loss_type="cispo", eps_high=2.0)
    loss.backward()
    assert logp.grad is not None
    expected = -torch.tensor([[2.0, 2.0, 2.0], [-4.0, 0.0, 0.0]], dtype=F64) / 4
    torch.testing.assert_close(logp.grad, expected)
    assert metrics.clip_high == pytest.approx(0.75)


def test_cispo_default_eps_high_is_five() -> None:
    logp = _logp()
    old = logp.detach() - math.log(4.0)
    _, metrics = policy_loss(logp, old, ADV, MASK, loss_type="cispo")
    assert metrics.clip_high == 0.0


def test_kl_estimators() -> None:
    logp = _logp(-1.0)
    ref = torch.full((2, 3), -1.5, dtype=F64)  # ref − logp = −0.5
    k3 = math.exp(-0.5) + 0.5 - 1
    _, m3 = policy_loss(logp, None, ADV, MASK, loss_type="dapo", beta=0.1, ref_logp=ref)
    _, m1 = policy_loss(logp, None, ADV, MASK, loss_type="dapo", beta=0.1, ref_logp=ref, kl="k1")
    assert m3.kl == pytest.approx(k3)
    assert m1.kl == pytest.approx(0.5)
    loss, _ = policy_loss(logp, None, ADV * 0, MASK, loss_type="dapo", beta=0.1, ref_logp=ref)
    assert loss.item() == pytest.approx(0.1 * k3)


def test_per_token_advantages() -> None:
    logp = _logp()
    adv = torch.tensor([[1.0, 2.0, 3.0], [4.0, 9.0, 9.0]], dtype=F64)
    loss, _ = policy_loss(logp, None, adv, MASK, loss_type="dapo")
    assert loss.item() == pytest.approx(-(1 + 2 + 3 + 4) / 4)


def test_whole_batch_normalisers_split_exactly() -> None:
    logp = torch.randn(4, 5, dtype=F64)
    old = logp + 0.3 * torch.randn(4, 5, dtype=F64)
    adv = torch.randn(4, dtype=F64)
    mask = (torch.rand(4, 5) > 0.3).to(F64)
    mask[:, 0] = 1
    for loss_type in ("grpo", "bnpo", "dr_grpo", "dapo", "gspo", "cispo"):
        full, _ = policy_loss(logp, old, adv, mask, loss_type=loss_type)  # type: ignore[arg-type]
        parts = sum(
            policy_loss(
                logp[i : i + 1],
                old[i : i + 1],
                adv[i : i + 1],
                mask[i : i + 1],
                loss_type=loss_type,  # type: ignore[arg-type]
                num_items_in_batch=mask.sum(),
                num_sequences=4,
                max_completion_length=5,
            )[0].item()
            for i in range(4)
        )
        assert parts == pytest.approx(full.item(), abs=1e-12), loss_type


def test_policy_loss_errors() -> None:
    logp = _logp()
    with pytest.raises(TrainingConfigError, match="unknown loss_type"):
        policy_loss(logp, None, ADV, MASK, loss_type="ppo")  # type: ignore[arg-type]
    with pytest.raises(TrainingConfigError, match="ref_logp"):
        policy_loss(logp, None, ADV, MASK, loss_type="grpo", beta=0.1)
    with pytest.raises(TrainingConfigError, match=">= 0"):
        policy_loss(logp, None, ADV, MASK, loss_type="grpo", eps_low=-0.1)


def test_sft_loss_is_token_mean_nll() -> None:
    logp = torch.tensor([[-1.0, -2.0, -9.0], [-3.0, -9.0, -9.0]], dtype=F64)
    loss, metrics = sft_loss(logp, torch.tensor([[1, 1, 0], [1, 0, 0]]))
    assert loss.item() == pytest.approx(2.0)
    assert metrics.nll == pytest.approx(2.0) and metrics.num_tokens == 3.0
    assert metrics.clip_high is None and metrics.ratio_mean is None
    loss, _ = sft_loss(logp, torch.tensor([[1, 1, 0], [1, 0, 0]]), num_items_in_batch=6)
    assert loss.item() == pytest.approx(1.0)


def test_token_logprobs_matches_log_softmax_and_upcasts_bf16() -> None:
    logits = torch.randn(2, 3, 7)
    targets = torch.randint(0, 7, (2, 3))
    expected = torch.log_softmax(logits, -1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
    torch.testing.assert_close(token_logprobs(logits, targets), expected)
    assert token_logprobs(logits.bfloat16(), targets).dtype == torch.float32
