"""Which checkpoints :meth:`prune` deletes.

The rule, per namespace of the thread:

1. *Selected* are the ``keep_last`` newest checkpoints (all of them when ``keep_last`` is
   None) that are also no older than ``max_age_seconds`` (when set).
2. The newest checkpoint of every namespace is always selected, so every thread can resume.
3. *Kept* are the selected checkpoints and the parent of each selected checkpoint (one level,
   not transitively). So every kept checkpoint's ``parent_id`` still resolves: a fork keeps
   the checkpoint it branched from, and "replay from the step before" keeps working.
4. Everything else is deleted, with its pending writes. Stored values are deleted only when no
   kept checkpoint reaches them: a blob when no kept checkpoint refers to it (directly or,
   for format-1 rows, through a delta chain), a chain's segments beyond the longest prefix a
   kept checkpoint — or a kept fork built on the chain — refers to (:func:`kept_segments`).
   A value a kept checkpoint shares with a deleted one is never rewritten: keeping it costs
   nothing extra, where storing the kept prefix again would.
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable

from hone.checkpoint._protocol import RetentionPolicy
from hone.checkpoint._rows import PruneInfo, SegmentInfo
from hone.errors import ConfigError

__all__ = ["check_policy", "choose_deletions", "kept_segments"]


def check_policy(policy: RetentionPolicy) -> None:
    """Raise :class:`ConfigError` for a policy that makes no sense."""
    if policy.keep_last is not None and policy.keep_last < 1:
        raise ConfigError(
            f"RetentionPolicy(keep_last={policy.keep_last}) must keep at least 1 checkpoint; "
            "use delete_thread() to remove a whole thread"
        )
    if policy.max_age_seconds is not None and policy.max_age_seconds < 0:
        raise ConfigError(
            f"RetentionPolicy(max_age_seconds={policy.max_age_seconds}) must not be negative"
        )


def choose_deletions(
    infos: list[PruneInfo], policy: RetentionPolicy, *, now: float | None = None
) -> set[tuple[str, str]]:
    """The (ns, checkpoint_id) pairs the policy deletes (see the module docstring)."""
    now = time.time() if now is None else now
    by_ns: dict[str, list[PruneInfo]] = defaultdict(list)
    for info in infos:
        by_ns[info.ns].append(info)
    delete: set[tuple[str, str]] = set()
    for ns, group in by_ns.items():
        group.sort(key=lambda i: i.checkpoint_id, reverse=True)
        newest = group if policy.keep_last is None else group[: policy.keep_last]
        selected = [
            i
            for i in newest
            if policy.max_age_seconds is None or now - i.created_at <= policy.max_age_seconds
        ]
        kept = {group[0].checkpoint_id}
        for info in selected:
            kept.add(info.checkpoint_id)
        for info in [*selected, group[0]]:
            if info.parent_id is not None:
                kept.add(info.parent_id)
        delete.update((ns, i.checkpoint_id) for i in group if i.checkpoint_id not in kept)
    return delete


def kept_segments(
    refs: Iterable[tuple[str, str, str, int]], segments: Iterable[SegmentInfo]
) -> set[tuple[str, str, str, int]]:
    """The segments kept checkpoints need, as (ns, channel, chain_id, start).

    A reference ``(ns, channel, chain, n)`` needs the chain's segments that start before
    ``n`` and, when the chain was forked from another, the first ``min(n, base_len)`` items
    of that one, and so on down. A segment that holds both needed and unneeded items is kept
    whole.
    """
    infos = list(segments)
    bases = {(s.ns, s.channel, s.chain_id): (s.base_id, s.base_len) for s in infos}
    needed: dict[tuple[str, str, str], int] = {}
    work = [((ns, channel, chain), n) for ns, channel, chain, n in refs]
    while work:
        key, n = work.pop()
        if n <= needed.get(key, 0):
            continue
        needed[key] = n
        base_id, base_len = bases.get(key, (None, 0))
        if base_id is not None and base_len > 0:
            work.append(((key[0], key[1], base_id), min(n, base_len)))
    return {
        (s.ns, s.channel, s.chain_id, s.start)
        for s in infos
        if s.start < needed.get((s.ns, s.channel, s.chain_id), 0)
    }
