"""AB-MCTS-A against TreeQuest 0.3.3: every posterior equal to TreeQuest's recomputation.

Trees are recorded by running TreeQuest itself with seeded generators; hone then replays the
same expansions (parent, action, score, in order) and every arm's posterior is compared with
the parameters TreeQuest holds for it, to 1e-9.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from hone.errors import ConfigError
from hone.search import ABMCTSA, BetaPrior, GaussianPrior
from hone.search._moments import Moments
from hone.search._state import open_trial

from ._landscape import generators

tq = pytest.importorskip("treequest", reason="the parity tests compare with TreeQuest")

STRATEGIES = ["stack", "multiarm_bandit_thompson", "multiarm_bandit_ucb"]


def record(dist: str, strategy: str, seed: int, steps: int, **kwargs: Any) -> tuple[Any, Any]:
    """Run TreeQuest's ABMCTSA (its randomness seeded) and return it with its state."""
    np.random.seed(seed)
    algo = tq.ABMCTSA(dist_type=dist, model_selection_strategy=strategy, **kwargs)
    state = algo.init_tree()
    gens = generators(seed)
    for _ in range(steps):
        state = algo.step(state, gens, inplace=True)
    return algo, state


def replay(tq_state: Any, algo: ABMCTSA[Any]) -> tuple[Any, dict[int, int]]:
    """The same expansions, in order, through hone's ask/tell machinery."""
    state = algo.init_tree(seed=0)
    ids = {-1: 0}
    for node in tq_state.tree.get_nodes()[1:]:
        parent = tq_state.thompson_states.get(node.parent)
        action = parent.child_node_to_action[node.expand_idx]
        trial = open_trial(state, ids[node.parent.expand_idx], action)
        algo.tell(state, trial.trial_id, (node.state, node.score))
        ids[node.expand_idx] = len(state.nodes) - 1
    return state, ids


def close(theirs: dict[str, float], ours: dict[str, float]) -> None:
    assert theirs.keys() == ours.keys()
    for key in theirs:
        assert ours[key] == pytest.approx(theirs[key], abs=1e-9, rel=0), key


def compare_posteriors(tq_state: Any, algo: ABMCTSA[Any], state: Any, ids: dict[int, int]) -> int:
    """Compare every arm TreeQuest holds; return how many parameter sets were compared."""
    compared = 0
    empty = Moments()
    for expand_idx, probs in tq_state.thompson_states.states.items():
        node = tq_state.tree.get_node(expand_idx)
        ours = algo.arm_posteriors(state, ids[expand_idx])
        for key, arms in probs.gen_vs_cont_probas.items():
            for arm in ("GEN", "CONT"):
                mine = ours[arm.lower()].get(key)
                if mine is None:  # never observed: still the prior
                    mine = algo.arm_posteriors(algo.init_tree(), 0)["gen"].get(key) or _prior(
                        algo, empty
                    )
                close(arms[arm].params, mine)
                compared += 1
        for action, dist in probs.action_probas.items():
            mine = ours["actions"].get(action) or _prior(algo, empty, action)
            close(dist.params, mine)
            compared += 1
        for key, table in probs.node_probas.items():
            assert len(table) == len(ours["children"].get(key, {}))
            for child_index, dist in table.items():
                child = node.children[child_index]
                close(dist.params, ours["children"][key][ids[child.expand_idx]])
                compared += 1
    return compared


def _prior(algo: ABMCTSA[Any], empty: Moments, action: str | None = None) -> dict[str, float]:
    from hone.search._conjugate import posterior_params

    prior = algo.action_prior(action) if action is not None else algo.prior
    return posterior_params(prior, empty)


