"""AB-MCTS-M's hierarchical model, integrated by quadrature instead of MCMC.

TreeQuest's model (0.3.3) for the scores ``y`` of the groups ``j`` below a node (one group per
child subtree; a GEN node is a new group)::

    μ_α ~ N(prior_mean, 0.2²)      σ_α ~ HalfNormal(0.2)      σ_y ~ HalfNormal(0.3)
    α_j ~ N(μ_α, σ_α²)             y_ji ~ N(α_j, σ_y²)

TreeQuest fits it with NUTS (4 chains) at every node of every selection path. With
``(σ_α, σ_y)`` fixed the model is conjugate Gaussian: a group enters only through its count
``n_j``, mean ``ȳ_j`` and sum of squared deviations ``S_j``, the group means and ``μ_α``
integrate out in closed form, and what is left is a two-dimensional posterior over
``(log σ_α, log σ_y)``. That is evaluated on a grid: a coarse pass finds where the mass is, a
fine pass over that box holds the weights. A draw picks a fine cell by weight, jitters inside it,
then draws ``μ_α``, ``α_j`` and the score exactly from their Gaussian conditionals.

Both scales are floored at ``SIGMA_FLOOR``: when every group's scores are identical the exact
posterior of ``σ_y`` is improper at 0 (NUTS then reports divergences), and scores in [0, 1]
need no finer resolution.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from hone.search._moments import Moments

__all__ = ["SIGMA_FLOOR", "GroupPosterior", "HierarchicalPriors", "prior_predictive"]

#: The smallest σ_α and σ_y the grid covers.
SIGMA_FLOOR = 1e-3
#: Grid points per axis, coarse pass and fine pass.
_COARSE = 32
_FINE = 48
#: The fine box holds every coarse cell within this many log units of the best one.
_LOG_WINDOW = 23.0
#: The grid reaches this many prior scales above 0.
_UPPER = 6.0


@dataclass(frozen=True, slots=True)
class HierarchicalPriors:
    """The hyperprior scales of TreeQuest's model (its ``ABMCTSMAdvancedConfig``)."""

    #: Standard deviation of μ_α around the prior mean.
    mu_alpha_sigma: float = 0.2
    #: HalfNormal scale of σ_α (spread between groups).
    sigma_alpha_sigma: float = 0.2
    #: HalfNormal scale of σ_y (spread within a group).
    sigma_y_sigma: float = 0.3


def prior_predictive(
    prior_mean: float, priors: HierarchicalPriors, rng: np.random.Generator
) -> float:
    """One score drawn from the model before any observation (TreeQuest's prior model)."""
    mu = rng.normal(prior_mean, priors.mu_alpha_sigma)
    sigma_alpha = abs(rng.normal(0.0, priors.sigma_alpha_sigma))
    sigma_y = abs(rng.normal(0.0, priors.sigma_y_sigma))
    alpha = mu + sigma_alpha * rng.normal()
    return float(rng.normal(alpha, sigma_y))


