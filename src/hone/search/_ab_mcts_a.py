"""AB-MCTS-A: adaptive branching MCTS with node aggregation, as TreeQuest 0.3.3 does it.

At every node on the way down, Thompson sampling decides between GEN (a new child from one of
the actions) and CONT (go down into an existing child), each arm a conjugate posterior over
the scores seen below it (:mod:`hone.search._conjugate`). Three ways to pick the action
(``model_selection_strategy``), as in TreeQuest:

* ``multiarm_bandit_thompson`` (default): one GEN arm and one CONT arm per node; once GEN wins,
  the action is picked by Thompson sampling over every score each action produced in the tree;
* ``multiarm_bandit_ucb``: the same, but the action by UCB1 over those scores;
* ``stack``: first an action by Thompson sampling over the node's per-action arms, then GEN or
  CONT among that action's own arms and children.

The backup is TreeQuest's, in its order: the new child's own arm, the action's tree-wide
scores, the parent's GEN arm and action arm, then for every ancestor edge the child's arm, the
CONT arm and the action arm. Every arm keeps :class:`Moments`, so an update is O(1) where
TreeQuest recomputes a Gaussian posterior from all its scores.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeAlias, TypeVar

import numpy as np

from hone.errors import ConfigError
from hone.search._algorithm import TreeSearch
from hone.search._conjugate import (
    BetaPrior,
    GaussianPrior,
    Prior,
    draw,
    draw_all,
    posterior_params,
    with_mean,
)
from hone.search._moments import Moments
from hone.search._pick import argmax, check_averages, ucb1
from hone.search._state import ROOT, Node, SearchState

__all__ = ["ABMCTSA", "ModelSelection"]

S = TypeVar("S")

#: How AB-MCTS picks the action of a new node (TreeQuest's ``model_selection_strategy``).
ModelSelection: TypeAlias = Literal["stack", "multiarm_bandit_thompson", "multiarm_bandit_ucb"]
_STRATEGIES = ("stack", "multiarm_bandit_thompson", "multiarm_bandit_ucb")
_SHARED = "shared"
#: Up to this many arms, one numpy call per draw is cheaper than one vectorised call.
_SCALAR_DRAWS = 12


@dataclass(slots=True)
class _Arms:
    """One node's arms (TreeQuest's ``NodeProbState``), keyed by action under ``stack`` and
    by ``"shared"`` otherwise."""

    gen: dict[str, Moments] = field(default_factory=dict)
    cont: dict[str, Moments] = field(default_factory=dict)
    #: Per action: every score produced below this node by that action's edges.
    actions: dict[str, Moments] = field(default_factory=dict)
    #: Per key, per child id (in the order the children were added): the child's arm.
    children: dict[str, dict[int, Moments]] = field(default_factory=dict)


@dataclass(slots=True)
class _Stats:
    arms: dict[int, _Arms] = field(default_factory=dict)
    #: Every score each action produced anywhere in the tree (TreeQuest's all_rewards_store).
    totals: dict[str, Moments] = field(default_factory=dict)


def _get(table: dict[str, Moments], key: str) -> Moments:
    found = table.get(key)
    if found is None:
        found = table[key] = Moments()
    return found


class ABMCTSA(TreeSearch[S]):
    """AB-MCTS-A (Inoue et al., 2025), faithful to TreeQuest 0.3.3's ``ABMCTSA``.

    Args:
        dist_type: ``"gaussian"`` (normal-inverse-χ² prior, TreeQuest's default) or ``"beta"``
            (Jeffreys prior).
        prior: a :class:`GaussianPrior` or :class:`BetaPrior`; when given, ``dist_type`` is
            not used.
        reward_average_priors: the prior average score of every action (a number) or of some
            actions (a mapping); used by the per-action arms.
        model_selection_strategy: see :data:`ModelSelection`.
        virtual_loss: see :class:`TreeSearch`.
    """

    name = "ab-mcts-a"

    def __init__(
        self,
        dist_type: Literal["gaussian", "beta"] = "gaussian",
        *,
        prior: Prior | None = None,
        reward_average_priors: float | Mapping[str, float] | None = None,
        model_selection_strategy: ModelSelection = "multiarm_bandit_thompson",
        virtual_loss: float | None = None,
    ) -> None:
        super().__init__(virtual_loss=virtual_loss)
        if prior is None:
            if dist_type not in ("gaussian", "beta"):
                raise ConfigError(f"dist_type must be 'gaussian' or 'beta', got {dist_type!r}")
            prior = GaussianPrior() if dist_type == "gaussian" else BetaPrior()
        elif not isinstance(prior, GaussianPrior | BetaPrior):
            raise ConfigError(f"prior must be a GaussianPrior or BetaPrior, got {prior!r}")
        if model_selection_strategy not in _STRATEGIES:
            raise ConfigError(
                f"model_selection_strategy must be one of {_STRATEGIES}, got "
                f"{model_selection_strategy!r}"
            )
        self.prior: Prior = prior
        self.reward_average_priors = check_averages(
            reward_average_priors, open_unit=isinstance(prior, BetaPrior)
        )
        self.model_selection_strategy: ModelSelection = model_selection_strategy

    # -- introspection ---------------------------------------------------------------------

    def action_prior(self, action: str) -> Prior:
        """The prior of an action's arms (the base prior with its average score set)."""
        averages = self.reward_average_priors
        if isinstance(averages, float):
            return with_mean(self.prior, averages)
        if isinstance(averages, Mapping) and action in averages:
            return with_mean(self.prior, averages[action])
        return self.prior

    def arm_posteriors(self, state: SearchState[Any], node_id: int) -> dict[str, Any]:
        """The posterior parameters of a node's arms: ``gen`` and ``cont`` by key (an action
        under ``stack``, else ``"shared"``), ``actions`` by action, ``children`` by key and
        child id. Empty before the node has children."""
        arms = state.stats.arms.get(node_id, _Arms())
        return {
            "gen": {k: posterior_params(self.prior, m) for k, m in arms.gen.items()},
            "cont": {k: posterior_params(self.prior, m) for k, m in arms.cont.items()},
            "actions": {
                a: posterior_params(self.action_prior(a), m) for a, m in arms.actions.items()
            },
            "children": {
                k: {c: posterior_params(self.prior, m) for c, m in table.items()}
                for k, table in arms.children.items()
            },
        }

    def action_posteriors(self, state: SearchState[Any]) -> dict[str, dict[str, float]]:
        """The posterior of every action over all its scores in the tree (what
        ``multiarm_bandit_thompson`` samples to pick the action of a GEN node)."""
        return {a: posterior_params(self.action_prior(a), m) for a, m in state.stats.totals.items()}

    # -- hooks -----------------------------------------------------------------------------

    def _new_stats(self) -> _Stats:
        return _Stats()

    def _choose(self, state: SearchState[S], actions: Sequence[str]) -> tuple[int, str]:
        stats: _Stats = state.stats
        for action in actions:
            _get(stats.totals, action)
        node_id = ROOT
        while True:
            selection = self._select(state, node_id, actions)
            if isinstance(selection, str):
                return node_id, selection
            node_id = selection

    def _observe(self, state: SearchState[S], node: Node[S]) -> None:
        stats: _Stats = state.stats
        nodes = state.nodes
        stack = self.model_selection_strategy == "stack"
        score, action, parent_id = node.score, node.action, node.parent
        assert parent_id is not None and action is not None  # a generated node
        parent = stats.arms.get(parent_id) or stats.arms.setdefault(parent_id, _Arms())
        key = action if stack else _SHARED
        own = Moments()
        own.add(score)
        parent.children.setdefault(key, {})[node.id] = own
        _get(stats.totals, action).add(score)
        _get(parent.gen, key).add(score)
        _get(parent.actions, action).add(score)
        current = nodes[parent_id]
        while current.parent is not None:
            arms = stats.arms.get(current.parent) or stats.arms.setdefault(current.parent, _Arms())
            edge = current.action
            assert edge is not None
            key = edge if stack else _SHARED
            arms.children[key][current.id].add(score)
            _get(arms.cont, key).add(score)
            _get(arms.actions, edge).add(score)
            current = nodes[current.parent]

    # -- selection -------------------------------------------------------------------------

    def _select(self, state: SearchState[S], node_id: int, actions: Sequence[str]) -> str | int:
        """An action (GEN from this node) or a child id (CONT into it)."""
        arms = state.stats.arms.get(node_id) or _Arms()
        virtual = _Virtual(self.virtual_loss, state, node_id)
        rng = state.rng
        if self.model_selection_strategy == "stack":
            action = argmax(
                (a, draw(self.action_prior(a), virtual.action(arms, a), rng)) for a in actions
            )
            choice = self._gen_or_cont(arms, action, virtual, rng)
            children = arms.children.get(action)
            if choice == "GEN" or not children:
                return action
            return self._child(children, virtual, rng)
        choice = self._gen_or_cont(arms, _SHARED, virtual, rng)
        children = arms.children.get(_SHARED)
        if choice == "GEN" or not children:
            return self._best_action(state, actions)
        return self._child(children, virtual, rng)

    def _gen_or_cont(
        self, arms: _Arms, key: str, virtual: _Virtual, rng: np.random.Generator
    ) -> str:
        gen = draw(self.prior, virtual.gen(arms, key), rng)
        cont = draw(self.prior, virtual.cont(arms, key), rng)
        return "CONT" if cont > gen else "GEN"

    def _child(
        self, children: dict[int, Moments], virtual: _Virtual, rng: np.random.Generator
    ) -> int:
        if len(children) <= _SCALAR_DRAWS:
            return argmax(
                (c, draw(self.prior, virtual.child(c, m), rng)) for c, m in children.items()
            )
        ids = list(children)
        draws = draw_all(self.prior, [virtual.child(c, m) for c, m in children.items()], rng)
        return ids[int(np.argmax(draws))]  # the first among equals, as TreeQuest

    def _best_action(self, state: SearchState[S], actions: Sequence[str]) -> str:
        """The action of a GEN node under the ``multiarm_bandit_*`` strategies."""
        if len(actions) == 1:
            return actions[0]
        totals: dict[str, Moments] = state.stats.totals
        in_flight = (
            Counter(t.action for t in state.running.values())
            if self.virtual_loss is not None
            else Counter[str]()
        )
        observed = {
            a: totals.get(a, Moments()).with_virtual(in_flight[a], self.virtual_loss or 0.0)
            for a in actions
        }
        if self.model_selection_strategy == "multiarm_bandit_thompson":
            return argmax(
                (a, draw(self.action_prior(a), m, state.rng)) for a, m in observed.items()
            )
        seen = sum(m.n for m in observed.values())
        return argmax((a, ucb1(m.mean, m.n, seen)) for a, m in observed.items())


class _Virtual:
    """Adds the trials in flight below a node to its arms as observations of ``value``."""

    def __init__(self, value: float | None, state: SearchState[Any], node_id: int) -> None:
        self.value = value
        self.state = state
        self.node_id = node_id

    def child(self, child_id: int, moments: Moments) -> Moments:
        if self.value is None:
            return moments
        return moments.with_virtual(self.state.through.get(child_id, 0), self.value)

    def _below(self, key: str | None) -> int:
        nodes = self.state.nodes
        return sum(
            self.state.through.get(c, 0)
            for c in nodes[self.node_id].children
            if key is None or nodes[c].action == key
        )

    def _expanding(self, key: str | None) -> int:
        counts = self.state.expanding.get(self.node_id, {})
        return sum(counts.values()) if key is None else counts.get(key, 0)

    def gen(self, arms: _Arms, key: str) -> Moments:
        moments = arms.gen.get(key, Moments())
        if self.value is None:
            return moments
        count = self._expanding(None if key == _SHARED else key)
        return moments.with_virtual(count, self.value)

    def cont(self, arms: _Arms, key: str) -> Moments:
        moments = arms.cont.get(key, Moments())
        if self.value is None:
            return moments
        return moments.with_virtual(self._below(None if key == _SHARED else key), self.value)

    def action(self, arms: _Arms, action: str) -> Moments:
        moments = arms.actions.get(action, Moments())
        if self.value is None:
            return moments
        count = self._expanding(action) + self._below(action)
        return moments.with_virtual(count, self.value)
