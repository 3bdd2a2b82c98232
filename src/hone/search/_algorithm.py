"""The base of every tree search: TreeQuest's stateless surface over a :class:`SearchState`.

``init_tree``, ``ask``, ``ask_batch``, ``tell`` and ``step`` are written once here; an
algorithm supplies three hooks: ``_choose`` (which node to expand with which action),
``_observe`` (the backup after a node is added) and ``_new_stats``.

``tell`` is idempotent and order-free: trials may be told in any order, a second tell of a
finished trial changes nothing, a bad result is recorded as a failed trial. With
``virtual_loss`` set, every trial handed out and not yet told counts as an observation of that
score on its path, so one ``ask_batch`` spreads over the tree instead of drawing every trial
from the same posterior.
"""

from __future__ import annotations

import abc
import json
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar, Generic, TypeVar

import numpy as np

from hone.errors import ConfigError, SearchStateError
from hone.models import Usage
from hone.search._budget import model_calls_of
from hone.search._generate import (
    Failure,
    Generated,
    GenerateFn,
    acall_generator,
    call_generator,
    check_result,
)
from hone.search._restore import restore
from hone.search._state import (
    ROOT,
    Node,
    SearchState,
    Trial,
    TrialResult,
    add_node,
    close_trial,
    open_trial,
)

__all__ = ["TreeSearch"]

logger = logging.getLogger(__name__)

S = TypeVar("S")


