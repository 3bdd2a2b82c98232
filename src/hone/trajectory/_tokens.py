"""The one check that a model call carries what RL trains on: exact token ids and logprobs.

RL never re-tokenises text: it trains on the prompt ids the policy saw, the ids it sampled
and the log-probability of each sampled id. Every place that needs them (recording a rollout,
building RL samples) asks :func:`token_ids_problem` and raises :func:`require_token_ids`'s
one error, so a backend without token ids is refused with the same message wherever it
is found.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol

from hone.errors import CapabilityError

__all__ = ["TokenRecord", "require_token_ids", "token_ids_problem"]

_FIX = (
    "RL needs the exact token ids and logprobs of every model call. Train from the live policy "
    "(leave rl.rollout_model unset), use a server that returns them (`hone serve`, vLLM with "
    "`return_token_ids`), or use SFT, which works from messages."
)


class TokenRecord(Protocol):
    """A model call's token data: a :class:`~hone.models.Completion` or a recorded
    :class:`~hone.trajectory.ModelCall` both fit."""

    @property
    def model(self) -> str:
        """The backend's model name."""
        ...

    @property
    def prompt_token_ids(self) -> Sequence[int] | None:
        """The exact prompt ids, or None."""
        ...

    @property
    def token_ids(self) -> Sequence[int] | None:
        """The sampled ids, or None."""
        ...

    @property
    def logprobs(self) -> Sequence[float] | None:
        """One log-probability per sampled id, or None."""
        ...


def token_ids_problem(record: TokenRecord) -> str | None:
    """What ``record`` lacks for RL (a short phrase), or None when it has everything."""
    missing = [
        name
        for name, value in (
            ("prompt token ids", record.prompt_token_ids),
            ("sampled token ids", record.token_ids),
            ("logprobs", record.logprobs),
        )
        if value is None
    ]
    if missing:
        return "no " + " and no ".join(missing)
    ids, logprobs = record.token_ids or (), record.logprobs or ()
    if len(logprobs) != len(ids):
        return f"{len(logprobs)} logprobs for {len(ids)} sampled tokens (one per token is needed)"
    return None


def require_token_ids(records: Iterable[TokenRecord], *, where: str = "") -> None:
    """Raise unless every record carries prompt ids, sampled ids and one logprob per id.

    Args:
        records: completions or recorded calls (``[completion]`` for one).
        where: names the place for the message (e.g. ``"episode ep_1 call 2"``).

    Raises:
        CapabilityError: the first record that lacks them; the message names the model,
            what is missing and how to get it.
    """
    for record in records:
        problem = token_ids_problem(record)
        if problem is not None:
            at = f" ({where})" if where else ""
            raise CapabilityError(f"model {record.model!r} gave {problem}{at}. {_FIX}")
