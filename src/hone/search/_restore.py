"""Restoring a saved search state: validate every field, then rebuild the statistics by
replaying the nodes in the order they were added.

A corrupt state raises :class:`SearchStateError` naming the field and what is wrong with it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from hone.errors import SearchStateError
from hone.models import Usage
from hone.search._state import (
    FORMAT_VERSION,
    ROOT,
    Node,
    SearchState,
    Trial,
    TrialResult,
    add_node,
    count_in_flight,
)

__all__ = ["restore"]


def restore(
    data: Mapping[str, Any],
    *,
    name: str,
    new_stats: Callable[[], Any],
    observe: Callable[[SearchState[Any], Node[Any]], None],
    check_extra: Callable[[Mapping[str, Any], int], dict[str, Any]],
    decode: Callable[[Any], Any] | None,
) -> SearchState[Any]:
    """A :class:`SearchState` from :meth:`SearchState.to_dict` output."""
    if not isinstance(data, Mapping):
        raise SearchStateError(f"a saved search state is a mapping, got {type(data).__name__}")
    _check_header(data, name)
    root: Node[Any] = Node(id=ROOT, parent=None, action=None, state=None, score=-1.0, depth=0)
    state: SearchState[Any] = SearchState(
        algorithm=name, nodes=[root], rng=_rng(data.get("rng")), stats=new_stats()
    )
    for index, entry in enumerate(_list(data, "nodes")):
        parent, action, node_state, score, trial_id = _node_entry(entry, index, decode)
        node = add_node(state, parent, action, node_state, score, trial_id)
        observe(state, node)
    count = len(state.nodes)
    next_trial = data.get("next_trial")
    if not isinstance(next_trial, int) or isinstance(next_trial, bool) or next_trial < 0:
        raise SearchStateError(f"next_trial: expected a count >= 0, got {next_trial!r}")
    state.next_trial = next_trial
    for index, entry in enumerate(_list(data, "running")):
        where = f"running[{index}]"
        trial_id, node_id, action = _fields(entry, where, 3)
        _trial_id(trial_id, where, state)
        _node_ref(node_id, f"{where}.node_to_expand", count)
        _action(action, f"{where}.action")
        trial: Trial[Any] = Trial(trial_id, node_id, action, state.nodes[node_id].state)
        state.running[trial_id] = trial
        count_in_flight(state, trial, +1)
    for index, entry in enumerate(_list(data, "finished")):
        result = _result(entry, f"finished[{index}]", state)
        state.finished[result.trial_id] = result
    extra = data.get("extra", {})
    if not isinstance(extra, Mapping):
        raise SearchStateError(f"extra: expected an object, got {type(extra).__name__}")
    state.extra = check_extra(extra, count)
    usage = data.get("usage", [0, 0])
    if (
        not isinstance(usage, list)
        or len(usage) != 2
        or not all(isinstance(u, int) and not isinstance(u, bool) and u >= 0 for u in usage)
    ):
        raise SearchStateError(f"usage: expected [prompt tokens, completion tokens], got {usage!r}")
    state.usage = Usage(prompt_tokens=usage[0], completion_tokens=usage[1])
    # states saved before model calls were counted: one per finished trial
    model_calls = data.get("model_calls", len(state.finished))
    if not isinstance(model_calls, int) or isinstance(model_calls, bool) or model_calls < 0:
        raise SearchStateError(f"model_calls: expected a count >= 0, got {model_calls!r}")
    state.model_calls = model_calls
    return state


def _check_header(data: Mapping[str, Any], name: str) -> None:
    if data.get("format") != "hone.search":
        raise SearchStateError(
            f"format: not a saved hone.search state (format is {data.get('format')!r})"
        )
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise SearchStateError(f"version: expected a positive integer, got {version!r}")
    if version > FORMAT_VERSION:
        raise SearchStateError(
            f"version: written by a newer hone (format {version}; this hone reads up to "
            f"{FORMAT_VERSION})"
        )
    if data.get("algorithm") != name:
        raise SearchStateError(
            f"algorithm: the state was saved by {data.get('algorithm')!r}, not {name!r}"
        )


def _rng(saved: object) -> np.random.Generator:
    if not isinstance(saved, Mapping) or saved.get("bit_generator") != "PCG64":
        raise SearchStateError("rng: expected a saved PCG64 generator state")
    bit_generator = np.random.PCG64()
    try:
        bit_generator.state = dict(saved)  # type: ignore[assignment]
    except (TypeError, ValueError, KeyError) as exc:
        raise SearchStateError(f"rng: invalid generator state ({exc})") from exc
    return np.random.Generator(bit_generator)


def _list(data: Mapping[str, Any], key: str) -> list[Any]:
    value = data.get(key)
    if not isinstance(value, list):
        raise SearchStateError(f"{key}: expected a list, got {type(value).__name__}")
    return value


def _fields(entry: object, where: str, size: int) -> list[Any]:
    if not isinstance(entry, list) or len(entry) != size:
        raise SearchStateError(f"{where}: expected a list of {size} fields, got {entry!r:.80}")
    return entry


def _node_entry(
    entry: object, index: int, decode: Callable[[Any], Any] | None
) -> tuple[int, str, Any, float, str | None]:
    node_id = index + 1
    where = f"nodes[{index}] (node {node_id})"
    parent, action, raw, score, trial_id = _fields(entry, where, 5)
    if not isinstance(parent, int) or isinstance(parent, bool) or not 0 <= parent < node_id:
        raise SearchStateError(f"{where}.parent: {parent!r} is not an earlier node's id")
    _action(action, f"{where}.action")
    if (
        isinstance(score, bool)
        or not isinstance(score, int | float)
        or not math.isfinite(score)
        or not 0 <= score <= 1
    ):
        raise SearchStateError(f"{where}.score: {score!r} is not a score in [0, 1]")
    if trial_id is not None and not isinstance(trial_id, str):
        raise SearchStateError(f"{where}.trial_id: expected a string or null, got {trial_id!r}")
    try:
        node_state = decode(raw) if decode is not None else raw
    except Exception as exc:
        raise SearchStateError(f"{where}.state: decode raised {type(exc).__name__}: {exc}") from exc
    if node_state is None:
        raise SearchStateError(f"{where}.state: null (only the root has no state)")
    return parent, action, node_state, float(score), trial_id


def _action(action: object, where: str) -> None:
    if not isinstance(action, str) or not action:
        raise SearchStateError(f"{where}: expected an action name, got {action!r}")


def _node_ref(node_id: object, where: str, count: int) -> None:
    if not isinstance(node_id, int) or isinstance(node_id, bool) or not 0 <= node_id < count:
        raise SearchStateError(f"{where}: {node_id!r} is not a node id (the tree has {count})")


def _trial_id(trial_id: object, where: str, state: SearchState[Any]) -> None:
    if not isinstance(trial_id, str) or not trial_id:
        raise SearchStateError(f"{where}.trial_id: expected a string, got {trial_id!r}")
    if trial_id in state.running or trial_id in state.finished:
        raise SearchStateError(f"{where}.trial_id: {trial_id!r} appears twice")


def _result(entry: object, where: str, state: SearchState[Any]) -> TrialResult:
    trial_id, node_to_expand, action, status, node_id, score, error = _fields(entry, where, 7)
    _trial_id(trial_id, where, state)
    _node_ref(node_to_expand, f"{where}.node_to_expand", len(state.nodes))
    _action(action, f"{where}.action")
    if status == "complete":
        _node_ref(node_id, f"{where}.node_id", len(state.nodes))
        if state.nodes[node_id].trial_id != trial_id:
            raise SearchStateError(f"{where}.node_id: node {node_id} was not made by {trial_id!r}")
        return TrialResult(trial_id, node_to_expand, action, "complete", node_id, float(score))
    if status == "failed":
        if not isinstance(error, str):
            raise SearchStateError(f"{where}.error: a failed trial needs its error text")
        return TrialResult(trial_id, node_to_expand, action, "failed", error=error)
    raise SearchStateError(f"{where}.status: expected 'complete' or 'failed', got {status!r}")
