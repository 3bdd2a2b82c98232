"""Group-relative and per-turn advantages, checked by hand and against TRL's formula."""

from __future__ import annotations

import math

import pytest
import torch

from hone.errors import TrainingConfigError
from hone.train import group_advantages, turn_advantages, zero_variance_mask

HALF = 0.5 / (math.sqrt(0.5) + 1e-4)  # (1 − 0.5) / (Bessel std of [1, 0] + eps)


def test_group_scale_by_hand() -> None:
    adv = group_advantages(torch.tensor([1.0, 0.0, 1.0, 1.0]), 2)
    torch.testing.assert_close(adv, torch.tensor([HALF, -HALF, 0.0, 0.0]))


def test_batch_scale_uses_batch_std_and_group_mean() -> None:
    # batch std of [1, 0, 1, 1] (Bessel) is 0.5; means stay per group.
    adv = group_advantages(torch.tensor([1.0, 0.0, 1.0, 1.0]), 2, scale="batch")
    expected = 0.5 / (0.5 + 1e-4)
    torch.testing.assert_close(adv, torch.tensor([expected, -expected, 0.0, 0.0]))


def test_none_scale_only_centres() -> None:
    adv = group_advantages(torch.tensor([3.0, 1.0, 2.0, 2.0]), 2, scale="none")
    torch.testing.assert_close(adv, torch.tensor([1.0, -1.0, 0.0, 0.0]))


def test_population_std_and_custom_eps() -> None:
    adv = group_advantages(torch.tensor([1.0, 0.0]), 2, std="population", eps=1e-6)
    torch.testing.assert_close(adv, torch.tensor([0.5 / (0.5 + 1e-6), -0.5 / (0.5 + 1e-6)]))


def test_group_ids_in_any_order_match_contiguous_groups() -> None:
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0, 0.5, 0.25])
    by_ids = group_advantages(rewards, [7, 3, 7, 3, 9, 9])
    by_size = group_advantages(rewards[[0, 2, 1, 3, 4, 5]], 2)
    torch.testing.assert_close(by_ids[[0, 2, 1, 3, 4, 5]], by_size)


def test_lone_episode_gets_zero_advantage() -> None:
    adv = group_advantages(torch.tensor([1.0, 0.0, 5.0]), [0, 0, 1])
    assert adv[2].item() == 0.0


def test_matches_trl_formula_on_random_rewards() -> None:
    nanstd = pytest.importorskip("trl.trainer.utils").nanstd
    rewards = torch.randn(24, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    g = 6
    mean = rewards.view(-1, g).mean(1).repeat_interleave(g)
    std = nanstd(rewards.view(-1, g), dim=1).repeat_interleave(g)
    torch.testing.assert_close(group_advantages(rewards, g), (rewards - mean) / (std + 1e-4))
    batch_std = nanstd(rewards).expand_as(rewards)
    torch.testing.assert_close(
        group_advantages(rewards, g, scale="batch"), (rewards - mean) / (batch_std + 1e-4)
    )


def test_zero_variance_mask() -> None:
    mask = zero_variance_mask(torch.tensor([1.0, 1.0, 0.0, 1.0, 2, 2]), 2)
    assert mask.tolist() == [True, True, False, False, True, True]


@pytest.mark.parametrize(
    ("rewards", "groups", "match"),
    [
        ([1.0, 0.0], 1, "below 2"),
        ([1.0, 0.0, 1.0], 2, "cannot be split"),
        ([1.0, 0.0], [0], "one group id per reward"),
    ],
)
def test_group_errors(rewards: list[float], groups: int | list[int], match: str) -> None:
    with pytest.raises(TrainingConfigError, match=match):
        group_advantages(torch.tensor(rewards), groups)


def test_turn_advantages_with_terminal_reward_equal_grpo() -> None:
    episodes = [[0.0, 0.0, 1.0], [0.0], [0.0, 0.5], [0.0, 0.0, 0.0, 0.0]]
    per_turn = turn_advantages(episodes, 2)
    grpo = group_advantages(torch.tensor([1.0, 0.0, 0.5, 0.0], dtype=torch.float64), 2)
    for i, turns in enumerate(per_turn):
        assert len(turns) == len(episodes[i])
        torch.testing.assert_close(turns, torch.full_like(turns, grpo[i].item()))


def test_turn_advantages_by_hand() -> None:
    # returns-to-go with γ = 0.5: episode 0: [1 + 0.5·2, 2] = [2, 2]; episode 1: [0, 0].
    # group mean of episode returns = 1, Bessel std = sqrt(2).
    (a0, a1) = turn_advantages([[1.0, 2.0], [0.0, 0.0]], 2, gamma=0.5)
    scale = math.sqrt(2.0) + 1e-4
    torch.testing.assert_close(a0, torch.tensor([1 / scale, 1 / scale], dtype=torch.float64))
    torch.testing.assert_close(a1, torch.tensor([-1 / scale, -1 / scale], dtype=torch.float64))


def test_turn_advantages_errors() -> None:
    with pytest.raises(TrainingConfigError, match="gamma"):
        turn_advantages([[1.0], [0.0]], 2, gamma=1.5)
    with pytest.raises(TrainingConfigError, match="no turn rewards"):
        turn_advantages([[1.0], []], 2)
