"""From one step's scored episodes to the RL training samples, with honest counts.

* Episodes whose reward is ``None`` (the reward failed, or the rollout errored) are left out
  of the group baseline and counted as ``excluded`` — never scored as 0.
* A group whose scored rewards are all equal (or that has fewer than two) carries no learning
  signal: it is skipped and counted.
* Each remaining episode becomes samples with :func:`~hone.train.episode_samples`: one
  sequence for an append-only history, one per prefix break otherwise (breaks are counted).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from hone.train._advantages import (
    AdvantageScale,
    group_advantages,
    turn_advantages,
    zero_variance_mask,
)
from hone.train._metrics import CallCounts, RolloutMetrics
from hone.train._samples import TrainingSample, episode_samples
from hone.trajectory import Episode, require_token_ids

__all__ = ["RLBatch", "build_rl_batch"]


@dataclass(slots=True)
class RLBatch:
    """The samples of one RL step and the counts behind them."""

    samples: list[TrainingSample] = field(default_factory=list)
    metrics: RolloutMetrics = field(default_factory=RolloutMetrics)


def _scored(episode: Episode) -> bool:
    return episode.reward is not None and math.isfinite(episode.reward)


def _turn_rewards(episode: Episode) -> list[float]:
    """Per-call rewards with the episode reward added to the last turn."""
    final = float(episode.reward or 0.0)  # only scored episodes get here
    if not episode.calls:
        return [final]
    rewards = [c.reward or 0.0 for c in episode.calls]
    rewards[-1] += final
    return rewards


def build_rl_batch(
    episodes: Sequence[Episode],
    *,
    scale: AdvantageScale = "group",
    eps: float = 1e-4,
    per_turn: bool = False,
    gamma: float = 1.0,
    strict: bool = False,
    success_threshold: float = 1.0,
) -> RLBatch:
    """Advantages and samples for one step's episodes (grouped by ``(group_id, role)``).

    Raises:
        CapabilityError: a model call has no token ids or logprobs.
        PrefixPropertyError: ``strict`` and a call's prompt does not extend the history.
    """
    for episode in episodes:
        require_token_ids(episode.calls, where=f"episode {episode.id}")
    metrics = RolloutMetrics(episodes=len(episodes), counts=CallCounts.of(episodes))
    metrics.failed = sum(e.status == "error" for e in episodes)
    metrics.completion_tokens = sum(len(c.token_ids or ()) for e in episodes for c in e.calls)
    groups: dict[tuple[str, str], list[Episode]] = {}
    for episode in episodes:
        groups.setdefault((episode.group_id or episode.task_id, episode.role), []).append(episode)
    metrics.groups = len(groups)
    scored = [(gi, e) for gi, group in enumerate(groups.values()) for e in group if _scored(e)]
    metrics.scored, metrics.excluded = len(scored), len(episodes) - len(scored)
    if not scored:
        metrics.skipped_groups = metrics.groups
        return RLBatch(metrics=metrics)
    rewards = torch.tensor([e.reward for _, e in scored], dtype=torch.float64)  # (N,)
    ids = [gi for gi, _ in scored]
    metrics.reward_mean = float(rewards.mean())
    metrics.reward_std = float(rewards.std()) if len(scored) > 1 else 0.0
    metrics.success = float((rewards >= success_threshold).double().mean())
    no_signal = zero_variance_mask(rewards, ids)  # (N,) bool
    with_signal = {gi for (gi, _), flat in zip(scored, no_signal.tolist(), strict=True) if not flat}
    metrics.skipped_groups = metrics.groups - len(with_signal)
    advantages: list[float | list[float]]
    if per_turn:
        per_episode = turn_advantages(
            [_turn_rewards(e) for _, e in scored], ids, gamma=gamma, scale=scale, eps=eps
        )
        advantages = [a.tolist() for a in per_episode]
    else:
        advantages = group_advantages(rewards, ids, scale=scale, eps=eps).tolist()
    batch = RLBatch(metrics=metrics)
    for (gi, episode), advantage in zip(scored, advantages, strict=True):
        if gi not in with_signal or not episode.calls:
            continue
        merged = episode_samples(episode, advantage, strict=strict)
        batch.samples.extend(merged.samples)
        metrics.prefix_breaks += merged.broken_prefixes
    metrics.samples = len(batch.samples)
    return batch
