"""A reward given only to the episodes a condition accepts.

Some roles earn a reward only in some situations: a judge that picks among its solvers'
answers is only informative when the answers differ in correctness (picking among all-right or
all-wrong answers is a coin flip the judge cannot win or lose). :func:`only_when` leaves the
other episodes without a value: the trainer keeps them out of their group's baseline and out
of the update, and counts them as excluded, exactly as it does any unscored episode.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

from hone.errors import ConfigError
from hone.rewards._protocol import Reward, RewardResult
from hone.trajectory import Episode

__all__ = ["OnlyWhen", "only_when"]

logger = logging.getLogger(__name__)


class OnlyWhen:
    """``reward`` for the episodes ``when`` accepts; no value for the others (see
    :func:`only_when`)."""

    def __init__(self, reward: Reward, when: Callable[[Episode], bool], *, reason: str) -> None:
        if not isinstance(reward, Reward):
            raise ConfigError(f"only_when needs a Reward, got {type(reward).__name__}")
        if not callable(when):
            raise ConfigError(f"only_when needs a condition on an episode, got {when!r}")
        self.reward = reward
        self.when = when
        self.reason = reason

    async def score(self, episodes: Sequence[Episode]) -> list[RewardResult]:
        """Score the accepted episodes together (a group reward still sees its whole group of
        accepted ones); the others get ``value=None`` with the reason as their error."""
        results: list[RewardResult | None] = []
        accepted: list[Episode] = []
        for episode in episodes:
            try:
                ok = bool(self.when(episode))
            except Exception as exc:
                logger.warning("only_when condition raised on episode %s: %s", episode.id, exc)
                results.append(RewardResult.failed(f"the condition raised {exc!r}"))
                continue
            results.append(None if ok else RewardResult.failed(f"not rewarded: {self.reason}"))
            if ok:
                accepted.append(episode)
        inner = list(await self.reward.score(accepted)) if accepted else []
        if len(inner) != len(accepted):
            raise ConfigError(
                f"{type(self.reward).__name__} returned {len(inner)} results for "
                f"{len(accepted)} episodes"
            )
        scored = iter(inner)
        return [r if r is not None else next(scored) for r in results]


def only_when(
    reward: Reward, when: Callable[[Episode], bool], *, reason: str | None = None
) -> OnlyWhen:
    """``reward``, given only to episodes for which ``when(episode)`` is true.

    The others get no value (``RewardResult.failed("not rewarded: <reason>")``): left out of
    the baseline and the update, counted as excluded, never scored as 0. A condition that
    raises leaves that episode unscored with the error.

    ::

        judge_reward = only_when(
            picked_correct, lambda e: mixed(e.output["candidates"]),
            reason="its candidates agree in correctness",
        )
    """
    name = getattr(when, "__name__", "the condition")
    return OnlyWhen(reward, when, reason=reason or f"{name} is false")
