"""From one step's scored episodes to the RL training samples, with honest counts.

* Episodes whose reward is ``None`` (the reward failed, or the rollout errored) are left out
  of the group baseline and counted as ``excluded`` — never scored as 0.
* A group whose scored rewards are all equal (or that has fewer than two) carries no learning
  signal: it is skipped and counted.
* With ``max_staleness``, episodes with a call generated more than that many policy versions
  behind ``policy_version`` are dropped before the baselines (counted as ``stale``).
* Each remaining episode becomes samples with :func:`~hone.train.episode_samples`: one
  sequence for an append-only history, one per prefix break otherwise (breaks are counted).

:func:`mix_successes` puts successful episodes found elsewhere (by search) into the groups
of rollouts that have none, before :func:`build_rl_batch`, so such a group has a success to
compute advantages against.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

import torch

from hone.errors import CapabilityError, TrainingConfigError
from hone.train._advantages import (
    AdvantageScale,
    group_advantages,
    turn_advantages,
    zero_variance_mask,
)
from hone.train._metrics import CallCounts, RolloutMetrics
from hone.train._roles import RolesConfig
from hone.train._samples import TrainingSample, episode_samples
from hone.trajectory import Episode, require_token_ids

__all__ = ["MixMode", "MixedGroups", "RLBatch", "build_rl_batch", "mix_successes"]


@dataclass(slots=True)
class RLBatch:
    """The samples of one RL step and the counts behind them.

    ``roles`` holds the role of each sample's episode (parallel to ``samples``), so one
    policy per role can take its own.
    """

    samples: list[TrainingSample] = field(default_factory=list)
    metrics: RolloutMetrics = field(default_factory=RolloutMetrics)
    roles: list[str] = field(default_factory=list)


def _scored(episode: Episode) -> bool:
    return episode.reward is not None and math.isfinite(episode.reward)


def _lag(episode: Episode, current: int) -> int:
    """How many versions the oldest call of ``episode`` is behind ``current`` (0 when no call
    carries an integer version)."""
    versions = [c.policy_version for c in episode.calls]
    known = [v for v in versions if isinstance(v, int) and not isinstance(v, bool)]
    return max((current - v for v in known), default=0)


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
    policy_version: int | None = None,
    max_staleness: int | None = None,
    roles: RolesConfig | None = None,
) -> RLBatch:
    """Advantages and samples for one step's episodes (grouped by ``(group_id, role)``).

    ``roles`` (:class:`~hone.train.RolesConfig`) trains only the roles it names (the others'
    episodes are left out before anything is counted), groups by ``(group_id, pool)`` where
    several roles share a pool, and scales each role's sample weights.

    ``policy_version`` is the trainer's current version (its step count); with
    ``max_staleness``, episodes more than that many versions behind it are dropped.

    Raises:
        CapabilityError: a model call has no token ids or logprobs.
        PrefixPropertyError: ``strict`` and a call's prompt does not extend the history.
    """
    if roles is not None:
        episodes = [e for e in episodes if roles.trained(e.role)]
    pool = roles.pool if roles is not None else str
    for episode in episodes:
        require_token_ids(episode.calls, where=f"episode {episode.id}")
    metrics = RolloutMetrics(episodes=len(episodes), counts=CallCounts.of(episodes))
    metrics.failed = sum(e.status == "error" for e in episodes)
    metrics.completion_tokens = sum(len(c.token_ids or ()) for e in episodes for c in e.calls)
    lags = [_lag(e, policy_version) if policy_version is not None else 0 for e in episodes]
    metrics.policy_lag = max(lags, default=0)
    stale = {id(e) for e, lag in zip(episodes, lags, strict=True) if _too_old(lag, max_staleness)}
    metrics.stale = len(stale)
    groups: dict[tuple[str, str], list[Episode]] = {}
    for episode in episodes:
        key = (episode.group_id or episode.task_id, pool(episode.role))
        groups.setdefault(key, []).append(episode)
    metrics.groups = len(groups)
    scored = [
        (gi, e)
        for gi, group in enumerate(groups.values())
        for e in group
        if _scored(e) and id(e) not in stale
    ]
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
        weight = roles.weight(episode.role) if roles is not None else 1.0
        batch.samples.extend(
            dataclasses.replace(s, weight=s.weight * weight) if weight != 1.0 else s
            for s in merged.samples
        )
        batch.roles.extend(episode.role for _ in merged.samples)
        metrics.prefix_breaks += merged.broken_prefixes
    metrics.samples = len(batch.samples)
    return batch


def _too_old(lag: int, max_staleness: int | None) -> bool:
    return max_staleness is not None and lag > max_staleness


#: How an episode found elsewhere enters a group: ``join`` adds it (the group grows by one);
#: ``replace`` takes the group's last failed rollout out to make room (the group keeps its size).
MixMode = Literal["join", "replace"]


@dataclass(slots=True)
class MixedGroups:
    """Rollout groups with successes found elsewhere mixed in (:func:`mix_successes`).

    Attributes:
        episodes: what :func:`build_rl_batch` takes: the rollouts group by group, each group
            followed by the episode it was given.
        joined: the episodes given to a group: copies of the offered ones carrying the group's
            ``group_id`` and ``metadata["mixed_in"]`` (source, mode, group, replaced rollout).
        displaced: rollouts taken out of their group to make room (``mode="replace"``): kept
            here, not trained on.
        skipped: offered episodes not used, each with the reason.
    """

    episodes: list[Episode] = field(default_factory=list)
    joined: list[Episode] = field(default_factory=list)
    displaced: list[Episode] = field(default_factory=list)
    skipped: list[tuple[Episode, str]] = field(default_factory=list)


def mix_successes(
    episodes: Sequence[Episode],
    found: Sequence[Episode],
    *,
    threshold: float = 1.0,
    mode: MixMode = "join",
    only_unsolved: bool = True,
    source: str = "search",
) -> MixedGroups:
    """Give each group of ``episodes`` without a success one successful episode of ``found``.

    Groups are those of :func:`build_rl_batch` (``group_id``, else ``task_id``, and role); an
    offered episode goes to the first group of its task and role that has no episode at
    ``threshold`` (with ``only_unsolved=False``: any group) and has not been given one yet.
    When several are offered for one group, the highest reward wins, then the fewest model
    calls, then the earliest. The episode is trained on like any rollout: its advantage is
    its group's, and its recorded logprobs and policy versions are the behaviour policy's
    (the importance ratio and ``max_staleness`` treat it as they treat rollouts). What cannot
    be used is returned in ``skipped`` with the reason, never raised: an episode that failed,
    has no reward, is below ``threshold``, has no model calls or no token ids, or whose task
    has no open group in ``episodes``. Neither input is modified.

    Raises:
        TrainingConfigError: ``mode`` is not ``join`` or ``replace``.
    """
    if mode not in ("join", "replace"):
        raise TrainingConfigError(f"mode must be 'join' or 'replace', got {mode!r}")
    groups: dict[tuple[str, str], list[Episode]] = {}
    for episode in episodes:
        groups.setdefault((episode.group_id or episode.task_id, episode.role), []).append(episode)
    by_task: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for key, group in groups.items():
        by_task.setdefault((group[0].task_id, key[1]), []).append(key)
    out = MixedGroups()
    usable: list[Episode] = []
    for episode in found:
        problem = _unusable(episode, threshold)
        if problem is None:
            usable.append(episode)
        else:
            out.skipped.append((episode, problem))
    given: set[tuple[str, str]] = set()
    for episode in best_first(usable):
        keys = by_task.get((episode.task_id, episode.role), [])
        open_keys = [
            k
            for k in keys
            if k not in given and not (only_unsolved and _solved(groups[k], threshold))
        ]
        if not open_keys:
            out.skipped.append((episode, _closed(episode, keys, given)))
            continue
        key = open_keys[0]
        group = groups[key]
        group_id = group[0].group_id
        replaced: Episode | None = None
        if mode == "replace":
            failures = [i for i, e in enumerate(group) if not succeeded(e, threshold)]
            if not failures:
                out.skipped.append((episode, "its group has no failed rollout to replace"))
                continue
            replaced = group.pop(failures[-1])
            out.displaced.append(replaced)
        mixed_in = {
            "source": source,
            "mode": mode,
            "group_id": key[0],
            "replaced": replaced.id if replaced is not None else None,
        }
        copy = dataclasses.replace(
            episode,
            group_id=group_id,
            metadata={**episode.metadata, "mixed_in": mixed_in},
        )
        group.append(copy)
        given.add(key)
        out.joined.append(copy)
    out.episodes = [episode for group in groups.values() for episode in group]
    return out


def succeeded(episode: Episode, threshold: float) -> bool:
    """Whether ``episode`` ran, was scored and reached ``threshold``."""
    return (
        episode.status != "error" and _scored(episode) and float(episode.reward or 0.0) >= threshold
    )


def best_first(episodes: Sequence[Episode]) -> list[Episode]:
    """``episodes`` best first: highest reward, then fewest model calls, then the earliest."""
    ranked = sorted(
        enumerate(episodes),
        key=lambda item: (-float(item[1].reward or 0.0), len(item[1].calls), item[0]),
    )
    return [episode for _, episode in ranked]


def _solved(group: Sequence[Episode], threshold: float) -> bool:
    return any(succeeded(e, threshold) for e in group)


def _unusable(episode: Episode, threshold: float) -> str | None:
    """Why ``episode`` cannot join a group as a success, or None."""
    if episode.status == "error":
        return f"episode {episode.id} failed ({episode.error or 'no error text'})"
    if not _scored(episode):
        return f"episode {episode.id} has no reward"
    if float(episode.reward or 0.0) < threshold:
        return (
            f"episode {episode.id} has reward {episode.reward:g}, below the threshold {threshold:g}"
        )
    if not episode.calls:
        return f"episode {episode.id} has no model calls to train on"
    try:
        require_token_ids(episode.calls, where=f"episode {episode.id}")
    except CapabilityError as exc:
        return str(exc)
    return None


def _closed(episode: Episode, keys: Sequence[tuple[str, str]], given: set[tuple[str, str]]) -> str:
    """Why no group of ``keys`` is open to ``episode``."""
    if not keys:
        return f"no group of task {episode.task_id!r} (role {episode.role!r}) among the rollouts"
    if all(k in given for k in keys):
        return f"the group of task {episode.task_id!r} was already given a better episode"
    return f"the group of task {episode.task_id!r} already has a success"
