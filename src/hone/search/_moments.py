"""Running moments of a stream of scores: the sufficient statistics every posterior uses.

Updates are O(1) (Welford's algorithm); two summaries combine exactly (Chan et al.), which is
how in-flight trials are counted as virtual observations without touching the real ones.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Moments"]


@dataclass(slots=True)
class Moments:
    """Count, mean and sum of squared deviations (``m2``) of the scores seen so far."""

    n: int = 0
    mean: float = 0.0
    m2: float = 0.0

    def add(self, x: float) -> None:
        """Observe one score."""
        self.n += 1
        delta = x - self.mean
        self.mean += delta / self.n
        self.m2 += delta * (x - self.mean)

    @property
    def total(self) -> float:
        """The sum of the scores."""
        return self.n * self.mean

    def with_virtual(self, count: int, value: float) -> Moments:
        """These moments plus ``count`` observations of ``value`` (a new object)."""
        if count <= 0:
            return self
        n = self.n + count
        delta = value - self.mean
        return Moments(
            n=n,
            mean=self.mean + delta * count / n,
            m2=self.m2 + delta * delta * self.n * count / n,
        )

    def copy(self) -> Moments:
        """An independent copy."""
        return Moments(self.n, self.mean, self.m2)
