"""AB-MCTS-M: adaptive branching MCTS with a mixed model, as TreeQuest 0.3.3 does it, but
with the posterior integrated by quadrature (:mod:`hone.search._hierarchical`) instead of NUTS.

At every node on the way down, the scores below it are grouped by child subtree and fitted
with TreeQuest's hierarchical model; each child's next score and a new child's score (GEN) are
drawn from the posterior predictive, one independent draw per option, and the largest wins.
A child whose subtree has at least ``min_subtree_size_for_pruning`` scores of which at least
``same_score_proportion_threshold`` are equal (to two decimals) is skipped (TreeQuest's
pruning rule). The action of a GEN node is chosen as in :class:`~hone.search.ABMCTSA`
(``model_selection_strategy``), with the model fitted over actions instead of children.

Each node keeps its subtree's :class:`Moments` (all actions and per action) and the counts
of its rounded scores, updated in O(depth) per new node, so selection never collects
observations by walking the tree.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from hone.errors import ConfigError
from hone.search._ab_mcts_a import ModelSelection
from hone.search._algorithm import TreeSearch
from hone.search._hierarchical import GroupPosterior, HierarchicalPriors, prior_predictive
from hone.search._moments import Moments
from hone.search._pick import argmax, check_averages, rank, ucb1
from hone.search._state import ROOT, Node, SearchState

__all__ = ["ABMCTSM"]

S = TypeVar("S")
_STRATEGIES = ("stack", "multiarm_bandit_thompson", "multiarm_bandit_ucb")


@dataclass(slots=True)
class _Subtree:
    """The scores of a node and all its descendants."""

    all: Moments = field(default_factory=Moments)
    by_action: dict[str, Moments] = field(default_factory=dict)
    #: How many scores round (to two decimals) to each value ×100.
    counts: dict[int, int] = field(default_factory=dict)
    #: The largest of ``counts``.
    top: int = 0


@dataclass(slots=True)
class _Stats:
    subtrees: dict[int, _Subtree] = field(default_factory=dict)
    totals: dict[str, Moments] = field(default_factory=dict)


class ABMCTSM(TreeSearch[S]):
    """AB-MCTS-M (Inoue et al., 2025) with TreeQuest 0.3.3's model and rules, no MCMC.

    Args:
        enable_pruning: skip child subtrees whose scores are mostly one value.
        reward_average_priors: the prior mean of μ_α for every action (a number) or some
            actions (a mapping); 0.5 otherwise.
        model_selection_strategy: see :data:`~hone.search.ModelSelection`.
        min_subtree_size_for_pruning: the smallest subtree pruning considers.
        same_score_proportion_threshold: the share of equal scores that prunes a subtree.
        priors: the hyperprior scales (TreeQuest's defaults: 0.2, 0.2, 0.3).
        virtual_loss: see :class:`~hone.search.TreeSearch`.
    """

    name = "ab-mcts-m"

    def __init__(
        self,
        *,
        enable_pruning: bool = True,
        reward_average_priors: float | Mapping[str, float] | None = None,
        model_selection_strategy: ModelSelection = "multiarm_bandit_thompson",
        min_subtree_size_for_pruning: int = 4,
        same_score_proportion_threshold: float = 0.75,
        priors: HierarchicalPriors | None = None,
        virtual_loss: float | None = None,
    ) -> None:
        super().__init__(virtual_loss=virtual_loss)
        if model_selection_strategy not in _STRATEGIES:
            raise ConfigError(
                f"model_selection_strategy must be one of {_STRATEGIES}, got "
                f"{model_selection_strategy!r}"
            )
        if min_subtree_size_for_pruning < 1:
            raise ConfigError("min_subtree_size_for_pruning must be at least 1")
        if not 0 < same_score_proportion_threshold <= 1:
            raise ConfigError("same_score_proportion_threshold must be in (0, 1]")
        priors = priors or HierarchicalPriors()
        if min(priors.mu_alpha_sigma, priors.sigma_alpha_sigma, priors.sigma_y_sigma) <= 0:
            raise ConfigError(f"every prior scale must be > 0, got {priors}")
        self.enable_pruning = enable_pruning
        self.reward_average_priors = check_averages(reward_average_priors)
        self.model_selection_strategy: ModelSelection = model_selection_strategy
        self.min_subtree_size_for_pruning = min_subtree_size_for_pruning
        self.same_score_proportion_threshold = same_score_proportion_threshold
        self.priors = priors

    def prior_mean(self, action: str | None) -> float:
        """The prior mean of μ_α for an action's model (None: the model over actions)."""
        averages = self.reward_average_priors
        if isinstance(averages, float):
            return averages
        if averages is None or action is None:
            return 0.5
        return averages.get(action, 0.5)

    def is_prunable(self, state: SearchState[Any], node_id: int) -> bool:
        """Whether the subtree under ``node_id`` is skipped (TreeQuest's rule)."""
        sub: _Subtree | None = state.stats.subtrees.get(node_id)
        if sub is None or sub.all.n == 0:
            return False
        return (
            sub.top / sub.all.n >= self.same_score_proportion_threshold
            and sub.all.n >= self.min_subtree_size_for_pruning
        )

    # -- hooks -----------------------------------------------------------------------------

    def _new_stats(self) -> _Stats:
        return _Stats()

    def _observe(self, state: SearchState[S], node: Node[S]) -> None:
        stats: _Stats = state.stats
        action = node.action
        assert action is not None  # a generated node
        score = node.score
        rounded = round(score * 100)
        stats.totals.setdefault(action, Moments()).add(score)
        current: Node[S] = node
        while current.parent is not None:
            sub = stats.subtrees.get(current.id)
            if sub is None:
                sub = stats.subtrees[current.id] = _Subtree()
            sub.all.add(score)
            sub.by_action.setdefault(action, Moments()).add(score)
            count = sub.counts.get(rounded, 0) + 1
            sub.counts[rounded] = count
            sub.top = max(sub.top, count)
            current = state.nodes[current.parent]

    def _choose(self, state: SearchState[S], actions: Sequence[str]) -> tuple[int, str]:
        node_id = ROOT
        while state.nodes[node_id].children:
            selection = self._select(state, node_id, actions)
            if isinstance(selection, str):
                return node_id, selection
            node_id = selection
        return node_id, self._leaf_action(state, actions)

    # -- selection -------------------------------------------------------------------------

    def _leaf_action(self, state: SearchState[S], actions: Sequence[str]) -> str:
        """The action of a new child of a node without children."""
        if len(actions) == 1:
            return actions[0]
        if self.model_selection_strategy == "stack":
            return argmax(
                (a, prior_predictive(self.prior_mean(a), self.priors, state.rng)) for a in actions
            )
        return self._best_action(state, actions)

    def _select(self, state: SearchState[S], node_id: int, actions: Sequence[str]) -> str | int:
        """An action (GEN from this node) or a child id (CONT into it)."""
        if self.model_selection_strategy == "stack":
            return self._select_stacked(state, node_id, actions)
        children = state.nodes[node_id].children
        groups = [self._group(state, c, None) for c in children]
        posterior = GroupPosterior(groups, prior_mean=self.prior_mean(None), priors=self.priors)
        draws = posterior.sample([*range(len(children)), None], state.rng)
        options: list[int | None] = [*children, None]
        ranked = [options[i] for i in rank(draws.tolist())]
        best = ranked[0]
        if best is None:
            return self._best_action(state, actions)
        if not (self.enable_pruning and self.is_prunable(state, best)):
            return best
        for option in ranked:
            if option is not None and not self.is_prunable(state, option):
                return option
        return self._best_action(state, actions)

    def _select_stacked(
        self, state: SearchState[S], node_id: int, actions: Sequence[str]
    ) -> str | int:
        children = state.nodes[node_id].children
        scores: dict[str | int, float] = {}
        for action in actions:
            groups, members = [], []
            for child in children:
                moments = self._group(state, child, action)
                if moments.n:
                    groups.append(moments)
                    members.append(child)
            if not groups:
                scores[action] = prior_predictive(self.prior_mean(action), self.priors, state.rng)
                continue
            posterior = GroupPosterior(
                groups, prior_mean=self.prior_mean(action), priors=self.priors
            )
            draws = posterior.sample([*range(len(groups)), None], state.rng)
            for child, value in zip(members, draws[:-1], strict=True):
                scores[child] = float(value)
            scores[action] = float(draws[-1])
        for option in sorted(scores, key=scores.__getitem__, reverse=True):
            if isinstance(option, str):
                return option
            if not (self.enable_pruning and self.is_prunable(state, option)):
                return option
        raise AssertionError("unreachable: every action is an option")  # pragma: no cover

    def _group(self, state: SearchState[S], child: int, action: str | None) -> Moments:
        """A child subtree's scores (of one action, or all), with trials in flight below it
        as virtual observations."""
        sub: _Subtree = state.stats.subtrees[child]
        moments = sub.all if action is None else sub.by_action.get(action, Moments())
        if self.virtual_loss is None:
            return moments
        if action is None:
            count = state.through.get(child, 0)
        else:
            count = sum(
                1
                for t in state.running.values()
                if t.action == action and child in _ancestry(state, t.node_to_expand)
            )
        return moments.with_virtual(count, self.virtual_loss)

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
        if self.model_selection_strategy == "multiarm_bandit_ucb":
            seen = sum(m.n for m in totals.values())
            return argmax((a, ucb1(m.mean, m.n, seen)) for a, m in observed.items())
        fitted = [a for a in actions if observed[a].n]
        if not fitted:
            return actions[int(state.rng.integers(len(actions)))]
        posterior = GroupPosterior(
            [observed[a] for a in fitted], prior_mean=self.prior_mean(None), priors=self.priors
        )
        draws = posterior.sample(
            [fitted.index(a) if a in fitted else None for a in actions], state.rng
        )
        return actions[rank(draws.tolist())[0]]


def _ancestry(state: SearchState[Any], node_id: int) -> set[int]:
    out: set[int] = set()
    current: int | None = node_id
    while current is not None:
        out.add(current)
        current = state.nodes[current].parent
    return out
