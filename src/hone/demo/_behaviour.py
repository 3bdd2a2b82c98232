"""How an agent plays countdown, counted over its episodes: checks, hits, submissions, errors.

Success rates say *who* wins; these counts say *why* (the demo's RL model wins by checking
more candidates before it submits). They read only the episodes' OpenAI-format messages, so
they apply to the teacher and to any model alike.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from typing import Any

from hone.trajectory import Episode

__all__ = ["Behaviour", "behaviour"]


@dataclass(frozen=True, slots=True)
class Behaviour:
    """Counts over a set of countdown episodes.

    Attributes:
        episodes: episodes counted.
        mean_checks: ``calc`` calls per episode.
        single_check: episodes with exactly one ``calc`` call.
        four_or_more_checks: episodes with four or more ``calc`` calls.
        hit: episodes where ``calc`` reported the target reached.
        submitted: episodes that called ``submit``.
        error_replies: ``calc`` replies that were errors (a miscopied number, a repeat, ...).
    """

    episodes: int
    mean_checks: float
    single_check: int
    four_or_more_checks: int
    hit: int
    submitted: int
    error_replies: int

    def as_dict(self) -> dict[str, float]:
        """The counts as JSON data."""
        return {k: float(v) for k, v in asdict(self).items()}


def _episode_counts(messages: Sequence[Mapping[str, Any]]) -> tuple[int, bool, bool, int]:
    """(calc calls, hit, submitted, error replies) of one conversation."""
    calc_ids: set[str] = set()
    calls: list[str] = []
    hit = False
    errors = 0
    for message in messages:
        if message.get("role") == "assistant":
            for call in message.get("tool_calls") or ():
                name = str((call.get("function") or {}).get("name"))
                calls.append(name)
                if name == "calc":
                    calc_ids.add(str(call.get("id")))
        elif message.get("role") == "tool" and str(message.get("tool_call_id")) in calc_ids:
            text = str(message.get("content") or "")
            hit = hit or "target reached" in text
            errors += text.startswith("error")
    return calls.count("calc"), hit, "submit" in calls, errors


def behaviour(episodes: Sequence[Episode]) -> Behaviour:
    """Count how the episodes played (see :class:`Behaviour`)."""
    counts = [_episode_counts(e.messages) for e in episodes]
    checks = [c[0] for c in counts]
    return Behaviour(
        episodes=len(counts),
        mean_checks=sum(checks) / len(checks) if checks else 0.0,
        single_check=checks.count(1),
        four_or_more_checks=sum(c >= 4 for c in checks),
        hit=sum(c[1] for c in counts),
        submitted=sum(c[2] for c in counts),
        error_replies=sum(c[3] for c in counts),
    )
