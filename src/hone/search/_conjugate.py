"""The conjugate posteriors of AB-MCTS-A, as pure functions of :class:`Moments`.

Both follow TreeQuest 0.3.3 exactly:

* **Beta** (Jeffreys prior ``a = b = 0.5``): each score ``r`` adds ``r`` to ``a`` and
  ``1 - r`` to ``b``, so ``a = a0 + Σr`` and ``b = b0 + n - Σr``.
* **Gaussian** with a normal-inverse-χ² prior (``m = 0, κ = 1, ν = 1, τ² = 0.1``; Murphy,
  *Probabilistic Machine Learning: Advanced Topics*, §3.4.3.3): ``κ' = κ + n``,
  ``ν' = ν + n``, ``m' = (κm + nȳ)/κ'``,
  ``τ²' = (ντ² + S + nκ(m - ȳ)²/(κ + n))/ν'`` with ``S`` the sum of squared deviations.

TreeQuest recomputes the Gaussian posterior from the full list of scores at every update
(O(n)); here the moments carry it in O(1).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hone.search._moments import Moments

__all__ = [
    "BetaPrior",
    "GaussianPrior",
    "Prior",
    "draw",
    "draw_all",
    "posterior_params",
    "with_mean",
]


@dataclass(frozen=True, slots=True)
class BetaPrior:
    """A Beta prior over a score in [0, 1]; the default is Jeffreys' (0.5, 0.5)."""

    a: float = 0.5
    b: float = 0.5


@dataclass(frozen=True, slots=True)
class GaussianPrior:
    """A normal-inverse-χ² prior over the mean score: mean ``m``, strength ``kappa``,
    degrees of freedom ``nu``, scale ``tau_square``."""

    m: float = 0.0
    kappa: float = 1.0
    nu: float = 1.0
    tau_square: float = 0.1


Prior = BetaPrior | GaussianPrior


def with_mean(prior: Prior, mean: float) -> Prior:
    """The prior with its average reward set as TreeQuest's ``reward_average_priors`` does:
    ``m = mean`` for a Gaussian, ``a = mean, b = 1 - mean`` for a Beta."""
    if isinstance(prior, GaussianPrior):
        return GaussianPrior(m=mean, kappa=prior.kappa, nu=prior.nu, tau_square=prior.tau_square)
    return BetaPrior(a=mean, b=1.0 - mean)


def posterior_params(prior: Prior, moments: Moments) -> dict[str, float]:
    """The posterior's parameters, named as TreeQuest names them (``a, b`` or
    ``m, kappa, nu, tau_square``)."""
    if isinstance(prior, BetaPrior):
        total = moments.total
        return {"a": prior.a + total, "b": prior.b + moments.n - total}
    m, kappa, nu, tau_square = _gaussian(prior, moments.n, moments.mean, moments.m2)
    return {"m": m, "kappa": kappa, "nu": nu, "tau_square": tau_square}


def _gaussian(
    prior: GaussianPrior, n: int, mean: float, m2: float
) -> tuple[float, float, float, float]:
    """``(m, kappa, nu, tau_square)`` of the posterior after ``n`` scores."""
    if n == 0:
        return prior.m, prior.kappa, prior.nu, prior.tau_square
    kappa, nu = prior.kappa + n, prior.nu + n
    gap = prior.m - mean
    tau_square = (
        prior.nu * prior.tau_square + m2 + n * prior.kappa * gap * gap / (prior.kappa + n)
    ) / nu
    return (prior.kappa * prior.m + n * mean) / kappa, kappa, nu, tau_square


def draw(prior: Prior, moments: Moments, rng: np.random.Generator) -> float:
    """One Thompson draw of the mean score from the posterior."""
    if isinstance(prior, BetaPrior):
        total = moments.n * moments.mean
        return float(rng.beta(prior.a + total, prior.b + moments.n - total))
    m, kappa, nu, tau_square = _gaussian(prior, moments.n, moments.mean, moments.m2)
    # σ² ~ Inv-Gamma(ν/2, scale=ντ²/2), then μ ~ N(m, σ²/κ)
    sigma_square = (nu * tau_square / 2.0) / rng.gamma(nu / 2.0)
    return float(rng.normal(m, math.sqrt(sigma_square / kappa)))


def draw_all(prior: Prior, moments: Sequence[Moments], rng: np.random.Generator) -> np.ndarray:
    """One Thompson draw per posterior, in one vectorised call. (len(moments),)"""
    n = np.array([m.n for m in moments], dtype=float)
    mean = np.array([m.mean for m in moments], dtype=float)
    if isinstance(prior, BetaPrior):
        total = n * mean
        betas: np.ndarray = rng.beta(prior.a + total, prior.b + n - total)
        return betas
    m2 = np.array([m.m2 for m in moments], dtype=float)
    kappa, nu = prior.kappa + n, prior.nu + n
    gap = prior.m - mean
    tau_square = (
        prior.nu * prior.tau_square + m2 + n * prior.kappa * gap * gap / (prior.kappa + n)
    ) / nu
    center = (prior.kappa * prior.m + n * mean) / kappa
    sigma_square = (nu * tau_square / 2.0) / rng.gamma(nu / 2.0)
    normals: np.ndarray = rng.normal(center, np.sqrt(sigma_square / kappa))
    return normals
