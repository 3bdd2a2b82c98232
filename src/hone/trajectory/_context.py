"""What the code running inside a rollout can know about it: task, seed, episode ids.

A scripted teacher (or any backend, tool or program code) calls :func:`current_rollout` to
draw its randomness from the rollout's seed rather than from what it can see in the prompt.
Randomness derived from the prompt (say, a hash of the conversation) is a function of what the
student sees too, so the student can learn the teacher's *mistakes* as if they were part of
the task; randomness from the rollout's seed is noise the student cannot predict.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Mapping
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from hone.messages import new_id

__all__ = ["RolloutContext", "current_rollout", "rollout_context"]


@dataclass(frozen=True, slots=True)
class RolloutContext:
    """The rollout running in this context.

    Attributes:
        task: the task, as the program received it.
        task_id: its id.
        group_id: the group (rollouts of one task) it belongs to, if any.
        index: its position in the group (0 for a single rollout).
        seed: the rollout's seed (None when unseeded): fixed for the whole episode, unlike the
            per-call seeds in ``request.options.seed``.
        episode_ids: the id each role's episode will have, for the roles known at the start.
        metadata: copied into every episode's ``metadata`` when the rollout ends (write to it).
    """

    task: Any
    task_id: str
    group_id: str | None = None
    index: int = 0
    seed: int | None = None
    episode_ids: Mapping[str, str] = field(default_factory=dict)
    metadata: dict[str, Any] = field(default_factory=dict)

    def episode_id(self, role: str = "agent") -> str:
        """The id of ``role``'s episode (a role first seen mid-rollout gets one now)."""
        ids = dict(self.episode_ids)
        if role not in ids:
            ids[role] = new_id("ep_")
            object.__setattr__(self, "episode_ids", ids)
        return ids[role]


_CURRENT: ContextVar[RolloutContext | None] = ContextVar("hone_rollout", default=None)


def current_rollout() -> RolloutContext | None:
    """The rollout running in this context, or None outside rollouts.

    Visible to the program, its tools, and any backend called directly from the program's
    task (a scripted teacher); not to calls a :class:`~hone.models.BatchingModel` runs in its
    own task.
    """
    return _CURRENT.get()


@contextlib.contextmanager
def rollout_context(context: RolloutContext) -> Iterator[RolloutContext]:
    """Make ``context`` the current rollout inside the ``with`` block."""
    token = _CURRENT.set(context)
    try:
        yield context
    finally:
        _CURRENT.reset(token)
