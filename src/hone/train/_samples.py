"""Training samples: exact token ids with a loss mask, and their collation into tensors.

A :class:`TrainingSample` is one token sequence as the model saw it. Lists are aligned with
``input_ids``: ``loss_mask[i]`` says whether token ``i`` was *sampled* by the policy (so it is
trained on), ``old_logprobs[i]`` is ``log π_old(input_ids[i] | input_ids[:i])``.

The shift for next-token prediction happens once, in :func:`collate`: the model reads
``input_ids[:-1]`` and position ``t`` of every (B, T) tensor describes token ``t + 1``. Keeping the
lists unshifted and aligned with tokens makes samples easy to build and check by hand.

This module is the one place where recorded episodes become samples (:func:`episode_samples`);
:mod:`hone.trajectory` records and stores episodes and knows nothing of training.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from hone.errors import PrefixPropertyError, TrainingConfigError
from hone.train._visibility import TokenVisibility, visibility_mask
from hone.trajectory import Episode, require_token_ids

__all__ = [
    "Batch",
    "MergedEpisode",
    "TrainingSample",
    "collate",
    "episode_samples",
    "samples_from_calls",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class TrainingSample:
    """One token sequence to train on.

    Attributes:
        input_ids: every token, prompt and completions. (L,)
        loss_mask: True only for tokens the policy sampled (assistant completions). (L,)
        old_logprobs: log-prob of each token under the sampling policy, 0 where masked; ``None``
            when not recorded (the trainer then treats the batch as on-policy). (L,)
        advantage: one advantage for the sequence, or one per token. (L,)
        group_id: the group (task) this sample's episode belongs to.
        weight: multiplies the advantage (e.g. ``1/n`` for an episode split into ``n`` samples).
        ref_logprobs: log-prob of each token under the reference policy, if precomputed. (L,)
        visibility: what each token sees and its position id, for an episode whose working
            memory was pruned while it was decoded (``hone.threads``); ``None`` (the usual
            case) is causal attention at positions ``0..L-1``.
    """

    input_ids: list[int]
    loss_mask: list[bool]
    old_logprobs: list[float] | None = None
    advantage: float | list[float] = 0.0
    group_id: int | str = 0
    weight: float = 1.0
    ref_logprobs: list[float] | None = None
    visibility: TokenVisibility | None = None

    def __post_init__(self) -> None:
        n = len(self.input_ids)
        if n < 2:
            raise TrainingConfigError(
                "a training sample needs at least two tokens (a prompt token and one to learn)."
            )
        aligned = {
            "loss_mask": self.loss_mask,
            "old_logprobs": self.old_logprobs,
            "advantage": self.advantage if isinstance(self.advantage, list) else None,
            "ref_logprobs": self.ref_logprobs,
            "visibility": self.visibility,
        }
        for name, values in aligned.items():
            if values is not None and len(values) != n:
                raise TrainingConfigError(
                    f"{name} has {len(values)} entries for {n} input_ids; align it with input_ids."
                )
        if self.loss_mask[0]:
            raise TrainingConfigError(
                "loss_mask[0] is True, but the first token has no context to be predicted from; "
                "mask the prompt (at least its first token)."
            )

    @property
    def num_loss_tokens(self) -> int:
        """How many tokens are trained on."""
        return sum(self.loss_mask)


@dataclass(frozen=True, slots=True)
class Batch:
    """Padded, shifted tensors for a list of samples. ``T = max(L) − 1``.

    ``inputs[:, t]`` is fed to the model, whose logits at ``t`` predict ``targets[:, t]``;
    ``mask``, ``old_logprobs``, ``ref_logprobs`` and per-token ``advantages`` describe the target.
    """

    inputs: torch.Tensor  # (B, T) long
    attention_mask: torch.Tensor  # (B, T) long
    targets: torch.Tensor  # (B, T) long
    mask: torch.Tensor  # (B, T) float
    advantages: torch.Tensor  # (B,) or (B, T) float
    old_logprobs: torch.Tensor | None  # (B, T), None when no sample has them
    has_old_logprobs: torch.Tensor  # (B,) bool
    ref_logprobs: torch.Tensor | None  # (B, T), None unless every sample has them
    #: Only when a sample has a :class:`TokenVisibility`: who sees whom among the inputs
    #: (bool; the model then reads this instead of ``attention_mask``) and their position ids.
    visibility: torch.Tensor | None = None  # (B, 1, T, T) bool
    position_ids: torch.Tensor | None = None  # (B, T) long


def _pad(
    rows: Sequence[Sequence[float]], length: int, value: float, dtype: torch.dtype
) -> torch.Tensor:
    """Right-pad rows to ``length``. (B, length)"""
    out = torch.full((len(rows), length), value, dtype=dtype)
    for i, row in enumerate(rows):
        out[i, : len(row)] = torch.tensor(list(row), dtype=dtype)
    return out


def collate(
    samples: Sequence[TrainingSample], *, pad_id: int = 0, dtype: torch.dtype = torch.float32
) -> Batch:
    """Pad ``samples`` on the right and shift them once for next-token prediction."""
    if not samples:
        raise TrainingConfigError("cannot collate an empty list of samples.")
    length = max(len(s.input_ids) for s in samples)
    ids = _pad([s.input_ids for s in samples], length, pad_id, torch.long)  # (B, L)
    present = _pad([[1] * len(s.input_ids) for s in samples], length, 0, torch.long)  # (B, L)
    mask = _pad([[float(m) for m in s.loss_mask] for s in samples], length, 0.0, dtype)  # (B, L)
    has_old = torch.tensor([s.old_logprobs is not None for s in samples])  # (B,)
    old = None
    if bool(has_old.any()):
        old = _pad([s.old_logprobs or [] for s in samples], length, 0.0, dtype)[:, 1:]
    ref = None
    if all(s.ref_logprobs is not None for s in samples):
        ref = _pad([s.ref_logprobs or [] for s in samples], length, 0.0, dtype)[:, 1:]
    visibility = positions = None
    if any(s.visibility is not None for s in samples):
        # The model reads inputs[:, :T], so the mask and positions of the first T tokens.
        full, positions = visibility_mask(
            [s.visibility for s in samples], [len(s.input_ids) for s in samples], length
        )
        visibility, positions = full[:, :, :-1, :-1], positions[:, :-1]
    return Batch(
        inputs=ids[:, :-1],
        attention_mask=present[:, :-1],
        targets=ids[:, 1:],
        mask=mask[:, 1:],
        advantages=_advantages(samples, length, dtype),
        old_logprobs=old,
        has_old_logprobs=has_old,
        ref_logprobs=ref,
        visibility=visibility,
        position_ids=positions,
    )


def _advantages(samples: Sequence[TrainingSample], length: int, dtype: torch.dtype) -> torch.Tensor:
    """Weighted advantages: (B,) when every sample has one, else per token, shifted. (B, T)"""
    rows: list[list[float]] = []
    for s in samples:
        if isinstance(s.advantage, list):
            rows.append([a * s.weight for a in s.advantage])
        else:
            rows.append([s.advantage * s.weight] * len(s.input_ids))
    if all(not isinstance(s.advantage, list) for s in samples):
        return torch.tensor([row[0] for row in rows], dtype=dtype)  # (B,)
    return _pad(rows, length, 0.0, dtype)[:, 1:]  # (B, T)


@dataclass(frozen=True, slots=True)
class MergedEpisode:
    """The samples built from one episode's model calls.

    ``broken_prefixes`` counts the calls whose prompt did not extend the previous call's prompt
    and completion; each break starts a new sample. ``call_to_sample[k]`` is the index of the
    sample that holds call ``k``'s completion.
    """

    samples: list[TrainingSample]
    broken_prefixes: int = 0
    call_to_sample: list[int] = field(default_factory=list)

    @property
    def merged(self) -> bool:
        """True when the whole episode became one sequence."""
        return len(self.samples) == 1


def _first_divergence(prompt: Sequence[int], history: Sequence[int]) -> int:
    """Index of the first token where ``prompt`` does not continue ``history``."""
    for i, (a, b) in enumerate(zip(prompt, history, strict=False)):
        if a != b:
            return i
    return min(len(prompt), len(history))


def _extends(prompt: Sequence[int], history: Sequence[int]) -> bool:
    return len(prompt) >= len(history) and list(prompt[: len(history)]) == list(history)


@dataclass(slots=True)
class _Segment:
    """A growing sample: token ids and aligned per-token lists."""

    ids: list[int] = field(default_factory=list)
    mask: list[bool] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    advantages: list[float] = field(default_factory=list)
    has_logprobs: bool = True

    def add_call(
        self,
        prompt: Sequence[int],
        completion: Sequence[int],
        logprobs: Sequence[float] | None,
        advantage: float,
    ) -> None:
        new_prompt = list(prompt[len(self.ids) :])
        self.ids += new_prompt + list(completion)
        self.mask += [False] * len(new_prompt) + [True] * len(completion)
        self.logprobs += [0.0] * len(new_prompt) + (
            list(logprobs) if logprobs is not None else [0.0] * len(completion)
        )
        self.advantages += [0.0] * len(new_prompt) + [advantage] * len(completion)
        self.has_logprobs = self.has_logprobs and logprobs is not None

    def to_sample(self, group_id: int | str, weight: float, per_token: bool) -> TrainingSample:
        masked_adv = [a for a, m in zip(self.advantages, self.mask, strict=True) if m]
        return TrainingSample(
            input_ids=self.ids,
            loss_mask=self.mask,
            old_logprobs=self.logprobs if self.has_logprobs else None,
            advantage=self.advantages if per_token else (masked_adv[0] if masked_adv else 0.0),
            group_id=group_id,
            weight=weight,
        )


def samples_from_calls(
    prompt_ids_per_call: Sequence[Sequence[int]],
    completion_ids_per_call: Sequence[Sequence[int]],
    logprobs_per_call: Sequence[Sequence[float] | None] | None,
    advantage: float | Sequence[float],
    *,
    group_id: int | str = 0,
    weight: float = 1.0,
    strict: bool = False,
) -> MergedEpisode:
    """Turn one episode's model calls into training samples, token in, token out.

    When every call's prompt starts with the previous call's prompt + completion (an append-only
    history), the episode becomes ONE sequence: the last prompt + completion, with the loss mask
    on every call's completion tokens. Where the prefix breaks (a template that rewrites earlier
    turns, a summarised history), a new sample starts at that call; with ``strict=True`` the break
    raises :class:`~hone.errors.PrefixPropertyError` instead. A non-append history therefore
    falls back to one sample per model call, each with the episode's advantage.

    Args:
        prompt_ids_per_call: the exact prompt token ids of each call.
        completion_ids_per_call: the sampled token ids of each call.
        logprobs_per_call: sampling log-probs per completion token, per call (or ``None``).
        advantage: the episode's advantage, or one per call (per-turn advantages).
        group_id, weight: copied to every sample.
        strict: raise on a broken prefix instead of splitting.
    """
    n = len(prompt_ids_per_call)
    if n == 0 or len(completion_ids_per_call) != n:
        raise TrainingConfigError(
            f"got {n} prompts and {len(completion_ids_per_call)} completions; pass one of each per call."
        )
    per_call_adv = (
        [float(advantage)] * n
        if isinstance(advantage, int | float)
        else [float(a) for a in advantage]
    )
    if len(per_call_adv) != n:
        raise TrainingConfigError(
            f"got {len(per_call_adv)} advantages for {n} calls; pass one per call or one float."
        )
    logprobs = list(logprobs_per_call) if logprobs_per_call is not None else [None] * n
    per_token = not isinstance(advantage, int | float)

    segments = [_Segment()]
    call_to_sample: list[int] = []
    breaks = 0
    for k in range(n):
        prompt, completion = prompt_ids_per_call[k], completion_ids_per_call[k]
        current = segments[-1]
        if current.ids and not _extends(prompt, current.ids):
            at = _first_divergence(prompt, current.ids)
            if strict:
                raise PrefixPropertyError(
                    f"call {k}'s prompt does not extend call {k - 1}'s prompt + completion (first "
                    f"difference at token {at}); the chat template rewrites earlier turns. Use a "
                    "template that keeps history append-only, or pass strict=False to split the episode."
                )
            breaks += 1
            logger.debug("prefix broken at call %d (token %d); starting a new sample", k, at)
            segments.append(_Segment())
            current = segments[-1]
        current.add_call(prompt, completion, logprobs[k], per_call_adv[k])
        call_to_sample.append(len(segments) - 1)
    samples = [segment.to_sample(group_id, weight, per_token) for segment in segments]
    return MergedEpisode(samples=samples, broken_prefixes=breaks, call_to_sample=call_to_sample)


def episode_samples(
    episode: Episode,
    advantage: float | Sequence[float],
    *,
    weight: float = 1.0,
    strict: bool = False,
) -> MergedEpisode:
    """Training samples for ``episode``'s recorded model calls, token in, token out (see
    :func:`samples_from_calls`): one sequence when its calls form an append-only history, else
    one per prefix break.

    Args:
        episode: a recorded episode whose calls carry token ids and logprobs.
        advantage: the episode's advantage, or one per call (per-turn advantages).
        weight: multiplies the advantage of every sample.
        strict: raise on a broken prefix instead of splitting.

    Raises:
        CapabilityError: a call has no token ids or logprobs (the backend gave none).
        PrefixPropertyError: ``strict`` and a call's prompt does not extend the history.
    """
    require_token_ids(episode.calls, where=f"episode {episode.id}")
    return samples_from_calls(
        [c.prompt_token_ids or [] for c in episode.calls],
        [c.token_ids or [] for c in episode.calls],
        [c.logprobs for c in episode.calls],
        advantage,
        group_id=episode.group_id or episode.task_id,
        weight=weight,
        strict=strict,
    )
