"""The token loop behind :class:`~hone.models.TransformersModel`.

One prefill over the left-padded batch, then one forward per step with the KV cache. Every row
keeps its own sampling settings (temperature, top-p, top-k, seed, max tokens, stop strings,
thinking budget), so requests with different options share one loop. Rows that finish are
dropped from the batch (and the cache) as they go, so stragglers do not pay for the others.

Logprobs are the log-softmax of the model's *raw* logits at the sampled token (before
temperature, filtering and any grammar mask), so one forward pass over prompt + sampled ids
reproduces them.

A row may carry a :class:`~hone.models._grammar.TokenConstraint` (a grammar matcher): before
each sampling step it fills a token bitmask and the row's disallowed tokens get ``-inf``; rows
without one are sampled from exactly the logits they would see alone.

A row may also start from kept KV states of its prompt's first tokens (a
:class:`~hone.models._prefix_cache.Reuse`); then only the rest of the prompt is encoded. The
cache (``_kv_cache``) writes each step's states into preallocated buffers and lays out rows
that reuse different lengths side by side.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import torch

from hone.models._grammar import TokenConstraint, apply_bitmask, bitmask_words
from hone.models._kv_cache import BufferLayer, prefill, row_state
from hone.models._prefix_cache import PrefixState, Reuse

__all__ = [
    "RowResult",
    "RowSpec",
    "SampledToken",
    "SpecialIds",
    "StepRow",
    "TokenCallback",
    "generate_rows",
    "sample_step",
]

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class SampledToken:
    """One sampled token with its raw logprob and, if asked for, the most likely tokens."""

    token: int
    logprob: float
    #: (token id, raw logprob) of the ``RowSpec.top_logprobs`` most likely tokens, best first.
    top: tuple[tuple[int, float], ...] = ()


#: Called with (row index, sampled token) after every sampled token.
TokenCallback = Callable[[int, SampledToken], None]


@dataclass(frozen=True, slots=True)
class SpecialIds:
    """Token ids the loop must know about."""

    pad: int
    end_of_turn: frozenset[int]
    think_open: int | None = None
    think_close: int | None = None


@dataclass(frozen=True, slots=True)
class RowSpec:
    """One conversation to continue, with its own sampling settings."""

    prompt_ids: tuple[int, ...]
    max_new_tokens: int
    temperature: float = 1.0
    top_p: float = 1.0
    top_k: int = 0  # 0: no top-k filter
    seed: int | None = None
    stop: tuple[str, ...] = ()
    thinking_budget: int | None = None
    #: The prompt ends inside an open reasoning block.
    starts_in_think: bool = False
    #: Also record this many most likely tokens at each step (0: none).
    top_logprobs: int = 0
    #: Which tokens may come next (a grammar); None: any. Stateful: one per generation.
    constraint: TokenConstraint | None = field(default=None, compare=False)


@dataclass(slots=True)
class RowResult:
    """What the loop sampled for one row."""

    token_ids: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    #: Per sampled token, the ``top_logprobs`` most likely (id, raw logprob); empty if none.
    top: list[tuple[tuple[int, float], ...]] = field(default_factory=list)
    finish_reason: Literal["stop", "length"] = "length"
    #: With ``keep_states``: the KV states of the prompt and every sampled token but the last
    #: (which was never fed back), for a prefix cache.
    state: PrefixState | None = None


@dataclass(slots=True)
class _RowState:
    spec: RowSpec
    result: RowResult
    generator: torch.Generator | None
    in_think: bool
    constraint: TokenConstraint | None = None
    think_tokens: int = 0
    done: bool = False

    def forced_token(self, ids: SpecialIds) -> int | None:
        budget = self.spec.thinking_budget
        if budget is not None and self.in_think and self.think_tokens >= budget:
            return ids.think_close
        return None

    def observe(self, token: int, ids: SpecialIds) -> None:
        if token == ids.think_open:
            self.in_think, self.think_tokens = True, 0
        elif token == ids.think_close:
            self.in_think = False
        elif self.in_think:
            self.think_tokens += 1


def generate_rows(
    model: Any,
    rows: Sequence[RowSpec],
    ids: SpecialIds,
    *,
    decode: Callable[[list[int]], str],
    on_token: TokenCallback | None = None,
    cancel: threading.Event | None = None,
    starts: Sequence[Reuse | None] = (),
    keep_states: bool = False,
    adapter_names: Sequence[str] | None = None,
) -> list[RowResult]:
    """Continue every row until it ends its turn, hits a stop string or its token limit.

    ``decode`` turns token ids into text (for stop strings). ``starts[i]`` (if given) holds
    kept KV states of row ``i``'s first prompt tokens; with ``keep_states`` every result carries
    its row's final KV states. ``adapter_names[i]`` (a peft model's adapter, or ``"__base__"``)
    is the adapter row ``i`` runs through: peft applies each row's own adapter in one forward
    pass. Call under ``torch.inference_mode()``.
    """
    device = _device_of(model)
    states = [_new_state(spec, ids, device) for spec in rows]
    live = [i for i, s in enumerate(states) if not _finish_if_empty(s)]
    if not live:
        return [s.result for s in states]
    cache, step_ids, mask = prefill(
        model,
        [rows[i].prompt_ids for i in live],
        [starts[i] if starts else None for i in live],
        pad=ids.pad,
        room=max(rows[i].max_new_tokens for i in live),
        device=device,
    )  # step_ids: (B, N), mask: (B, C + N)
    positions = (mask.cumsum(-1) - 1).clamp(min=0)[:, -step_ids.shape[1] :]  # (B, N)
    step_pos = positions
    ready_mask = _takes_ready_masks(model, cache)
    while True:
        extra: dict[str, Any] = {}
        if adapter_names is not None:
            extra["adapter_names"] = [adapter_names[i] for i in live]
        out = model(
            input_ids=step_ids,
            attention_mask=_attention_mask(mask, step_ids.shape[1], ready_mask),
            position_ids=step_pos,
            past_key_values=cache,
            use_cache=True,
            logits_to_keep=1,
            **extra,
        )
        logits = out.logits[:, -1, :].float()  # (B, V)
        step = [states[i] for i in live]
        tokens = _choose(_masked(logits, step), step, ids)  # (B,)
        logprobs = torch.log_softmax(logits, dim=-1)  # (B, V), raw: before any mask
        sampled = _sampled(logprobs, tokens, step)
        for j, token in enumerate(sampled):
            _record(states[live[j]], token, ids, decode)
            if on_token is not None:
                on_token(live[j], token)
        cancelled = cancel is not None and cancel.is_set()
        keep = [] if cancelled else [j for j, i in enumerate(live) if not states[i].done]
        if keep_states:
            _keep_states(cache, mask, [states[i] for i in live], keep)
        if not keep:
            break
        mask = torch.cat([mask, mask.new_ones(mask.shape[0], 1)], dim=-1)  # (B, L + t)
        step_ids, step_pos = tokens[:, None], positions[:, -1:] + 1  # (B, 1)
        positions = step_pos
        if len(keep) < len(live):
            index = torch.tensor(keep, device=device)
            cache.batch_select_indices(index)
            mask, step_ids, step_pos = mask[index], step_ids[index], step_pos[index]
            positions = step_pos
            live = [live[j] for j in keep]
    return [s.result for s in states]


@dataclass(slots=True)
class StepRow:
    """One row of a token loop that lives outside this module (``hone.threads``' runtime):
    its sampling settings, its own random generator (None: the global one) and the
    constraint on its next token (set to None here if the grammar allows nothing)."""

    spec: RowSpec
    generator: torch.Generator | None = None
    constraint: TokenConstraint | None = None


def sample_step(logits: torch.Tensor, rows: Sequence[StepRow]) -> list[SampledToken]:
    """One token per row, chosen by :func:`generate_rows`' rules (constraint mask, greedy or
    temperature/top-p/top-k sampling, seeded generators, raw logprobs). logits: (B, V).

    The caller feeds the chosen tokens to the constraints (``accept``) itself.
    """
    states = [
        _RowState(
            spec=r.spec,
            result=RowResult(),
            generator=r.generator,
            in_think=False,
            constraint=r.constraint,
        )
        for r in rows
    ]
    if logits.dtype != torch.float64:  # float64 models keep their precision (exactness tests)
        logits = logits.float()
    tokens = _choose(_masked(logits, states), states, _NO_IDS)  # (B,)
    for row, state in zip(rows, states, strict=True):
        row.constraint = state.constraint
    return _sampled(torch.log_softmax(logits, dim=-1), tokens, states)


# sample_step's rows never force a token (no thinking budget), so no special ids apply.
_NO_IDS = SpecialIds(pad=0, end_of_turn=frozenset())


def _keep_states(
    cache: Any, mask: torch.Tensor, batch: Sequence[_RowState], staying: Sequence[int]
) -> None:
    """Copy out the KV states of the rows of ``batch`` about to leave it (all but
    ``staying``): their prompt and every sampled token but the last, never fed back."""
    for j in sorted(set(range(len(batch))) - set(staying)):
        state = batch[j]
        held = (*state.spec.prompt_ids, *state.result.token_ids[:-1])
        state.result.state = row_state(cache, mask, j, held)


def _takes_ready_masks(model: Any, cache: Any) -> bool:
    """Whether one-token steps may get a ready (B, 1, 1, T) boolean mask: SDPA attention and
    only full-attention layers (a sliding-window layer needs its own mask)."""
    config = getattr(model, "config", None)
    layers = getattr(cache, "layers", None) or ()
    return getattr(config, "_attn_implementation", None) == "sdpa" and all(
        isinstance(layer, BufferLayer) for layer in layers
    )


def _attention_mask(mask: torch.Tensor, queries: int, ready: bool) -> torch.Tensor:
    """The mask to pass for a step with ``queries`` new tokens. mask: (B, T), 1 = attend.

    With one query per row, causality adds nothing to the padding mask, so a ready boolean
    (B, 1, 1, T) mask skips transformers' mask construction (a few percent of a decode step).
    """
    if ready and queries == 1:
        return mask.bool()[:, None, None, :]
    return mask


def _device_of(model: Any) -> torch.device:
    return next(model.parameters()).device  # type: ignore[no-any-return]


def _new_state(spec: RowSpec, ids: SpecialIds, device: torch.device) -> _RowState:
    generator = None
    if spec.seed is not None:
        generator = torch.Generator(device=device)
        generator.manual_seed(spec.seed)
    return _RowState(
        spec=spec,
        result=RowResult(),
        generator=generator,
        in_think=spec.starts_in_think,
        constraint=spec.constraint,
    )


def _finish_if_empty(state: _RowState) -> bool:
    if state.spec.max_new_tokens <= 0:
        state.done = True
    return state.done


def _masked(logits: torch.Tensor, states: Sequence[_RowState]) -> torch.Tensor:
    """The logits to sample from: constrained rows have disallowed tokens at -inf.

    logits: (B, V) raw; rows without a constraint are returned untouched.
    """
    rows = [j for j, s in enumerate(states) if s.constraint is not None]
    if not rows:
        return logits
    bitmask = torch.full((len(rows), bitmask_words(logits.shape[-1])), -1, dtype=torch.int32)
    for n, j in enumerate(rows):
        constraint = states[j].constraint
        if constraint is not None:
            constraint.fill_bitmask(bitmask[n])
    masked = logits.clone()
    masked[rows] = apply_bitmask(logits[rows], bitmask)
    for j in rows:
        if not bool(torch.isfinite(masked[j]).any()):
            # Nothing allowed (the grammar is in an error state): sample freely rather than
            # from an empty distribution; the reply check reports the misfit.
            logger.warning("the grammar allows no token; row %d continues unconstrained", j)
            masked[j], states[j].constraint = logits[j], None
    return masked


def _sampled(
    logprobs: torch.Tensor, tokens: torch.Tensor, states: Sequence[_RowState]
) -> list[SampledToken]:
    """Each row's token with its raw logprob (and top alternatives). logprobs: (B, V)."""
    chosen = logprobs.gather(-1, tokens[:, None])[:, 0].tolist()  # (B,)
    top_k = max(s.spec.top_logprobs for s in states)
    top_values: list[list[float]] = []
    top_ids: list[list[int]] = []
    if top_k > 0:
        values, indices = logprobs.topk(min(top_k, logprobs.shape[-1]), dim=-1)  # (B, k)
        top_values, top_ids = values.tolist(), indices.tolist()
    out = []
    for j, (token, logprob) in enumerate(zip(tokens.tolist(), chosen, strict=True)):
        k = states[j].spec.top_logprobs
        top = tuple(zip(top_ids[j][:k], top_values[j][:k], strict=True)) if k > 0 else ()
        out.append(SampledToken(token=token, logprob=logprob, top=top))
    return out


