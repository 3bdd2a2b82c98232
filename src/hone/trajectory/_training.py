"""From episodes to what the trainer consumes: per-call token ids and logprobs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from hone.errors import CapabilityError
from hone.trajectory._schema import Episode

if TYPE_CHECKING:
    from hone.train import MergedEpisode

__all__ = ["CallTokens", "episode_samples", "episode_to_calls"]

_NO_TOKENS = (
    "RL needs token ids and logprobs: use a local model or a server that returns them "
    "(vLLM `return_token_ids`); SFT works from messages"
)


@dataclass(frozen=True, slots=True)
class CallTokens:
    """One model call, token in, token out.

    Attributes:
        prompt_ids: the exact prompt token ids.
        completion_ids: the sampled token ids. (C,)
        logprobs: the sampling log-prob of each sampled token. (C,)
    """

    prompt_ids: list[int]
    completion_ids: list[int]
    logprobs: list[float]


def episode_to_calls(episode: Episode) -> list[CallTokens]:
    """The token ids and logprobs of every model call of ``episode``, in order.

    Raises:
        CapabilityError: a call has no token ids or logprobs (the backend did not return
            them), or its logprobs do not match its tokens.
    """
    out: list[CallTokens] = []
    for call in episode.calls:
        if call.prompt_token_ids is None or call.token_ids is None or call.logprobs is None:
            raise CapabilityError(
                f"episode {episode.id} call {call.index} (model {call.model!r}) has no token "
                f"ids or logprobs. {_NO_TOKENS}"
            )
        if len(call.logprobs) != len(call.token_ids):
            raise CapabilityError(
                f"episode {episode.id} call {call.index} has {len(call.logprobs)} logprobs for "
                f"{len(call.token_ids)} sampled tokens; the backend must return one per token"
            )
        out.append(
            CallTokens(list(call.prompt_token_ids), list(call.token_ids), list(call.logprobs))
        )
    return out


def episode_samples(
    episode: Episode,
    advantage: float | Sequence[float],
    *,
    weight: float = 1.0,
    strict: bool = False,
) -> MergedEpisode:
    """Training samples for ``episode`` (see :func:`hone.train.samples_from_calls`): one
    sequence when its calls form an append-only history, else one per prefix break.

    ``advantage`` is the episode's advantage, or one per call (per-turn advantages).
    Needs ``torch`` (``pip install 'hone[train]'``).

    Raises:
        CapabilityError: a call has no token ids or logprobs.
    """
    from hone.train import samples_from_calls

    calls = episode_to_calls(episode)
    return samples_from_calls(
        [c.prompt_ids for c in calls],
        [c.completion_ids for c in calls],
        [c.logprobs for c in calls],
        advantage,
        group_id=episode.group_id or episode.task_id,
        weight=weight,
        strict=strict,
    )
