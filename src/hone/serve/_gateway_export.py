"""From gateway sessions to training episodes: a session's recorded calls, with the reward
that arrived later, become one :class:`~hone.trajectory.Episode` the trainer reads as it reads
any rollout (token ids, logprobs and policy version per call)."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from hone.errors import TrajectoryError
from hone.trajectory import Episode, ModelCall, to_jsonable

__all__ = ["SessionReward", "episode_id_of", "session_episode"]

#: Episode ids of sessions: this prefix and the session id (so re-exports replace, never add).
_EPISODE_PREFIX = "gw_"


@dataclass(frozen=True, slots=True)
class SessionReward:
    """The score of a whole session, given after it ran (``POST /sessions/{id}/reward``).

    Attributes:
        reward: the scalar reward (finite).
        components: named parts of the reward, for logging.
        explanation: why the reward is what it is (a judge's words), if given.
        task_id: the task the session worked on, so sessions of one task can be grouped;
            defaults to the session id.
        task: the task payload, as JSON data.
        metadata: free-form JSON data stored with the episode.
    """

    reward: float
    components: dict[str, float] = field(default_factory=dict)
    explanation: str | None = None
    task_id: str | None = None
    task: Any = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        values = [self.reward, *self.components.values()]
        if not all(isinstance(v, int | float) and math.isfinite(v) for v in values):
            raise TrajectoryError(f"a session reward must be a finite number, got {values!r}")

    def to_dict(self) -> dict[str, Any]:
        """The reward as JSON data."""
        return {
            "reward": self.reward,
            "components": dict(self.components),
            "explanation": self.explanation,
            "task_id": self.task_id,
            "task": to_jsonable(self.task),
            "metadata": to_jsonable(self.metadata),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SessionReward:
        """A reward from :meth:`to_dict` output.

        Raises:
            TrajectoryError: the data is not a reward.
        """
        try:
            return cls(**data)
        except TypeError as exc:
            raise TrajectoryError(f"invalid session reward record: {exc}") from exc


def episode_id_of(session_id: str) -> str:
    """The id of the episode a session becomes."""
    return _EPISODE_PREFIX + session_id


def _text(message: Mapping[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return "".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def session_episode(
    session_id: str,
    calls: Sequence[ModelCall],
    reward: SessionReward | None,
    *,
    created_at: float,
) -> Episode:
    """One session as an episode of role ``"agent"``: its calls in order, the last call's
    conversation as the transcript, its final reply as the output, and the reward (None when
    the session is not scored yet). A ``task_id`` given with the reward is also the episode's
    ``group_id``, so the sessions of one task are one group for RL. The policy versions that served it are listed in
    ``metadata["policy_versions"]``; ``created_at`` is the session's first call.

    Raises:
        TrajectoryError: the session has no calls.
    """
    if not calls:
        raise TrajectoryError(f"session {session_id!r} has no calls to make an episode of")
    last = calls[-1]
    versions = list(dict.fromkeys(c.policy_version for c in calls if c.policy_version is not None))
    metadata: dict[str, Any] = {
        "source": "gateway",
        "session_id": session_id,
        "policy_versions": versions,
    }
    if reward is not None:
        metadata.update(reward.metadata)
    given_task = reward.task_id if reward is not None else None
    return Episode(
        task_id=given_task or session_id,
        # Sessions the scorer tied to one task form a group (GRPO's baseline, see
        # hone.train.build_rl_batch).
        group_id=given_task,
        task=reward.task if reward is not None else None,
        role="agent",
        calls=list(calls),
        messages=[*last.messages, last.output],
        output=_text(last.output),
        reward=reward.reward if reward is not None else None,
        reward_components=dict(reward.components) if reward is not None else {},
        reward_explanation=reward.explanation if reward is not None else None,
        status="ok",
        metadata=metadata,
        id=episode_id_of(session_id),
        created_at=created_at,
    )