def _record(
    state: _RowState,
    sampled: SampledToken,
    ids: SpecialIds,
    decode: Callable[[list[int]], str],
) -> None:
    result, token = state.result, sampled.token
    result.token_ids.append(token)
    result.logprobs.append(sampled.logprob)
    if state.spec.top_logprobs > 0:
        result.top.append(sampled.top)
    if state.constraint is not None and not state.constraint.accept(token):
        state.constraint = None  # e.g. a forced token the grammar has no room for
    state.observe(token, ids)
    if token in ids.end_of_turn or _hit_stop(state, decode):
        state.done, result.finish_reason = True, "stop"
    elif len(result.token_ids) >= state.spec.max_new_tokens:
        state.done, result.finish_reason = True, "length"


def _hit_stop(state: _RowState, decode: Callable[[list[int]], str]) -> bool:
    stops = state.spec.stop
    if not stops:
        return False
    # A stop string just completed lies within the last few tokens; decoding only that
    # window keeps the check O(1) per step.
    window = 4 * max(len(s) for s in stops) + 4
    tail = decode(state.result.token_ids[-window:])
    return any(s in tail for s in stops)


def _choose(logits: torch.Tensor, states: Sequence[_RowState], ids: SpecialIds) -> torch.Tensor:
    """The next token of every row: forced, greedy or sampled. logits: (B, V) raw."""
    sampled_rows = [j for j, s in enumerate(states) if s.spec.temperature > 0]
    if len(sampled_rows) < len(states):
        chosen = logits.argmax(dim=-1)  # (B,)
    if sampled_rows:
        temps = torch.tensor([s.spec.temperature for s in states], device=logits.device)  # (B,)
        draws = _draw(_filtered_probs(logits, temps, states), states, sampled_rows)
        if len(sampled_rows) == len(states):
            chosen = draws
        else:
            chosen[sampled_rows] = draws
    for j, state in enumerate(states):
        forced = state.forced_token(ids)
        if forced is not None:
            chosen[j] = forced
    return chosen


