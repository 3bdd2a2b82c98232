"""Seeded generators shared by the search tests (the same functions run through TreeQuest)."""

from __future__ import annotations

import random
from collections.abc import Callable
from typing import Any


def generators(
    seed: int, *, actions: tuple[str, ...] = ("A", "B")
) -> dict[str, Callable[[Any], Any]]:
    """GEN draws a Beta score; CONT refines the parent with an action-specific gain."""
    rng = random.Random(seed)

    def make(gain: float) -> Callable[[Any], tuple[list[float], float]]:
        def generate(parent: list[float] | None) -> tuple[list[float], float]:
            if parent is None:
                score = rng.betavariate(2.0, 5.0)
            else:
                score = min(1.0, max(0.0, parent[0] + gain + rng.gauss(0.0, 0.08)))
            return [score], score

        return generate

    return {name: make(0.05 - 0.03 * i) for i, name in enumerate(actions)}