class GroupPosterior:
    """The posterior of the model given groups of scores, ready to draw predictions from.

    Building it costs O(grid × groups); each draw costs O(groups).
    """

    def __init__(
        self, groups: Sequence[Moments], *, prior_mean: float, priors: HierarchicalPriors
    ) -> None:
        if not groups or any(g.n < 1 for g in groups):
            raise ValueError("GroupPosterior needs at least one group, each with a score")
        self._n = np.array([g.n for g in groups], dtype=float)  # (J,)
        self._mean = np.array([g.mean for g in groups], dtype=float)  # (J,)
        self._ss = np.array([max(g.m2, 0.0) for g in groups], dtype=float)  # (J,)
        self._m0 = prior_mean
        self._s0_sq = priors.mu_alpha_sigma**2
        self._priors = priors
        lo = math.log(SIGMA_FLOOR)
        box = (lo, math.log(_UPPER * priors.sigma_alpha_sigma))
        box_y = (lo, math.log(_UPPER * priors.sigma_y_sigma))
        u, w, lp = self._grid(box, box_y, _COARSE)
        box, box_y = _mass_box(u, w, lp, box, box_y)
        self._u, self._w, lp = self._grid(box, box_y, _FINE)
        self._du = (box[1] - box[0]) / (_FINE - 1)
        self._dw = (box_y[1] - box_y[0]) / (_FINE - 1)
        weights = np.exp(lp - lp.max())
        self._cdf = np.cumsum(weights / weights.sum())  # (G,)

    def _grid(
        self, box_u: tuple[float, float], box_w: tuple[float, float], size: int
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Flattened grid coordinates (log σ_α, log σ_y) and their log posterior. (G,) each"""
        uu, ww = np.meshgrid(np.linspace(*box_u, size), np.linspace(*box_w, size), indexing="ij")
        u, w = uu.ravel(), ww.ravel()
        return u, w, self._log_posterior(u, w)

    def _log_posterior(self, u: np.ndarray, w: np.ndarray) -> np.ndarray:
        """log p(log σ_α, log σ_y | data) up to a constant, μ_α and the α_j integrated out."""
        sa_sq, sy_sq = np.exp(2 * u), np.exp(2 * w)  # (G,)
        priors = self._priors
        # HalfNormal log densities plus the log-scale Jacobians (+u, +w).
        lp: np.ndarray = -sa_sq / (2 * priors.sigma_alpha_sigma**2) + u
        lp += -sy_sq / (2 * priors.sigma_y_sigma**2) + w
        # Within-group spread: Π_j σ_y^-(n_j-1) exp(-S_j / 2σ_y²).
        lp += -(self._n.sum() - len(self._n)) * w - self._ss.sum() / (2 * sy_sq)
        # Group means: ȳ_j ~ N(μ_α, v_j), v_j = σ_α² + σ_y²/n_j, with μ_α integrated out.
        precision = 1.0 / (sa_sq[:, None] + sy_sq[:, None] / self._n[None, :])  # (G, J)
        total = 1.0 / self._s0_sq + precision.sum(axis=1)  # (G,)
        center = (self._m0 / self._s0_sq + precision @ self._mean) / total  # (G,)
        spread = (precision * (self._mean[None, :] - center[:, None]) ** 2).sum(axis=1)
        spread += (self._m0 - center) ** 2 / self._s0_sq
        lp += 0.5 * np.log(precision).sum(axis=1) - 0.5 * np.log(total) - 0.5 * spread
        return lp

    def sample(self, options: Sequence[int | None], rng: np.random.Generator) -> np.ndarray:
        """One predictive score per option, each from its own posterior draw: an int is a
        group's index (its next score), None a new group (a GEN node). (K,)"""
        k = len(options)
        cells = np.searchsorted(self._cdf, rng.random(k), side="right").clip(0, len(self._cdf) - 1)
        u = self._u[cells] + (rng.random(k) - 0.5) * self._du  # (K,)
        w = self._w[cells] + (rng.random(k) - 0.5) * self._dw
        sa_sq, sy_sq = np.exp(2 * u), np.exp(2 * w)
        precision = 1.0 / (sa_sq[:, None] + sy_sq[:, None] / self._n[None, :])  # (K, J)
        total = 1.0 / self._s0_sq + precision.sum(axis=1)
        center = (self._m0 / self._s0_sq + precision @ self._mean) / total
        mu = rng.normal(center, np.sqrt(1.0 / total))  # (K,)
        out = np.empty(k)
        for i, option in enumerate(options):
            if option is None:
                alpha = rng.normal(mu[i], math.sqrt(sa_sq[i]))
            else:
                n = self._n[option]
                group_precision = 1.0 / sa_sq[i] + n / sy_sq[i]
                group_mean = (
                    mu[i] / sa_sq[i] + n * self._mean[option] / sy_sq[i]
                ) / group_precision
                alpha = rng.normal(group_mean, math.sqrt(1.0 / group_precision))
            out[i] = rng.normal(alpha, math.sqrt(sy_sq[i]))
        return out


def _mass_box(
    u: np.ndarray,
    w: np.ndarray,
    lp: np.ndarray,
    box_u: tuple[float, float],
    box_w: tuple[float, float],
) -> tuple[tuple[float, float], tuple[float, float]]:
    """The box around the coarse cells holding the mass, padded by one coarse cell."""
    keep = lp >= lp.max() - _LOG_WINDOW
    pad_u = (box_u[1] - box_u[0]) / (_COARSE - 1)
    pad_w = (box_w[1] - box_w[0]) / (_COARSE - 1)
    return (
        (max(box_u[0], u[keep].min() - pad_u), min(box_u[1], u[keep].max() + pad_u)),
        (max(box_w[0], w[keep].min() - pad_w), min(box_w[1], w[keep].max() + pad_w)),
    )
