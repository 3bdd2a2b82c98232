"""The stateless surface: ask/tell in any order, failures as records, saved states."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from hone.errors import ConfigError
from hone.search import (
    ABMCTSA,
    ABMCTSM,
    MCTS,
    SearchStateError,
    TreeSearch,
    UnknownTrialError,
    top_k,
)

from ._landscape import generators

ALGORITHMS = [
    pytest.param(lambda: ABMCTSA(), id="ab-mcts-a"),
    pytest.param(lambda: ABMCTSA("beta", model_selection_strategy="stack"), id="ab-mcts-a-stack"),
    pytest.param(lambda: ABMCTSM(), id="ab-mcts-m"),
    pytest.param(lambda: MCTS(), id="mcts"),
]


@pytest.mark.parametrize("make", ALGORITHMS)
def test_tell_in_any_order_and_idempotent(make: Any) -> None:
    algo: TreeSearch[Any] = make()
    state = algo.init_tree(seed=0)
    state, trials = algo.ask_batch(state, 4, ["A", "B"])
    assert len(state.running) == 4 and len({t.trial_id for t in trials}) == 4
    for i, trial in enumerate(reversed(trials)):
        algo.tell(state, trial.trial_id, ([i], 0.1 * (i + 1)))
    size = len(state)
    algo.tell(state, trials[0].trial_id, ([9], 0.99))  # told again: the first result stands
    assert len(state) == size == 4
    assert not state.running and not state.through.get(0)
    assert state.finished[trials[0].trial_id].score == pytest.approx(0.4)


@pytest.mark.parametrize(
    ("result", "problem"),
    [
        (([1], 1.5), "outside [0, 1]"),
        (([1], -0.1), "outside [0, 1]"),
        (([1], math.nan), "NaN"),
        (([1], "high"), "not a number"),
        ((None, 0.5), "None as the state"),
        ([1, 0.5], "not a (state, score) tuple"),
    ],
)
def test_bad_results_are_failed_trials(result: Any, problem: str) -> None:
    algo: ABMCTSA[Any] = ABMCTSA()
    state = algo.init_tree()
    state, trial = algo.ask(state, ["A"])
    algo.tell(state, trial.trial_id, result)
    assert len(state) == 0
    [failure] = state.failures
    assert failure.trial_id == trial.trial_id and problem in (failure.error or "")
    state = algo.step(state, generators(0))  # the search goes on
    assert len(state) == 1


def test_generators_that_raise_or_hang_are_recorded() -> None:
    algo: ABMCTSA[Any] = ABMCTSA()
    state = algo.init_tree()

    def broken(parent: Any) -> Any:
        raise ValueError("model server down")

    state = algo.step(state, {"A": broken})
    assert "ValueError: model server down" in (state.failures[0].error or "")

    def slow(parent: Any) -> Any:
        import time

        time.sleep(0.5)
        return [1], 0.5

    state = algo.step(state, {"A": slow}, timeout=0.05)
    assert "timed out after 0.05s" in (state.failures[1].error or "")
    assert len(state) == 0


def test_unknown_trials_and_empty_actions_raise() -> None:
    algo: MCTS[Any] = MCTS()
    state = algo.init_tree()
    with pytest.raises(UnknownTrialError, match="trial-7"):
        algo.tell(state, "trial-7", ([1], 0.5))
    with pytest.raises(ConfigError, match="no actions"):
        algo.ask(state, [])
    with pytest.raises(ConfigError, match="duplicate"):
        algo.ask(state, ["A", "A"])
    with pytest.raises(ConfigError, match="belongs to 'mcts'"):
        ABMCTSA().ask(state, ["A"])


@pytest.mark.parametrize("make", ALGORITHMS)
def test_resume_continues_exactly(make: Any) -> None:
    """A state saved to JSON mid-search and restored continues as if never stopped: same
    statistics, same random choices, same trials in flight."""
    algo: TreeSearch[Any] = make()
    gens_a, gens_b = generators(5), generators(5)
    straight = algo.init_tree(seed=3)
    for _ in range(25):
        straight = algo.step(straight, gens_a)
    saved = algo.init_tree(seed=3)
    for _ in range(15):
        saved = algo.step(saved, gens_b)
    saved, pending = algo.ask(saved, ["A", "B"])
    text = saved.to_json()
    resumed = algo.from_json(text)
    assert resumed.to_dict() == saved.to_dict()
    assert list(resumed.running) == [pending.trial_id]
    algo.tell(resumed, pending.trial_id, gens_b[pending.action](pending.parent_state))
    for _ in range(9):
        resumed = algo.step(resumed, gens_b)
    assert [(n.parent, n.action, n.score) for n in resumed.nodes] == [
        (n.parent, n.action, n.score) for n in straight.nodes
    ]


def _saved() -> dict[str, Any]:
    algo: ABMCTSA[Any] = ABMCTSA()
    state = algo.init_tree(seed=0)
    gens = generators(0)
    for _ in range(6):
        state = algo.step(state, gens)
    state, _ = algo.ask(state, ["A", "B"])
    return json.loads(state.to_json())


@pytest.mark.parametrize(
    ("corrupt", "message"),
    [
        (lambda d: d.update(format="other"), "format: not a saved hone.search state"),
        (lambda d: d.update(version=99), "version: written by a newer hone"),
        (lambda d: d.update(algorithm="mcts"), "saved by 'mcts', not 'ab-mcts-a'"),
        (lambda d: d["nodes"][3].__setitem__(0, 9), r"nodes\[3\] \(node 4\)\.parent: 9"),
        (lambda d: d["nodes"][2].__setitem__(3, 1.5), r"nodes\[2\] \(node 3\)\.score: 1.5"),
        (lambda d: d["nodes"][1].__setitem__(2, None), r"nodes\[1\] \(node 2\)\.state: null"),
        (
            lambda d: d["nodes"].__setitem__(0, [0, "A"]),
            r"nodes\[0\] \(node 1\): expected a list of 5",
        ),
        (lambda d: d["running"][0].__setitem__(1, 77), r"running\[0\]\.node_to_expand: 77"),
        (lambda d: d["finished"][0].__setitem__(3, "lost"), r"finished\[0\]\.status"),
        (lambda d: d.update(rng={"bit_generator": "PCG64", "state": 3}), "rng: invalid"),
        (lambda d: d.update(next_trial=-1), "next_trial"),
        (lambda d: d.update(extra={"x": 1}), "extra: ab-mcts-a saves no extra data"),
        (lambda d: d.pop("nodes"), "nodes: expected a list"),
    ],
)
def test_corrupt_states_name_the_problem(corrupt: Any, message: str) -> None:
    data = _saved()
    corrupt(data)
    with pytest.raises(SearchStateError, match=message):
        ABMCTSA().from_dict(data)


def test_corrupt_json_and_unserialisable_states() -> None:
    with pytest.raises(SearchStateError, match="not JSON"):
        ABMCTSA().from_json("{nodes: ")
    with pytest.raises(SearchStateError, match="a JSON list"):
        ABMCTSA().from_json("[]")
    algo: ABMCTSA[Any] = ABMCTSA()
    state = algo.init_tree()
    state = algo.step(state, {"A": lambda parent: (object(), 0.5)})
    with pytest.raises(SearchStateError, match="node 1's state is not JSON data"):
        state.to_json()
    text = state.to_json(encode=lambda value: "opaque")
    restored = algo.from_json(text, decode=lambda raw: {"decoded": raw})
    assert restored.nodes[1].state == {"decoded": "opaque"}


def test_virtual_loss_spreads_a_batch() -> None:
    """Without in-flight accounting a batch piles onto one path (TreeQuest's behaviour);
    with a virtual loss of 0 the same batch spreads over the tree."""
    gens = generators(0)

    def distinct_targets(virtual_loss: float | None) -> int:
        algo: MCTS[Any] = MCTS(samples_per_action=1, virtual_loss=virtual_loss)
        state = algo.init_tree(seed=0)
        for _ in range(30):
            state = algo.step(state, gens)
        state, trials = algo.ask_batch(state, 8, ["A"])
        return len({t.node_to_expand for t in trials})

    assert distinct_targets(0.0) > distinct_targets(None)

    algo: ABMCTSA[Any] = ABMCTSA(virtual_loss=0.0)
    state = algo.init_tree(seed=0)
    for _ in range(30):
        state = algo.step(state, gens)
    state, trials = algo.ask_batch(state, 8, ["A", "B"])
    assert len({t.node_to_expand for t in trials}) >= 3
    for trial in trials:
        algo.tell(state, trial.trial_id, gens[trial.action](trial.parent_state))
    assert all(count == 0 for count in state.through.values())


def test_top_k_and_node_index() -> None:
    algo: ABMCTSA[Any] = ABMCTSA()
    state = algo.init_tree(seed=0)
    gens = generators(0)
    for _ in range(20):
        state = algo.step(state, gens)
    scores = sorted((n.score for n in state.nodes[1:]), reverse=True)
    assert [s for _, s in top_k(state, 3)] == scores[:3]
    assert len(top_k(state, 100)) == 20
    assert (
        top_k(state, 2, ranking_fn=lambda pairs: sorted(pairs, key=lambda p: p[1]))[0][1]
        == scores[-1]
    )
    node = state.nodes[7]
    assert state.node(7) is node and node.id in state.nodes[node.parent or 0].children
    assert state.path(7)[-1] == 7 and len(state.path(7)) == node.depth
    with pytest.raises(ConfigError, match="k >= 1"):
        top_k(state, 0)
