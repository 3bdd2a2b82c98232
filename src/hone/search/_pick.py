"""Small choices shared by the tree searches: argmax with TreeQuest's tie rule, stable ranks,
validated prior averages."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from typing import TypeVar

from hone.errors import ConfigError

__all__ = ["argmax", "check_averages", "rank", "ucb1"]

K = TypeVar("K")


def argmax(items: Iterable[tuple[K, float]]) -> K:
    """The key with the largest value; the first one among equals (TreeQuest's rule)."""
    iterator = iter(items)
    best_key, best_value = next(iterator)
    for key, value in iterator:
        if value > best_value:
            best_key, best_value = key, value
    return best_key


def rank(values: Sequence[float]) -> list[int]:
    """Indices by value, largest first; equal values keep their order (a stable sort)."""
    return sorted(range(len(values)), key=lambda i: -values[i])


def ucb1(mean: float, count: int, total: int) -> float:
    """UCB1 as TreeQuest scores actions: ``mean + √2·√(ln total / count)``; ∞ when unseen."""
    if count == 0:
        return math.inf
    return mean + math.sqrt(2) * math.sqrt(math.log(total) / count)


def check_averages(
    averages: float | Mapping[str, float] | None, *, open_unit: bool = False
) -> float | dict[str, float] | None:
    """Validated ``reward_average_priors``: None, one number, or a number per action;
    ``open_unit`` requires values in (0, 1) (a Beta prior's mean)."""
    if averages is None:
        return None
    if isinstance(averages, bool) or not isinstance(averages, int | float | Mapping):
        raise ConfigError(f"reward_average_priors must be a number or a mapping, got {averages!r}")
    values: dict[str, object] = dict(averages) if isinstance(averages, Mapping) else {"*": averages}
    out: dict[str, float] = {}
    for action, value in values.items():
        if (
            isinstance(value, bool)
            or not isinstance(value, int | float)
            or not math.isfinite(value)
        ):
            raise ConfigError(f"reward_average_priors[{action!r}] is not a number: {value!r}")
        if open_unit and not 0 < value < 1:
            raise ConfigError(
                f"reward_average_priors[{action!r}] = {value}: a Beta prior needs a value in (0, 1)"
            )
        out[str(action)] = float(value)
    return out if isinstance(averages, Mapping) else out["*"]