class TreeSearch(abc.ABC, Generic[S]):
    """A tree-search algorithm: configuration only; the state goes in and comes out.

    Args:
        virtual_loss: None (the default, TreeQuest's behaviour) draws every trial of an
            ``ask_batch`` from the same statistics; a score in [0, 1] counts each trial in
            flight as one observation of that score along its path until it is told.
    """

    #: The algorithm's name, saved with its states.
    name: ClassVar[str]

    def __init__(self, *, virtual_loss: float | None = None) -> None:
        if virtual_loss is not None and not 0.0 <= virtual_loss <= 1.0:
            raise ConfigError(f"virtual_loss must be None or a score in [0, 1], got {virtual_loss}")
        self.virtual_loss = virtual_loss

    # -- hooks -----------------------------------------------------------------------------

    @abc.abstractmethod
    def _new_stats(self) -> Any:
        """Empty statistics for a new tree."""

    @abc.abstractmethod
    def _choose(self, state: SearchState[S], actions: Sequence[str]) -> tuple[int, str]:
        """The node to expand and the action to expand it with."""

    @abc.abstractmethod
    def _observe(self, state: SearchState[S], node: Node[S]) -> None:
        """Back up a node just added to the tree."""

    def _check_extra(self, extra: Mapping[str, Any], nodes: int) -> dict[str, Any]:
        """Validate the algorithm's saved extra data (none by default)."""
        if extra:
            raise SearchStateError(f"extra: {self.name} saves no extra data, got {sorted(extra)}")
        return {}

    # -- the surface -----------------------------------------------------------------------

    def init_tree(self, *, seed: int | None = None) -> SearchState[S]:
        """A tree with only the root; ``seed`` makes the search's choices reproducible."""
        root: Node[S] = Node(id=ROOT, parent=None, action=None, state=None, score=-1.0, depth=0)
        return SearchState(
            algorithm=self.name,
            nodes=[root],
            rng=np.random.default_rng(seed),
            stats=self._new_stats(),
        )

    def ask(self, state: SearchState[S], actions: Sequence[str]) -> tuple[SearchState[S], Trial[S]]:
        """The next expansion to run (see :meth:`ask_batch`)."""
        state, trials = self.ask_batch(state, 1, actions)
        return state, trials[0]

    def ask_batch(
        self, state: SearchState[S], batch_size: int, actions: Sequence[str]
    ) -> tuple[SearchState[S], list[Trial[S]]]:
        """``batch_size`` expansions to run, each a :class:`Trial` to ``tell`` back."""
        self._check_state(state)
        names = _check_actions(actions)
        if batch_size < 1:
            raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
        trials = []
        for _ in range(batch_size):
            node_id, action = self._choose(state, names)
            trials.append(open_trial(state, node_id, action))
        return state, trials

    def tell(self, state: SearchState[S], trial_id: str, result: object) -> SearchState[S]:
        """Add a trial's result ``(state, score)`` to the tree and back it up.

        A trial told twice keeps its first result. A bad result (score outside [0, 1] or NaN,
        None state, not a tuple) is recorded as a failed trial (``state.failures``).

        Raises:
            UnknownTrialError: ``ask`` never handed out this trial id.
        """
        self._check_state(state)
        if trial_id in state.finished:
            logger.warning("trial %s was already told; its first result stands", trial_id)
            return state
        checked = check_result(result)
        if isinstance(checked, Failure):
            return self.fail(state, trial_id, checked.error)
        self._add(state, trial_id, checked)
        return state

    def fail(self, state: SearchState[S], trial_id: str, error: str) -> SearchState[S]:
        """Record a trial as failed (its generator raised, timed out, ...): no node is added.

        Raises:
            UnknownTrialError: ``ask`` never handed out this trial id.
        """
        if trial_id in state.finished:
            return state
        trial = close_trial(state, trial_id)
        logger.warning(
            "trial %s (%s on node %d) failed: %s",
            trial_id,
            trial.action,
            trial.node_to_expand,
            error,
        )
        state.finished[trial_id] = TrialResult(
            trial_id, trial.node_to_expand, trial.action, "failed", error=error
        )
        state.model_calls += 1  # a failure reports nothing: it counts as one model call
        return state

    def step(
        self,
        state: SearchState[S],
        generate_fn: Mapping[str, GenerateFn],
        *,
        timeout: float | None = None,
    ) -> SearchState[S]:
        """Ask for one expansion, run its generator, tell the result (TreeQuest's ``step``).

        The state is updated in place and returned (no copy). A generator that raises, runs
        past ``timeout`` seconds or returns a bad result is recorded as a failed trial.
        """
        state, trial = self.ask(state, list(generate_fn))
        outcome = call_generator(generate_fn[trial.action], trial.parent_state, timeout=timeout)
        return self._settle(state, trial, outcome)

    async def astep(
        self,
        state: SearchState[S],
        generate_fn: Mapping[str, GenerateFn],
        *,
        timeout: float | None = None,
    ) -> SearchState[S]:
        """The async twin of :meth:`step` (sync generators run in a worker thread)."""
        state, trial = self.ask(state, list(generate_fn))
        outcome = await acall_generator(
            generate_fn[trial.action], trial.parent_state, timeout=timeout
        )
        return self._settle(state, trial, outcome)

    def get_state_score_pairs(self, state: SearchState[S]) -> list[tuple[Any, float]]:
        """Every generated node's ``(state, score)`` (TreeQuest's name)."""
        return state.get_state_score_pairs()

    # -- saving ----------------------------------------------------------------------------

    def from_dict(
        self, data: Mapping[str, Any], *, decode: Callable[[Any], Any] | None = None
    ) -> SearchState[Any]:
        """Restore a state saved with :meth:`SearchState.to_dict`; the statistics are rebuilt
        by replaying the nodes in order.

        Raises:
            SearchStateError: the data is not a saved state of this algorithm, or is corrupt;
                the message names the field.
        """
        return restore(
            data,
            name=self.name,
            new_stats=self._new_stats,
            observe=self._observe,
            check_extra=self._check_extra,
            decode=decode,
        )

    def from_json(
        self, text: str, *, decode: Callable[[Any], Any] | None = None
    ) -> SearchState[Any]:
        """Restore a state saved with :meth:`SearchState.to_json`.

        Raises:
            SearchStateError: the text is not JSON, or not a valid saved state.
        """
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise SearchStateError(f"the saved search state is not JSON: {exc}") from exc
        if not isinstance(data, dict):
            raise SearchStateError(
                f"the saved search state is a JSON {type(data).__name__}, not an object"
            )
        return self.from_dict(data, decode=decode)

    # -- internals -------------------------------------------------------------------------

    def _check_state(self, state: SearchState[S]) -> None:
        if state.algorithm != self.name:
            raise ConfigError(
                f"this state belongs to {state.algorithm!r}, not {self.name!r}: "
                "use the algorithm whose init_tree() made it"
            )

    def _settle(
        self, state: SearchState[S], trial: Trial[S], outcome: Generated | Failure
    ) -> SearchState[S]:
        if isinstance(outcome, Failure):
            return self.fail(state, trial.trial_id, outcome.error)
        self._add(state, trial.trial_id, outcome)
        return state

    def _add(self, state: SearchState[S], trial_id: str, result: Generated) -> Node[S]:
        trial = close_trial(state, trial_id)
        node = add_node(
            state, trial.node_to_expand, trial.action, result.state, result.score, trial_id
        )
        self._observe(state, node)
        state.model_calls += model_calls_of(result.usage)
        if result.usage is not None:
            state.usage = Usage(
                prompt_tokens=state.usage.prompt_tokens + result.usage.prompt_tokens,
                completion_tokens=state.usage.completion_tokens + result.usage.completion_tokens,
            )
        state.finished[trial_id] = TrialResult(
            trial_id, trial.node_to_expand, trial.action, "complete", node.id, node.score
        )
        return node


def _check_actions(actions: Sequence[str]) -> list[str]:
    names = list(actions)
    if not names:
        raise ConfigError("no actions: pass at least one generator (action name -> generate fn)")
    for name in names:
        if not isinstance(name, str) or not name:
            raise ConfigError(f"action names must be non-empty strings, got {name!r}")
    if len(set(names)) != len(names):
        raise ConfigError(f"duplicate action names: {names}")
    return names
