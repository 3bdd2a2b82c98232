"""From one step's scored episodes to the RL training samples, with honest counts.

* Episodes whose reward is ``None`` (the reward failed, or the rollout errored) are left out
  of the group baseline and counted as ``excluded`` — never scored as 0.
* A group whose scored rewards are all equal (or that has fewer than two) carries no learning
  signal: it is skipped and counted.
* Each remaining episode becomes samples with :func:`~hone.trajectory.episode_samples`: one
  sequence for an append-only history, one per prefix break otherwise (breaks are counted).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from hone.errors import CapabilityError
from hone.train._advantages import (
    AdvantageScale,
    group_advantages,
    turn_advantages,
    zero_variance_mask,
)
from hone.train._samples import TrainingSample
from hone.trajectory import Episode, episode_samples

__all__ = ["RLBatch", "RLBatchStats", "build_rl_batch"]

_NO_TOKENS = (
    "RL needs the exact token ids and logprobs of every model call, and {model!r} gave none "
    "(an OpenAI-compatible server without logprobs, or a backend that does not return token "
    "ids). Train from the live policy (leave rl.rollout_model unset), use a server that returns "
    "them (vLLM `return_token_ids`), or use SFT, which works from messages."
)


@dataclass(slots=True)
class RLBatchStats:
    """What happened to one step's episodes.

    Attributes:
        episodes: episodes rolled out.
        scored: episodes with a reward.
        excluded: episodes without a reward (left out of baselines and of training).
        failed: rollouts that raised (``status="error"``; they are also excluded).
        groups: groups (task × role).
        skipped_groups: groups without signal (all rewards equal, or fewer than two).
        prefix_breaks: calls whose prompt did not extend the previous call's prompt + completion.
        samples: training samples built.
        completion_tokens: tokens sampled over all calls.
        reward_mean, reward_std: over scored episodes (NaN when none).
        success: fraction of scored episodes with reward >= the success threshold.
    """

    episodes: int = 0
    scored: int = 0
    excluded: int = 0
    failed: int = 0
    groups: int = 0
    skipped_groups: int = 0
    prefix_breaks: int = 0
    samples: int = 0
    completion_tokens: int = 0
    reward_mean: float = math.nan
    reward_std: float = math.nan
    success: float = math.nan

    def as_metrics(self) -> dict[str, float]:
        """The stats as metric names for the metrics log."""
        return {
            "reward": self.reward_mean,
            "reward_std": self.reward_std,
            "success": self.success,
            "episodes": float(self.episodes),
            "excluded_episodes": float(self.excluded),
            "failed_rollouts": float(self.failed),
            "groups": float(self.groups),
            "skipped_groups": float(self.skipped_groups),
            "prefix_breaks": float(self.prefix_breaks),
            "samples": float(self.samples),
            "completion_tokens": float(self.completion_tokens),
        }


@dataclass(slots=True)
class RLBatch:
    """The samples of one RL step and the counts behind them."""

    samples: list[TrainingSample] = field(default_factory=list)
    stats: RLBatchStats = field(default_factory=RLBatchStats)


def check_token_ids(episodes: Sequence[Episode]) -> None:
    """Raise unless every model call carries prompt ids, sampled ids and logprobs.

    Raises:
        CapabilityError: a call has none (the message says how to get them).
    """
    for episode in episodes:
        for call in episode.calls:
            if not call.has_tokens:
                raise CapabilityError(_NO_TOKENS.format(model=call.model))


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
    check_token_ids(episodes)
    stats = RLBatchStats(episodes=len(episodes))
    stats.failed = sum(e.status == "error" for e in episodes)
    stats.completion_tokens = sum(len(c.token_ids or ()) for e in episodes for c in e.calls)
    groups: dict[tuple[str, str], list[Episode]] = {}
    for episode in episodes:
        groups.setdefault((episode.group_id or episode.task_id, episode.role), []).append(episode)
    stats.groups = len(groups)
    scored = [(gi, e) for gi, group in enumerate(groups.values()) for e in group if _scored(e)]
    stats.scored, stats.excluded = len(scored), len(episodes) - len(scored)
    if not scored:
        stats.skipped_groups = stats.groups
        return RLBatch(stats=stats)
    rewards = torch.tensor([e.reward for _, e in scored], dtype=torch.float64)  # (N,)
    ids = [gi for gi, _ in scored]
    stats.reward_mean = float(rewards.mean())
    stats.reward_std = float(rewards.std()) if len(scored) > 1 else 0.0
    stats.success = float((rewards >= success_threshold).double().mean())
    no_signal = zero_variance_mask(rewards, ids)  # (N,) bool
    with_signal = {gi for (gi, _), flat in zip(scored, no_signal.tolist(), strict=True) if not flat}
    stats.skipped_groups = stats.groups - len(with_signal)
    advantages: list[float | list[float]]
    if per_turn:
        per_episode = turn_advantages(
            [_turn_rewards(e) for _, e in scored], ids, gamma=gamma, scale=scale, eps=eps
        )
        advantages = [a.tolist() for a in per_episode]
    else:
        advantages = group_advantages(rewards, ids, scale=scale, eps=eps).tolist()
    batch = RLBatch(stats=stats)
    for (gi, episode), advantage in zip(scored, advantages, strict=True):
        if gi not in with_signal or not episode.calls:
            continue
        merged = episode_samples(episode, advantage, strict=strict)
        batch.samples.extend(merged.samples)
        stats.prefix_breaks += merged.broken_prefixes
    stats.samples = len(batch.samples)
    return batch
