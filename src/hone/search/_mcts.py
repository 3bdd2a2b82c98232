"""Monte Carlo tree search with UCT, TreeQuest's ``StandardMCTS`` semantics.

* **Selection**: from the root, go to the child with the largest
  ``mean + c · prior · √(ln N_parent / N_child)`` until reaching a leaf.
* **Expansion**: the leaf gets ``samples_per_action`` children from each action (queued;
  every ``ask`` hands out one, a new selection happens once the queue is empty).
* **Simulation**: the generator's score of the new node is its value (the generator may run a
  rollout to get it).
* **Backpropagation**: the score is added to the visit count and value sum of the new node
  and of every ancestor up to the root.

``prior`` is TreeQuest's softmax over the sibling scores by default (``"softmax"``);
``"uniform"`` gives textbook UCT. Unlike TreeQuest, every result told counts: a tell is never
discarded because its expansion queue has moved on.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from hone.errors import ConfigError, SearchStateError
from hone.search._algorithm import TreeSearch
from hone.search._pick import argmax
from hone.search._state import ROOT, Node, SearchState

__all__ = ["MCTS"]

S = TypeVar("S")


@dataclass(slots=True)
class _Stats:
    visits: dict[int, int] = field(default_factory=dict)
    values: dict[int, float] = field(default_factory=dict)
    priors: dict[int, float] = field(default_factory=dict)


class MCTS(TreeSearch[S]):
    """MCTS with UCT (Kocsis & Szepesvári, 2006), as TreeQuest's ``StandardMCTS``.

    Args:
        samples_per_action: children each action adds to a selected leaf.
        exploration_weight: the UCT constant ``c`` (√2 by default).
        prior: ``"softmax"`` weighs exploration by a softmax of the sibling scores
            (TreeQuest); ``"uniform"`` does not.
        virtual_loss: see :class:`~hone.search.TreeSearch`.
    """

    name = "mcts"

    def __init__(
        self,
        *,
        samples_per_action: int = 2,
        exploration_weight: float = math.sqrt(2),
        prior: Literal["softmax", "uniform"] = "softmax",
        virtual_loss: float | None = None,
    ) -> None:
        super().__init__(virtual_loss=virtual_loss)
        if samples_per_action < 1:
            raise ConfigError(f"samples_per_action must be at least 1, got {samples_per_action}")
        if not math.isfinite(exploration_weight) or exploration_weight < 0:
            raise ConfigError(f"exploration_weight must be >= 0, got {exploration_weight}")
        if prior not in ("softmax", "uniform"):
            raise ConfigError(f"prior must be 'softmax' or 'uniform', got {prior!r}")
        self.samples_per_action = samples_per_action
        self.exploration_weight = exploration_weight
        self.prior = prior

    def uct(self, state: SearchState[Any], node_id: int) -> float:
        """A node's UCT score as its parent sees it (trials in flight count with
        ``virtual_loss``)."""
        stats: _Stats = state.stats
        node = state.nodes[node_id]
        assert node.parent is not None  # the root has no UCT score
        extra = state.through.get(node_id, 0) if self.virtual_loss is not None else 0
        parent_extra = state.through.get(node.parent, 0) if self.virtual_loss is not None else 0
        parent_visits = stats.visits.get(node.parent, 1) + parent_extra
        visits = stats.visits.get(node_id, 1) + extra
        value = stats.values.get(node_id, 0.0) + extra * (self.virtual_loss or 0.0)
        prior = stats.priors.get(node_id, 1.0) if self.prior == "softmax" else 1.0
        exploration = self.exploration_weight * prior * math.sqrt(math.log(parent_visits) / visits)
        return value / visits + exploration

    # -- hooks -----------------------------------------------------------------------------

    def _new_stats(self) -> _Stats:
        return _Stats()

    def _choose(self, state: SearchState[S], actions: Sequence[str]) -> tuple[int, str]:
        pending: list[list[Any]] = state.extra.setdefault("pending", [])
        while pending and pending[0][1] not in actions:
            pending.pop(0)  # an action no longer offered
        if not pending:
            leaf = self._select_leaf(state)
            pending.extend([leaf, a] for _ in range(self.samples_per_action) for a in actions)
        node_id, action = pending.pop(0)
        return int(node_id), str(action)

    def _select_leaf(self, state: SearchState[S]) -> int:
        node_id = ROOT
        while state.nodes[node_id].children:
            node_id = argmax((c, self.uct(state, c)) for c in state.nodes[node_id].children)
        return node_id

    def _observe(self, state: SearchState[S], node: Node[S]) -> None:
        stats: _Stats = state.stats
        current: int | None = node.id
        while current is not None:
            stats.visits[current] = stats.visits.get(current, 0) + 1
            stats.values[current] = stats.values.get(current, 0.0) + node.score
            current = state.nodes[current].parent
        assert node.parent is not None  # a generated node
        siblings = state.nodes[node.parent].children
        if len(siblings) > 1:
            scores = [state.nodes[c].score for c in siblings]
            top = max(scores)
            weights = [math.exp(s - top) for s in scores]
            total = sum(weights)
            for child, weight in zip(siblings, weights, strict=True):
                stats.priors[child] = weight / total

    def _check_extra(self, extra: Mapping[str, Any], nodes: int) -> dict[str, Any]:
        unknown = set(extra) - {"pending"}
        if unknown:
            raise SearchStateError(f"extra: unknown keys {sorted(unknown)}")
        pending = extra.get("pending", [])
        if not isinstance(pending, list):
            raise SearchStateError("extra.pending: expected a list of [node id, action]")
        for i, entry in enumerate(pending):
            ok = (
                isinstance(entry, list)
                and len(entry) == 2
                and isinstance(entry[0], int)
                and 0 <= entry[0] < nodes
                and isinstance(entry[1], str)
                and entry[1]
            )
            if not ok:
                raise SearchStateError(
                    f"extra.pending[{i}]: expected [node id, action], got {entry!r}"
                )
        return {"pending": [list(e) for e in pending]}
