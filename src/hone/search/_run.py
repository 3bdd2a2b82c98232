"""Running a tree search to a budget: the async core and its sync shell.

The loop keeps up to ``concurrency`` generator calls in flight: it asks for a trial whenever a
slot is free and tells each result as soon as it arrives, in whatever order they finish (with
``virtual_loss`` set on the algorithm, trials in flight steer later asks away from their paths).
The budget is checked before each ask; a call in flight counts as one model call until it
reports its :class:`~hone.search.Cost`, so the calls in flight may overshoot a budget.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TypeVar

from hone._sync import run_sync
from hone.errors import ConfigError
from hone.search._algorithm import TreeSearch
from hone.search._budget import Budget, Spend
from hone.search._generate import Failure, Generated, GenerateFn, acall_generator
from hone.search._progress import ProgressView, make_progress
from hone.search._state import SearchState, Trial

__all__ = ["asearch", "search"]

S = TypeVar("S")


async def asearch(
    algorithm: TreeSearch[S],
    generate_fns: Mapping[str, GenerateFn],
    *,
    budget: Budget | int,
    state: SearchState[S] | None = None,
    seed: int | None = None,
    concurrency: int = 1,
    timeout: float | None = None,
    progress: bool | ProgressView = False,
) -> SearchState[S]:
    """Expand the tree until the budget is spent; return the state.

    Args:
        algorithm: the search (:class:`~hone.search.ABMCTSA`, :class:`~hone.search.ABMCTSM`,
            :class:`~hone.search.MCTS`).
        generate_fns: action name -> generator ``(parent_state | None) -> (state, score)``,
            sync or async. Sync ones are called directly when ``concurrency`` is 1 and there
            is no ``timeout``, in worker threads otherwise.
        budget: generator calls (an int), or a :class:`Budget` of generator calls, model
            calls and/or tokens, for this run (a resumed state's earlier spending does not
            count). Checked before each call, so the calls in flight may overshoot it: a
            model-call budget by at most the model calls (beyond one each) of the ``concurrency``
            calls in flight when it ran out; ``state.model_calls`` records what was spent.
        state: a state to continue (default: a new tree, seeded with ``seed``).
        seed: the seed of a new tree's random choices.
        concurrency: generator calls in flight at once.
        timeout: seconds a generator call may take before it is recorded as failed.
        progress: True shows a progress view on stderr (a bar on a terminal, lines
            otherwise); or a :class:`ProgressView` of your own.
    """
    if not generate_fns:
        raise ConfigError("no actions: pass at least one generator (action name -> generate fn)")
    if concurrency < 1:
        raise ConfigError(f"concurrency must be at least 1, got {concurrency}")
    limits = Budget.of(budget)
    if limits.unlimited:
        raise ConfigError("the budget is unlimited: give it calls, model_calls and/or tokens")
    if state is None:
        state = algorithm.init_tree(seed=seed)
    actions = list(generate_fns)
    in_thread = concurrency > 1 or timeout is not None
    spend = Spend()
    tokens_before = state.usage
    model_calls_before = state.model_calls
    view = make_progress(limits.calls, "search") if progress is True else progress or None
    in_flight: dict[asyncio.Future[Generated | Failure], Trial[S]] = {}
    try:
        while True:
            while len(in_flight) < concurrency and spend.exhausted(limits) is None:
                state, trial = algorithm.ask(state, actions)
                call = acall_generator(
                    generate_fns[trial.action],
                    trial.parent_state,
                    timeout=timeout,
                    in_thread=in_thread,
                )
                in_flight[asyncio.ensure_future(call)] = trial
                spend.start()
            if not in_flight:
                return state
            done, _ = await asyncio.wait(in_flight, return_when=asyncio.FIRST_COMPLETED)
            for future in done:
                trial = in_flight.pop(future)
                _settle(algorithm, state, trial, future.result())
                spend.prompt_tokens = state.usage.prompt_tokens - tokens_before.prompt_tokens
                spend.completion_tokens = (
                    state.usage.completion_tokens - tokens_before.completion_tokens
                )
                # the calls still in flight count as one model call each until they report
                spend.model_calls = state.model_calls - model_calls_before + len(in_flight)
                if view is not None:
                    view.update(state, spend.calls - len(in_flight))
    finally:
        for future in in_flight:
            future.cancel()
        if view is not None:
            view.close()


def search(
    algorithm: TreeSearch[S],
    generate_fns: Mapping[str, GenerateFn],
    *,
    budget: Budget | int,
    state: SearchState[S] | None = None,
    seed: int | None = None,
    concurrency: int = 1,
    timeout: float | None = None,
    progress: bool | ProgressView = False,
) -> SearchState[S]:
    """Expand the tree until the budget is spent (the sync shell of :func:`asearch`)."""
    return run_sync(
        asearch(
            algorithm,
            generate_fns,
            budget=budget,
            state=state,
            seed=seed,
            concurrency=concurrency,
            timeout=timeout,
            progress=progress,
        )
    )


def _settle(
    algorithm: TreeSearch[S], state: SearchState[S], trial: Trial[S], outcome: Generated | Failure
) -> None:
    if isinstance(outcome, Failure):
        algorithm.fail(state, trial.trial_id, outcome.error)
    elif outcome.usage is None:
        algorithm.tell(state, trial.trial_id, (outcome.state, outcome.score))
    else:
        algorithm.tell(state, trial.trial_id, (outcome.state, outcome.score, outcome.usage))