@pytest.mark.parametrize("dist", ["gaussian", "beta"])
@pytest.mark.parametrize("strategy", STRATEGIES)
@pytest.mark.parametrize("seed", [0, 1])
def test_every_posterior_equals_treequest(dist: str, strategy: str, seed: int) -> None:
    _, tq_state = record(dist, strategy, seed, steps=50)
    algo: ABMCTSA[Any] = ABMCTSA(dist, model_selection_strategy=strategy)  # type: ignore[arg-type]
    state, ids = replay(tq_state, algo)
    compared = compare_posteriors(tq_state, algo, state, ids)
    assert compared >= 50
    # The tree-wide per-action posteriors (what multiarm Thompson samples) agree too.
    for action, scores in tq_state.all_rewards_store.items():
        pd = tq.algos.ab_mcts_a.prob_state.ProbabilisticDist(
            tq.algos.ab_mcts_a.prob_state.PriorConfig(dist_type=dist)
        )
        for score in scores:
            pd.tell_observation(score)
        close(pd.params, algo.action_posteriors(state)[action])


def test_reward_average_priors_match_treequest() -> None:
    averages = {"A": 0.7, "B": 0.2}
    _, tq_state = record("gaussian", "stack", 3, steps=40, reward_average_priors=averages)
    algo: ABMCTSA[Any] = ABMCTSA(model_selection_strategy="stack", reward_average_priors=averages)
    state, ids = replay(tq_state, algo)
    assert compare_posteriors(tq_state, algo, state, ids) >= 40
    assert algo.action_prior("A") == GaussianPrior(m=0.7)
    assert ABMCTSA("beta", reward_average_priors=0.3).action_prior("x") == BetaPrior(0.3, 0.7)


def test_selection_frequencies_match_treequest() -> None:
    """On one recorded tree, hone's choices (node, action) are drawn with TreeQuest's
    probabilities: 1,500 asks each, frequencies within 0.05."""
    _, tq_state = record("beta", "multiarm_bandit_thompson", 5, steps=12)
    algo: ABMCTSA[Any] = ABMCTSA("beta")
    state, ids = replay(tq_state, algo)
    inverse = {v: k for k, v in ids.items()}
    tq_algo = tq.ABMCTSA(dist_type="beta")
    np.random.seed(0)
    theirs: dict[tuple[int, str], int] = {}
    ours: dict[tuple[int, str], int] = {}
    asks = 1500
    for _ in range(asks):
        node, action = tq_algo._get_expand_node_and_action(tq_state, ["A", "B"])
        theirs[(node.expand_idx, action)] = theirs.get((node.expand_idx, action), 0) + 1
        node_id, our_action = algo._choose(state, ["A", "B"])
        key = (inverse[node_id], our_action)
        ours[key] = ours.get(key, 0) + 1
    for key in set(theirs) | set(ours):
        assert abs(theirs.get(key, 0) - ours.get(key, 0)) / asks < 0.05, key


def test_updates_are_constant_time_sufficient_statistics() -> None:
    moments = Moments()
    values = np.random.default_rng(0).random(1000)
    for value in values:
        moments.add(float(value))
    assert moments.n == 1000
    assert moments.mean == pytest.approx(values.mean(), abs=1e-12)
    assert moments.m2 == pytest.approx(values.var() * 1000, abs=1e-9)
    both = Moments()
    for value in values[:10]:
        both.add(float(value))
    virtual = both.with_virtual(3, 0.25)
    direct = Moments()
    for value in [*values[:10], 0.25, 0.25, 0.25]:
        direct.add(float(value))
    assert (virtual.n, virtual.mean) == (direct.n, pytest.approx(direct.mean))
    assert virtual.m2 == pytest.approx(direct.m2)


def test_bad_configuration_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="dist_type"):
        ABMCTSA("poisson")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="model_selection_strategy"):
        ABMCTSA(model_selection_strategy="greedy")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match=r"\(0, 1\)"):
        ABMCTSA("beta", reward_average_priors=1.0)
    with pytest.raises(ConfigError, match="virtual_loss"):
        ABMCTSA(virtual_loss=2.0)


@pytest.mark.parametrize("strategy", STRATEGIES)
def test_finds_the_better_branch(strategy: str) -> None:
    algo: ABMCTSA[Any] = ABMCTSA(model_selection_strategy=strategy)  # type: ignore[arg-type]
    state = algo.init_tree(seed=0)
    gens = generators(11)
    for _ in range(120):
        state = algo.step(state, gens)
    best = state.best()
    assert best is not None and best.score > 0.75  # GEN alone: Beta(2, 5), rarely > 0.7
    assert max(n.depth for n in state.nodes) >= 3  # it refines, not only samples
