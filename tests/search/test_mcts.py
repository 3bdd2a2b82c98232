"""MCTS with UCT: TreeQuest's StandardMCTS statistics and selection, on recorded trees."""

from __future__ import annotations

import math
from typing import Any

import pytest

from hone.errors import ConfigError
from hone.search import MCTS
from hone.search._state import open_trial

from ._landscape import generators

tq = pytest.importorskip("treequest", reason="the parity tests compare with TreeQuest")


def test_statistics_and_selection_equal_treequest() -> None:
    tq_algo = tq.StandardMCTS()
    tq_state = tq_algo.init_tree()
    gens = generators(4)
    for _ in range(60):
        tq_state = tq_algo.step(tq_state, gens, inplace=True)
    algo: MCTS[Any] = MCTS()
    state = algo.init_tree()
    ids = {-1: 0}
    for node in tq_state.tree.get_nodes()[1:]:
        trial = open_trial(state, ids[node.parent.expand_idx], "A")
        algo.tell(state, trial.trial_id, (node.state, node.score))
        ids[node.expand_idx] = len(state.nodes) - 1
    for expand_idx, ours in ids.items():
        assert state.stats.visits[ours] == tq_state.visit_counts[expand_idx]
        assert state.stats.values[ours] == pytest.approx(tq_state.value_sums[expand_idx], abs=1e-12)
        if expand_idx in tq_state.priors:
            assert state.stats.priors[ours] == pytest.approx(tq_state.priors[expand_idx], abs=1e-12)
    assert algo._select_leaf(state) == ids[tq_algo._select(tq_state).expand_idx]


def test_expands_a_leaf_with_every_action() -> None:
    algo: MCTS[Any] = MCTS(samples_per_action=2)
    state = algo.init_tree()
    state, trials = algo.ask_batch(state, 4, ["A", "B"])
    assert sorted(t.action for t in trials) == ["A", "A", "B", "B"]
    assert {t.node_to_expand for t in trials} == {0}
    for trial in trials:
        algo.tell(state, trial.trial_id, ([0.5], 0.5))
    assert state.stats.visits[0] == 4 and len(state.root.children) == 4


def test_uct_formula() -> None:
    algo: MCTS[Any] = MCTS(exploration_weight=1.5, prior="uniform")
    state = algo.init_tree()
    gens = generators(1)
    for _ in range(10):
        state = algo.step(state, gens)
    child = state.root.children[0]
    visits, value = state.stats.visits[child], state.stats.values[child]
    expected = value / visits + 1.5 * math.sqrt(math.log(state.stats.visits[0]) / visits)
    assert algo.uct(state, child) == pytest.approx(expected)


def test_exploitation_goes_deep() -> None:
    algo: MCTS[Any] = MCTS(exploration_weight=0.0)
    state = algo.init_tree(seed=0)
    gens = generators(3)
    for _ in range(40):
        state = algo.step(state, gens)
    assert max(n.depth for n in state.nodes) >= 5


def test_bad_configuration_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="samples_per_action"):
        MCTS(samples_per_action=0)
    with pytest.raises(ConfigError, match="exploration_weight"):
        MCTS(exploration_weight=-1.0)
    with pytest.raises(ConfigError, match="prior"):
        MCTS(prior="dirichlet")  # type: ignore[arg-type]