def _filtered_probs(
    logits: torch.Tensor, temps: torch.Tensor, states: Sequence[_RowState]
) -> torch.Tensor:
    scaled = logits / temps.clamp(min=1e-5)[:, None]  # (B, V)
    top_k = [s.spec.top_k for s in states]
    top_p = [s.spec.top_p for s in states]
    if all(k <= 0 for k in top_k) and all(p >= 1.0 for p in top_p):
        return torch.softmax(scaled, dim=-1)
    sorted_logits, order = scaled.sort(dim=-1, descending=True)  # (B, V)
    vocab = logits.shape[-1]
    k = torch.tensor([k if k > 0 else vocab for k in top_k], device=logits.device)  # (B,)
    p = torch.tensor(top_p, device=logits.device)  # (B,)
    ranks = torch.arange(vocab, device=logits.device)[None, :]  # (1, V)
    sorted_probs = torch.softmax(sorted_logits, dim=-1)
    # Mass strictly before each token: the first token is always kept, and a token is kept
    # while the mass before it is below top_p.
    mass_before = sorted_probs.cumsum(dim=-1) - sorted_probs
    drop = (ranks >= k[:, None]) | (mass_before >= p[:, None])
    sorted_logits = sorted_logits.masked_fill(drop, float("-inf"))
    filtered = torch.full_like(scaled, float("-inf")).scatter(-1, order, sorted_logits)
    return torch.softmax(filtered, dim=-1)


