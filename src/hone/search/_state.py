"""The search state: a tree with a node index, the trials in flight and finished, the RNG.

State is data. Algorithm objects (:class:`~hone.search.ABMCTSA`, ...) hold configuration only;
``ask`` and ``tell`` take a :class:`SearchState`, update it and return it. Nodes live in one
list indexed by id (the root is node 0), so every lookup is O(1) and nothing walks the tree.
The algorithm's statistics (``stats``) are derived data: they are rebuilt from the nodes, in
order, when a saved state is restored.
"""

from __future__ import annotations

import heapq
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeAlias, TypeVar

import numpy as np

from hone.errors import ConfigError, SearchStateError, UnknownTrialError
from hone.models import Usage

__all__ = [
    "FORMAT_VERSION",
    "ROOT",
    "Node",
    "SearchState",
    "StateScore",
    "Trial",
    "TrialResult",
    "TrialStatus",
    "add_node",
    "close_trial",
    "count_in_flight",
    "open_trial",
    "top_k",
]

S = TypeVar("S")

#: The version of the saved-state format this hone writes and reads.
FORMAT_VERSION = 1

#: The id of the root node (it has no state and no score).
ROOT = 0

#: How a finished trial ended: ``complete`` (a node was added) or ``failed`` (the generator
#: raised, timed out or returned a bad score; no node was added).
TrialStatus: TypeAlias = Literal["complete", "failed"]

#: A node's state and score, as ``top_k`` returns them.
StateScore: TypeAlias = tuple[Any, float]


@dataclass(slots=True)
class Node(Generic[S]):
    """One node of the tree.

    Attributes:
        id: the node's index (the root is 0; nodes are numbered in the order they were added).
        parent: the parent's id; None for the root.
        action: the action (generator name) that produced the node; None for the root.
        state: what the generator returned; None for the root.
        score: the generator's score in [0, 1]; -1.0 for the root.
        depth: 0 for the root, 1 for its children, ...
        children: the children's ids, in the order they were added.
        trial_id: the trial that produced the node.
    """

    id: int
    parent: int | None
    action: str | None
    state: S | None
    score: float
    depth: int
    children: list[int] = field(default_factory=list)
    trial_id: str | None = None

    @property
    def is_root(self) -> bool:
        """Whether this is the root."""
        return self.parent is None


@dataclass(frozen=True, slots=True)
class Trial(Generic[S]):
    """One expansion handed out by ``ask``: run ``action``'s generator on ``parent_state``,
    then ``tell`` the result under ``trial_id``. Field names are TreeQuest's."""

    trial_id: str
    #: The id of the node to expand.
    node_to_expand: int
    action: str
    #: The state of that node (None when it is the root).
    parent_state: S | None


@dataclass(frozen=True, slots=True)
class TrialResult:
    """How a finished trial ended: the node it added, or why it failed."""

    trial_id: str
    node_to_expand: int
    action: str
    status: TrialStatus
    #: The new node's id (``complete`` only).
    node_id: int | None = None
    score: float | None = None
    #: Why the trial failed (``failed`` only).
    error: str | None = None


