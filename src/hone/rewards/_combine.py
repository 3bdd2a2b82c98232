"""Rewards built from other rewards: a weighted sum, and a correctness-gated judge."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Literal

from hone.errors import ConfigError
from hone.rewards._protocol import Reward, RewardResult
from hone.trajectory import Episode

__all__ = ["HybridReward", "WeightedSum"]


def _prefixed(name: str, result: RewardResult) -> dict[str, float]:
    parts = {f"{name}.{k}": v for k, v in result.components.items()}
    if result.value is not None:
        parts[name] = result.value
    return parts


class WeightedSum:
    """``Σ weight_i · reward_i``. If any term has no value, neither has the sum (its error
    names the term). Components hold each term's value under its name.

    Args:
        rewards: named rewards, e.g. ``{"correct": correct, "steps": StepPenalty()}``.
        weights: a weight per name (default 1.0 each).
    """

    def __init__(
        self, rewards: Mapping[str, Reward], weights: Mapping[str, float] | None = None
    ) -> None:
        if not rewards:
            raise ConfigError("WeightedSum needs at least one reward")
        unknown = set(weights or {}) - set(rewards)
        if unknown:
            raise ConfigError(f"weights name rewards that are not given: {sorted(unknown)}")
        self.rewards = dict(rewards)
        self.weights = {name: float((weights or {}).get(name, 1.0)) for name in self.rewards}

    async def score(self, episodes: Sequence[Episode]) -> list[RewardResult]:
        """Score every term on the group, then combine per episode."""
        per_term = await asyncio.gather(*(r.score(episodes) for r in self.rewards.values()))
        out: list[RewardResult] = []
        for i in range(len(episodes)):
            total, components, errors, notes = 0.0, {}, [], []
            for name, results in zip(self.rewards, per_term, strict=True):
                result = results[i]
                components.update(_prefixed(name, result))
                if result.explanation:
                    notes.append(f"{name}: {result.explanation}")
                if result.value is None:
                    errors.append(f"{name}: {result.error or 'no value'}")
                else:
                    total += self.weights[name] * result.value
            explanation = "\n".join(notes) or None
            if errors:
                out.append(RewardResult(None, components, explanation, "; ".join(errors)))
            else:
                out.append(RewardResult(total, components, explanation))
        return out


class HybridReward:
    """Correctness first, quality second: ``gate × (alpha + beta · judge)``.

    The gate (typically a programmatic correctness check scoring 0 or 1) decides whether an
    episode earns anything; among the episodes that pass (gate > 0), a judge — usually a
    :class:`~hone.rewards.GroupJudge` — ranks quality. Only passing episodes are judged, so
    the judge compares correct answers with each other, and a group where nothing passes
    costs no judge call.

    Args:
        gate: the correctness reward (values in [0, 1]).
        judge: the quality reward.
        alpha: the reward of a correct episode the judge scores 0.
        beta: the extra reward of a correct episode the judge scores 1.
        normalize: ``"clip"`` clamps judge scores to [0, 1]; ``"minmax"`` rescales the judged
            episodes' scores to [0, 1] within the group (all equal → 1).
    """

    def __init__(
        self,
        gate: Reward,
        judge: Reward,
        *,
        alpha: float = 0.5,
        beta: float = 0.5,
        normalize: Literal["clip", "minmax"] = "clip",
    ) -> None:
        if normalize not in ("clip", "minmax"):
            raise ConfigError(f"normalize must be 'clip' or 'minmax', got {normalize!r}")
        self.gate = gate
        self.judge = judge
        self.alpha = alpha
        self.beta = beta
        self.normalize = normalize

    async def score(self, episodes: Sequence[Episode]) -> list[RewardResult]:
        """Gate every episode, judge the passing ones, combine."""
        gates = await self.gate.score(episodes)
        passing = [i for i, g in enumerate(gates) if g.value is not None and g.value > 0]
        judged = await self.judge.score([episodes[i] for i in passing]) if passing else []
        scores = self._normalized([r.value for r in judged])
        by_index = dict(zip(passing, zip(judged, scores, strict=True), strict=True))
        out: list[RewardResult] = []
        for i, gate in enumerate(gates):
            components = _prefixed("gate", gate)
            if gate.value is None:
                out.append(
                    RewardResult(None, components, None, f"gate: {gate.error or 'no value'}")
                )
                continue
            if i not in by_index:
                out.append(RewardResult(0.0, components, gate.explanation))
                continue
            result, score = by_index[i]
            components.update(_prefixed("judge", result))
            if score is None:
                error = f"judge: {result.error or 'no value'}"
                out.append(RewardResult(None, components, result.explanation, error))
                continue
            value = gate.value * (self.alpha + self.beta * score)
            out.append(RewardResult(value, components, result.explanation))
        return out

    def _normalized(self, values: list[float | None]) -> list[float | None]:
        if self.normalize == "clip":
            return [None if v is None else min(1.0, max(0.0, v)) for v in values]
        present = [v for v in values if v is not None]
        if not present:
            return values
        low, high = min(present), max(present)
        if high == low:
            return [None if v is None else 1.0 for v in values]
        return [None if v is None else (v - low) / (high - low) for v in values]
