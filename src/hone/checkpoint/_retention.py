"""Which checkpoints :meth:`prune` deletes.

The rule, per namespace of the thread:

1. *Selected* are the ``keep_last`` newest checkpoints (all of them when ``keep_last`` is
   None) that are also no older than ``max_age_seconds`` (when set).
2. The newest checkpoint of every namespace is always selected, so every thread can resume.
3. *Kept* are the selected checkpoints and the parent of each selected checkpoint (one level,
   not transitively). So every kept checkpoint's ``parent_id`` still resolves: a fork keeps
   the checkpoint it branched from, and "replay from the step before" keeps working.
4. Everything else is deleted, with its pending writes. Stored values are deleted only when no
   kept checkpoint reaches them, directly or through a delta chain, so a delta whose base
   belonged to a deleted checkpoint stays loadable (the base is kept instead of being rebased:
   rebasing would store the prefix again, while keeping it costs nothing extra).
"""

from __future__ import annotations

import time
from collections import defaultdict

from hone.checkpoint._protocol import RetentionPolicy
from hone.checkpoint._rows import PruneInfo
from hone.errors import ConfigError

__all__ = ["check_policy", "choose_deletions"]


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