@dataclass(slots=True)
class SearchState(Generic[S]):
    """Everything a tree search knows; pass it to the algorithm's ``ask``/``tell``/``step``.

    Build one with the algorithm's ``init_tree()``; save it with :meth:`to_dict` or
    :meth:`to_json` and restore it with the algorithm's ``from_dict`` / ``from_json``.
    """

    #: The algorithm's name (``ab-mcts-a``, ``ab-mcts-m``, ``mcts``); restoring checks it.
    algorithm: str
    #: Every node, indexed by id; ``nodes[0]`` is the root.
    nodes: list[Node[S]]
    rng: np.random.Generator
    #: The algorithm's derived statistics (rebuilt from the nodes on restore).
    stats: Any
    #: Trials handed out and not yet told, by id.
    running: dict[str, Trial[S]] = field(default_factory=dict)
    #: Trials told (or failed), by id.
    finished: dict[str, TrialResult] = field(default_factory=dict)
    #: The number the next trial id gets.
    next_trial: int = 0
    #: In-flight trials whose target is a node or one of its descendants, by node id.
    through: dict[int, int] = field(default_factory=dict)
    #: In-flight trials expanding a node directly, by node id and action.
    expanding: dict[int, dict[str, int]] = field(default_factory=dict)
    #: Algorithm data that is not derived from the nodes (saved with the state).
    extra: dict[str, Any] = field(default_factory=dict)
    #: Tokens the generators reported (those returning ``(state, score, usage)``).
    usage: Usage = field(default_factory=Usage)
    #: Model calls the told and failed trials made: a :class:`~hone.search.Cost`'s count,
    #: one for a trial that reported none (a plain Usage, nothing, or a failure).
    model_calls: int = 0

    def __len__(self) -> int:
        """The number of generated nodes (the root not counted)."""
        return len(self.nodes) - 1

    @property
    def root(self) -> Node[S]:
        """The root node."""
        return self.nodes[0]

    def node(self, node_id: int) -> Node[S]:
        """The node with this id (O(1))."""
        return self.nodes[node_id]

    def children(self, node_id: int) -> list[Node[S]]:
        """A node's children, in the order they were added."""
        return [self.nodes[c] for c in self.nodes[node_id].children]

    def path(self, node_id: int) -> list[int]:
        """The ids from the root's child down to this node (empty for the root)."""
        out: list[int] = []
        current: int | None = node_id
        while current is not None and current != 0:
            out.append(current)
            current = self.nodes[current].parent
        out.reverse()
        return out

    @property
    def failures(self) -> list[TrialResult]:
        """The failed trials, in the order they finished."""
        return [r for r in self.finished.values() if r.status == "failed"]

    def best(self) -> Node[S] | None:
        """The highest-scoring node (the first one added among equals); None before any."""
        if len(self.nodes) < 2:
            return None
        return max(self.nodes[1:], key=lambda n: n.score)

    def get_state_score_pairs(self) -> list[StateScore]:
        """Every generated node's ``(state, score)``, in the order they were added."""
        return [(n.state, n.score) for n in self.nodes[1:]]

    def to_dict(self, *, encode: Callable[[Any], Any] | None = None) -> dict[str, Any]:
        """The state as JSON data, for the algorithm's ``from_dict`` to restore.

        Node states must be JSON data, or ``encode`` must make them so (and ``from_dict``'s
        ``decode`` undo it). The algorithm's statistics are not saved: restoring rebuilds them.

        Raises:
            SearchStateError: a node state is not JSON data.
        """
        enc = encode or (lambda value: value)
        nodes = [
            [n.parent, n.action, _jsonable(enc(n.state), f"node {n.id}"), n.score, n.trial_id]
            for n in self.nodes[1:]
        ]
        running = [[t.trial_id, t.node_to_expand, t.action] for t in self.running.values()]
        finished = [
            [r.trial_id, r.node_to_expand, r.action, r.status, r.node_id, r.score, r.error]
            for r in self.finished.values()
        ]
        return {
            "format": "hone.search",
            "version": FORMAT_VERSION,
            "algorithm": self.algorithm,
            "nodes": nodes,
            "running": running,
            "finished": finished,
            "next_trial": self.next_trial,
            "rng": self.rng.bit_generator.state,
            "extra": self.extra,
            "usage": [self.usage.prompt_tokens, self.usage.completion_tokens],
            "model_calls": self.model_calls,
        }

    def to_json(self, *, encode: Callable[[Any], Any] | None = None) -> str:
        """The state as a JSON string (see :meth:`to_dict`)."""
        return json.dumps(self.to_dict(encode=encode))


def top_k(
    state: SearchState[Any],
    k: int = 1,
    *,
    ranking_fn: Callable[[list[StateScore]], Sequence[StateScore]] | None = None,
) -> list[StateScore]:
    """The ``k`` best ``(state, score)`` pairs, best first (fewer when the tree is smaller).

    Like TreeQuest's ``top_k``, ``ranking_fn`` (given every pair, in the order they were
    added) may rank them another way; by default they are ranked by score, ties by age.
    """
    if k < 1:
        raise ConfigError(f"top_k needs k >= 1, got {k}")
    pairs = state.get_state_score_pairs()
    if ranking_fn is not None:
        return list(ranking_fn(pairs))[:k]
    ranked = heapq.nlargest(k, enumerate(pairs), key=lambda item: (item[1][1], -item[0]))
    return [pair for _, pair in ranked]


def add_node(
    state: SearchState[Any],
    parent_id: int,
    action: str,
    node_state: Any,
    score: float,
    trial_id: str | None,
) -> Node[Any]:
    """Append a node under ``parent_id`` (no backup)."""
    parent = state.nodes[parent_id]
    node: Node[Any] = Node(
        id=len(state.nodes),
        parent=parent_id,
        action=action,
        state=node_state,
        score=score,
        depth=parent.depth + 1,
        trial_id=trial_id,
    )
    state.nodes.append(node)
    parent.children.append(node.id)
    return node


def open_trial(state: SearchState[Any], node_id: int, action: str) -> Trial[Any]:
    """Hand out a trial and count it in flight along its path."""
    trial_id = f"trial-{state.next_trial}"
    state.next_trial += 1
    trial: Trial[Any] = Trial(trial_id, node_id, action, state.nodes[node_id].state)
    state.running[trial_id] = trial
    count_in_flight(state, trial, +1)
    return trial


def close_trial(state: SearchState[Any], trial_id: str) -> Trial[Any]:
    trial = state.running.pop(trial_id, None)
    if trial is None:
        raise UnknownTrialError(trial_id)
    count_in_flight(state, trial, -1)
    return trial


def count_in_flight(state: SearchState[Any], trial: Trial[Any], delta: int) -> None:
    """Count a trial in (``delta=1``) or out (``-1``) of flight along its path."""
    through, nodes = state.through, state.nodes
    node_id: int | None = trial.node_to_expand
    while node_id is not None:
        through[node_id] = through.get(node_id, 0) + delta
        node_id = nodes[node_id].parent
    by_action = state.expanding.get(trial.node_to_expand)
    if by_action is None:
        by_action = state.expanding[trial.node_to_expand] = {}
    by_action[trial.action] = by_action.get(trial.action, 0) + delta


def _jsonable(value: Any, where: str) -> Any:
    """``value`` if ``json.dumps`` takes it, else a :class:`SearchStateError` naming ``where``."""
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise SearchStateError(
            f"{where}'s state is not JSON data ({exc}); pass encode= to to_dict() "
            "and decode= to from_dict()"
        ) from exc
    return value
