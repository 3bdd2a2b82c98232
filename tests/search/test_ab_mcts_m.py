"""AB-MCTS-M: TreeQuest's grouping and pruning rule, and the quadrature posterior checked
against brute-force importance sampling (fast) and against NUTS on TreeQuest's own PyMC model
(slow)."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from hone.errors import ConfigError
from hone.search import ABMCTSM, HierarchicalPriors
from hone.search._hierarchical import GroupPosterior, prior_predictive
from hone.search._moments import Moments

from ._landscape import generators

QUANTILES = [0.05, 0.25, 0.5, 0.75, 0.95]


def moments_of(scores: list[float]) -> Moments:
    moments = Moments()
    for score in scores:
        moments.add(score)
    return moments


def grown_tree(strategy: str = "multiarm_bandit_thompson", steps: int = 60) -> tuple[Any, Any]:
    algo: ABMCTSM[Any] = ABMCTSM(model_selection_strategy=strategy)  # type: ignore[arg-type]
    state = algo.init_tree(seed=0)
    gens = generators(2)
    for _ in range(steps):
        state = algo.step(state, gens)
    return algo, state


def test_groups_and_pruning_equal_treequests() -> None:
    """Per node, the groups hone fits (n, mean, spread per child subtree, all actions and per
    action) are those TreeQuest collects, and the pruning verdicts agree."""
    pytest.importorskip("pymc", reason="TreeQuest's AB-MCTS-M module needs its optional deps")
    from treequest.algos.ab_mcts_m.pymc_interface import Observation, PruningConfig, is_prunable
    from treequest.algos.tree import Node as TQNode

    algo, state = grown_tree(steps=80)
    tq_nodes = [TQNode()]
    observations: dict[int, Any] = {}
    for node in state.nodes[1:]:
        parent = tq_nodes[node.parent]
        tq_node = TQNode(state=node.state, score=node.score, expand_idx=node.id - 1, parent=parent)
        parent.children.append(tq_node)
        tq_nodes.append(tq_node)
        observations[node.id - 1] = Observation(node.score, node.action, node.id - 1)
    config = PruningConfig()
    checked = 0
    for node in state.nodes:
        collected = Observation.collect_all_observations_of_descendant(
            tq_nodes[node.id], observations
        )
        for index, child in enumerate(node.children):
            for action in (None, "A", "B"):
                scores = [
                    o.reward
                    for o in collected
                    if o.child_idx == index and (action is None or o.action == action)
                ]
                ours = algo._group(state, child, action)
                assert ours.n == len(scores)
                if scores:
                    assert ours.mean == pytest.approx(np.mean(scores), abs=1e-12)
                    assert ours.m2 == pytest.approx(np.var(scores) * len(scores), abs=1e-12)
            theirs = is_prunable(tq_nodes[child], collected, config)
            assert algo.is_prunable(state, child) == theirs
            checked += 1
    assert checked == len(state)


def importance_quantiles(groups: list[list[float]], draws: int = 2_000_000) -> list[np.ndarray]:
    """Predictive quantiles of every group and of a new one, by brute force: prior samples
    weighted by the likelihood (effective sample size > 20,000 for these cases)."""
    rng = np.random.default_rng(0)
    mu = rng.normal(0.5, 0.2, draws)
    sa = np.abs(rng.normal(0, 0.2, draws))
    sy = np.abs(rng.normal(0, 0.3, draws))
    alphas = [mu + sa * rng.normal(size=draws) for _ in groups]
    log_w = np.zeros(draws)
    for alpha, scores in zip(alphas, groups, strict=True):
        for y in scores:
            log_w += -np.log(sy) - (y - alpha) ** 2 / (2 * sy**2)
    w = np.exp(log_w - log_w.max())
    out = []
    for alpha in [*alphas, mu + sa * rng.normal(size=draws)]:
        y = alpha + sy * rng.normal(size=draws)
        order = np.argsort(y)
        cdf = np.cumsum(w[order]) / w.sum()
        out.append(np.array([y[order][np.searchsorted(cdf, q)] for q in QUANTILES]))
    return out


def posterior_quantiles(
    groups: list[list[float]], option: int | None, draws: int = 20_000
) -> np.ndarray:
    posterior = GroupPosterior(
        [moments_of(g) for g in groups], prior_mean=0.5, priors=HierarchicalPriors()
    )
    rng = np.random.default_rng(1)
    values = np.concatenate([posterior.sample([option] * 100, rng) for _ in range(draws // 100)])
    return np.quantile(values, QUANTILES)


@pytest.mark.parametrize(
    "groups",
    [[[0.3]], [[0.42, 0.5], [0.7]], [[0.2, 0.35], [0.6, 0.55, 0.65]]],
    ids=["one-score", "two-groups", "separated"],
)
def test_posterior_matches_brute_force(groups: list[list[float]]) -> None:
    reference = importance_quantiles(groups)
    for option, theirs in zip([*range(len(groups)), None], reference, strict=True):
        ours = posterior_quantiles(groups, option)
        assert np.abs(ours - theirs).max() < 0.03, (option, ours, theirs)


def test_prior_predictive_is_treequests_prior_model() -> None:
    rng = np.random.default_rng(0)
    values = np.array([prior_predictive(0.5, HierarchicalPriors(), rng) for _ in range(40_000)])
    # mu ~ N(0.5, .2), plus sigma_alpha*z and sigma_y*z: sd = sqrt(.04 + .04 + .09)
    assert values.mean() == pytest.approx(0.5, abs=0.01)
    assert values.std() == pytest.approx(np.sqrt(0.17), abs=0.01)


def test_identical_scores_stay_proper() -> None:
    """Equal scores within every group make the exact σ_y posterior improper at 0; the floor
    keeps draws finite and near the scores."""
    posterior = GroupPosterior(
        [moments_of([0.5, 0.5, 0.5]), moments_of([0.8, 0.8])],
        prior_mean=0.5,
        priors=HierarchicalPriors(),
    )
    draws = posterior.sample([0] * 2000, np.random.default_rng(0))
    assert np.isfinite(draws).all()
    assert np.median(draws) == pytest.approx(0.5, abs=0.05)


def test_pruned_subtree_is_skipped() -> None:
    """A child whose subtree holds four equal scores is never continued into."""
    algo: ABMCTSM[Any] = ABMCTSM()
    state = algo.init_tree(seed=0)
    calls: list[Any] = []

    def flat(parent: Any) -> tuple[Any, float]:
        calls.append(parent)
        return ["flat"], 0.9

    for _ in range(6):
        state = algo.step(state, {"A": flat})
    assert (
        any(algo.is_prunable(state, c) for c in state.root.children) or len(state.root.children) > 1
    )
    for _ in range(30):
        state, trial = algo.ask(state, ["A"])
        assert not algo.is_prunable(state, trial.node_to_expand) or trial.node_to_expand == 0
        algo.fail(state, trial.trial_id, "discarded")


@pytest.mark.parametrize("strategy", ["stack", "multiarm_bandit_thompson", "multiarm_bandit_ucb"])
def test_search_beats_repeated_sampling(strategy: str) -> None:
    """Where refining pays (the landscape's CONT gain is positive), the mean best score over
    three seeds beats as many fresh samples from the same generators."""
    searched, sampled = [], []
    for seed in range(3):
        algo: ABMCTSM[Any] = ABMCTSM(model_selection_strategy=strategy)  # type: ignore[arg-type]
        state = algo.init_tree(seed=seed)
        gens = generators(seed)
        for _ in range(60):
            state = algo.step(state, gens)
        searched.append(state.best().score)
        fresh = generators(seed)
        sampled.append(max(fresh["A"](None)[1] for _ in range(60)))
        assert max(n.depth for n in state.nodes) >= 2
    assert np.mean(searched) > np.mean(sampled)


def test_bad_configuration_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="model_selection_strategy"):
        ABMCTSM(model_selection_strategy="nope")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="prior scale"):
        ABMCTSM(priors=HierarchicalPriors(sigma_y_sigma=0.0))
    with pytest.raises(ConfigError, match="threshold"):
        ABMCTSM(same_score_proportion_threshold=0.0)


@pytest.mark.slow
@pytest.mark.parametrize(
    "groups",
    [
        [[0.42, 0.5, 0.47], [0.7], [0.2, 0.25, 0.3, 0.15, 0.22]],
        [[0.1, 0.9], [0.5, 0.55]],
        [[0.8], [0.75], [0.3], [0.35]],
    ],
    ids=["three-groups", "noisy", "singletons"],
)
def test_posterior_agrees_with_nuts(groups: list[list[float]]) -> None:
    """TreeQuest's own PyMC model sampled with NUTS (4 chains × 4,000 draws) against the
    quadrature: predictive quantiles of every child and of a new child within 0.03, and the
    share of Thompson choices (one independent draw per option, the largest wins, as
    TreeQuest's ``get_score`` does) within 0.03."""
    pytest.importorskip("pymc", reason="the NUTS reference needs PyMC (the bench extra)")
    import pymc as pm
    from pymc.sampling.jax import sample_numpyro_nuts
    from treequest.algos.ab_mcts_m.pymc_interface import Observation, PyMCInterface

    observations = [
        Observation(reward=r, action="A", node_expand_idx=0, child_idx=j)
        for j, scores in enumerate(groups)
        for r in scores
    ]
    interface = PyMCInterface()
    with interface.build_fitting_model(observations, None):
        trace = sample_numpyro_nuts(
            chains=4,
            draws=4000,
            compute_convergence_checks=False,
            idata_kwargs={"log_likelihood": False},
            progressbar=False,
            random_seed=0,
        )
    with interface.build_prediction_model(observations, None):
        predicted = pm.sample_posterior_predictive(
            trace, var_names=["y", "y_new"], progressbar=False, random_seed=1
        ).posterior_predictive
    nuts = [predicted.y.sel(child_idx=j).values.ravel() for j in range(len(groups))]
    nuts.append(predicted.y_new.values.ravel())
    options: list[int | None] = [*range(len(groups)), None]
    posterior = GroupPosterior(
        [moments_of(g) for g in groups], prior_mean=0.5, priors=HierarchicalPriors()
    )
    rng = np.random.default_rng(0)
    ours = np.stack([posterior.sample(options, rng) for _ in range(20_000)])  # (K, options)
    for i in range(len(options)):
        gap = np.abs(np.quantile(nuts[i], QUANTILES) - np.quantile(ours[:, i], QUANTILES))
        assert gap.max() < 0.03, (options[i], gap)
    picks = np.stack(
        [nuts[i][rng.integers(len(nuts[i]), size=20_000)] for i in range(len(options))], 1
    )
    theirs_share = np.bincount(picks.argmax(1), minlength=len(options)) / len(picks)
    ours_share = np.bincount(ours.argmax(1), minlength=len(options)) / len(ours)
    assert np.abs(theirs_share - ours_share).max() < 0.03, (theirs_share, ours_share)
