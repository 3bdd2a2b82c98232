"""Group-relative advantages (GRPO) and per-turn advantages for multi-turn episodes.

Everything here is a pure function over tensors. Rewards are one scalar per episode, episodes are
grouped (G episodes for the same task form one group), and an episode's advantage says how much
better it did than its group:

    A_i = (R_i − mean_{g(i)}) / (std + eps)

which is TRL 1.16's ``GRPOTrainer`` formula (``scale_rewards`` "group" | "batch" | "none",
``eps = 1e-4``, Bessel-corrected std). Other frameworks use the population std or ``eps = 1e-6``;
both are options here so that "GRPO" is a stated number, not a guess.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypeAlias

import torch

from hone.errors import TrainingConfigError

__all__ = [
    "AdvantageScale",
    "Groups",
    "StdKind",
    "group_advantages",
    "turn_advantages",
    "zero_variance_mask",
]

AdvantageScale: TypeAlias = Literal["group", "batch", "none"]
StdKind: TypeAlias = Literal["bessel", "population"]
#: Either the group size G (episodes of one group are contiguous, TRL's layout), or one group id
#: per episode (any integers, any order).
Groups: TypeAlias = int | Sequence[int] | torch.Tensor


def _group_index(groups: Groups, n: int) -> torch.Tensor:
    """Dense group index in ``[0, num_groups)`` for each of ``n`` episodes. (n,)"""
    if isinstance(groups, int):
        if groups < 2:
            raise TrainingConfigError(
                f"group size G={groups} is below 2: a group needs at least two episodes to have a "
                "baseline. Sample G >= 2 episodes per task (8 is TRL's default)."
            )
        if n % groups != 0:
            raise TrainingConfigError(
                f"{n} rewards cannot be split into groups of G={groups}. Pass a multiple of G "
                "rewards, or pass one group id per reward instead of G."
            )
        return torch.arange(n) // groups
    ids = torch.as_tensor(groups)
    if ids.shape != (n,):
        raise TrainingConfigError(
            f"got {tuple(ids.shape)} group ids for {n} rewards; pass exactly one group id per reward."
        )
    _, index = torch.unique(ids, return_inverse=True)
    inverse: torch.Tensor = index
    return inverse


def _std(counts: torch.Tensor, sq_dev_sums: torch.Tensor, kind: StdKind) -> torch.Tensor:
    """Standard deviation from sums of squared deviations; 0 where a group has one member
    (TRL gives NaN there; a lone episode has no baseline, so its advantage is 0 here)."""
    denom = (counts - 1).clamp(min=1) if kind == "bessel" else counts.clamp(min=1)
    return torch.sqrt(sq_dev_sums / denom)


def _group_stats(
    rewards: torch.Tensor, index: torch.Tensor, std: StdKind
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-episode group mean and group std. Both (B,)."""
    num_groups = int(index.max().item()) + 1 if index.numel() else 0
    counts = torch.zeros(num_groups, dtype=rewards.dtype).index_add_(
        0, index, torch.ones_like(rewards)
    )
    sums = torch.zeros(num_groups, dtype=rewards.dtype).index_add_(0, index, rewards)
    means = sums / counts  # (num_groups,)
    sq_dev = torch.zeros(num_groups, dtype=rewards.dtype).index_add_(
        0, index, (rewards - means[index]) ** 2
    )
    stds = _std(counts, sq_dev, std)  # (num_groups,)
    return means[index], stds[index]


def _batch_std(rewards: torch.Tensor, std: StdKind) -> torch.Tensor:
    """Std of the whole batch, broadcast to (B,)."""
    if rewards.numel() < 2:
        return torch.zeros_like(rewards)
    return rewards.std(correction=1 if std == "bessel" else 0).expand_as(rewards)


def group_advantages(
    rewards: torch.Tensor,
    groups: Groups,
    *,
    scale: AdvantageScale = "group",
    eps: float = 1e-4,
    std: StdKind = "bessel",
) -> torch.Tensor:
    """Group-relative advantages, as TRL 1.16 computes them.

    ``A = R − mean_group``, then divided by ``std + eps`` where the std is the group's
    (``scale="group"``), the whole batch's (``scale="batch"``; the mean stays per group), or not
    at all (``scale="none"``, Dr. GRPO). A group whose rewards are all equal gets advantage 0.

    Args:
        rewards: one reward per episode. (B,)
        groups: the group size G (contiguous groups) or one group id per episode.
        scale: which std divides the centred rewards.
        eps: added to the std (TRL: 1e-4).
        std: ``"bessel"`` (n − 1, TRL) or ``"population"`` (n).

    Returns:
        advantages. (B,)
    """
    rewards = torch.as_tensor(rewards)
    if rewards.dim() != 1:
        raise TrainingConfigError(
            f"rewards must be 1-D (one per episode), got shape {tuple(rewards.shape)}."
        )
    rewards = rewards if rewards.is_floating_point() else rewards.double()
    index = _group_index(groups, rewards.numel())
    mean, group_std = _group_stats(rewards, index, std)  # (B,), (B,)
    centred = rewards - mean  # (B,)
    if scale == "group":
        return centred / (group_std + eps)
    if scale == "batch":
        return centred / (_batch_std(rewards, std) + eps)
    if scale == "none":
        return centred
    raise TrainingConfigError(f"unknown advantage scale {scale!r}; use 'group', 'batch' or 'none'.")


