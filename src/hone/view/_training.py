"""What the trainer makes of episodes: each one's group advantage and loss masks.

The numbers come from :mod:`hone.train`'s own functions (``group_advantages``,
``zero_variance_mask``, ``episode_samples``) with the defaults of ``RLConfig``, grouped as
``build_rl_batch`` groups them (by group and role, scored episodes only), so the viewer shows
what a default ``hone train`` run trains on. Without ``torch`` (the ``train`` extra) the viewer
still works; it only leaves these numbers out and says why.
"""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Sequence
from dataclasses import dataclass

from hone.errors import HoneError
from hone.trajectory import Episode

__all__ = ["TRAIN_MISSING", "Advantage", "episode_advantages", "loss_masks", "train_available"]

#: What the page says when ``hone.train`` cannot be imported.
TRAIN_MISSING = "needs torch (pip install 'hone[train]')"


@dataclass(frozen=True, slots=True)
class Advantage:
    """An episode's advantage, or None with the reason (``note``) it has none."""

    value: float | None
    note: str = ""


def train_available() -> bool:
    """Whether :mod:`hone.train` (torch) can be imported."""
    return importlib.util.find_spec("torch") is not None


def _scored(episode: Episode) -> bool:
    return episode.reward is not None and math.isfinite(episode.reward)


def episode_advantages(episodes: Sequence[Episode]) -> dict[str, Advantage]:
    """Each episode's group-relative advantage (by id), as ``hone train`` computes it with
    ``RLConfig``'s defaults; episodes left out of training carry the reason."""
    if not train_available():
        return {e.id: Advantage(None, TRAIN_MISSING) for e in episodes}
    # Imported here: torch is the optional `train` extra, and the viewer works without it.
    import torch

    from hone.train import RLConfig, group_advantages, zero_variance_mask

    defaults = RLConfig.model_fields
    scale, eps = defaults["advantage_scale"].default, defaults["advantage_eps"].default
    groups: dict[tuple[str, str], int] = {}
    scored: list[tuple[int, Episode]] = []
    result: dict[str, Advantage] = {}
    for episode in episodes:
        key = (episode.group_id or episode.task_id, episode.role)
        index = groups.setdefault(key, len(groups))
        if _scored(episode):
            scored.append((index, episode))
        else:
            result[episode.id] = Advantage(None, "excluded: no reward")
    if not scored:
        return result
    rewards = torch.tensor([e.reward for _, e in scored], dtype=torch.float64)  # (N,)
    ids = [index for index, _ in scored]
    values = group_advantages(rewards, ids, scale=scale, eps=eps).tolist()
    flat = zero_variance_mask(rewards, ids).tolist()
    for (_, episode), value, no_signal in zip(scored, values, flat, strict=True):
        note = "no signal: every reward in its group is equal" if no_signal else ""
        result[episode.id] = Advantage(float(value), note)
    return result


def loss_masks(episode: Episode) -> list[list[bool]] | None:
    """The trainer's loss mask for each of ``episode``'s token sequences, or None when the
    episode cannot be trained on (no token ids) or ``hone.train`` is missing."""
    if not train_available() or not episode.calls:
        return None
    from hone.train import episode_samples

    try:
        merged = episode_samples(episode, 0.0)
    except HoneError:  # a call without token ids or logprobs, or too short to train on
        return None
    return [list(sample.loss_mask) for sample in merged.samples]