def _draw(probs: torch.Tensor, states: Sequence[_RowState], rows: list[int]) -> torch.Tensor:
    """One sample per row in ``rows``, by an exponential race: the argmax of ``p / E`` with
    ``E ~ Exp(1)`` drawn per token picks token ``i`` with probability ``p_i``. probs: (B, V).

    Seeded rows fill their noise from their own generator, so what they draw does not depend
    on the other rows of the batch. Uniform noise made exponential in one batched ``log`` is
    several times cheaper than ``torch.multinomial`` per row. Unlike an inverse-CDF draw, the
    race is insensitive to float noise in ``p``: a ~1e-6 change (cached vs re-encoded prefix)
    changes the winner only if the two best ratios are that close, where a cumulative sum
    would shift every boundary after the changed entries.
    """
    picked = probs if len(rows) == probs.shape[0] else probs[rows]  # (R, V); rows ascend
    noise = torch.empty_like(picked)  # (R, V), uniform in [0, 1)
    unseeded = [n for n, j in enumerate(rows) if states[j].generator is None]
    if unseeded:
        noise[unseeded] = torch.rand(
            (len(unseeded), picked.shape[-1]), dtype=picked.dtype, device=picked.device
        )
    for n, j in enumerate(rows):
        generator = states[j].generator
        if generator is not None:
            noise[n].uniform_(generator=generator)
    # -log(u) ~ Exp(1); clamping u > 0 keeps E finite, so a token of positive probability
    # always beats one of probability zero.
    exponential = noise.clamp_min_(torch.finfo(noise.dtype).tiny).log_().neg_()  # (R, V)
    return (picked / exponential).argmax(dim=-1)  # (R,)