def zero_variance_mask(rewards: torch.Tensor, groups: Groups) -> torch.Tensor:
    """Which episodes sit in a group whose rewards are all equal (no learning signal). (B,) bool

    ``mask.float().mean()`` is TRL's ``frac_reward_zero_std`` metric. Such groups give zero
    advantage; filtering them out before the update saves compute without changing it (for the
    "grpo" loss; token-sum losses still count their tokens in the normaliser).
    """
    rewards = torch.as_tensor(rewards)
    rewards = rewards if rewards.is_floating_point() else rewards.double()
    index = _group_index(groups, rewards.numel())
    _, group_std = _group_stats(rewards, index, "bessel")
    return torch.isclose(group_std, torch.zeros_like(group_std))


def _returns_to_go(turn_rewards: Sequence[float], gamma: float) -> list[float]:
    """``G_k = Σ_{j ≥ k} γ^(j−k) r_j`` for one episode."""
    returns: list[float] = []
    running = 0.0
    for reward in reversed(turn_rewards):
        running = float(reward) + gamma * running
        returns.append(running)
    return returns[::-1]


def turn_advantages(
    turn_rewards: Sequence[Sequence[float]],
    groups: Groups,
    *,
    gamma: float = 1.0,
    scale: AdvantageScale = "group",
    eps: float = 1e-4,
    std: StdKind = "bessel",
) -> list[torch.Tensor]:
    """Per-turn advantages for multi-turn episodes with a reward per turn.

    For episode ``i`` with turn rewards ``r_{i,1..K_i}`` the return-to-go of turn ``k`` is
    ``G_{i,k} = Σ_{j ≥ k} γ^(j−k) r_{i,j}``. The baseline and scale come from the group's
    *episode* returns ``G_{j,1}`` (the same statistics :func:`group_advantages` uses)::

        A_{i,k} = (G_{i,k} − mean_{j ∈ g(i)} G_{j,1}) / (std_{j ∈ g(i)} G_{j,1} + eps)

    The baseline depends only on the group, never on the action taken at turn ``k``, so the policy
    gradient stays unbiased. With a single terminal reward and ``γ = 1`` every turn gets exactly the
    episode's GRPO advantage; intermediate rewards then move credit towards the turns that earned
    them (a turn after which nothing more is earned gets ``G = 0`` minus the baseline).

    Args:
        turn_rewards: per episode, one reward per model call (turn). Episodes may differ in length.
        groups: the group size G (contiguous groups) or one group id per episode.
        gamma: discount per turn, in ``[0, 1]``.
        scale, eps, std: as in :func:`group_advantages`.

    Returns:
        per episode, one advantage per turn. Each (K_i,)
    """
    if not 0.0 <= gamma <= 1.0:
        raise TrainingConfigError(
            f"gamma={gamma} is outside [0, 1]; use a discount such as 1.0 or 0.99."
        )
    returns = [_returns_to_go(rewards, gamma) for rewards in turn_rewards]
    if any(not episode for episode in returns):
        raise TrainingConfigError(
            "an episode has no turn rewards; give each episode at least one turn."
        )
    episode_returns = torch.tensor([episode[0] for episode in returns], dtype=torch.float64)  # (B,)
    index = _group_index(groups, episode_returns.numel())
    mean, group_std = _group_stats(episode_returns, index, std)  # (B,), (B,)
    if scale == "group":
        denom = group_std + eps
    elif scale == "batch":
        denom = _batch_std(episode_returns, std) + eps
    elif scale == "none":
        denom = torch.ones_like(episode_returns)
    else:
        raise TrainingConfigError(
            f"unknown advantage scale {scale!r}; use 'group', 'batch' or 'none'."
        )
    return [
        (torch.tensor(episode, dtype=torch.float64) - mean[i]) / denom[i]  # (K_i,)
        for i, episode in enumerate(returns)
    ]
